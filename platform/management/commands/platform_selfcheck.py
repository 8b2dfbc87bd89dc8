import json
from typing import Any

from django.core.management.base import BaseCommand

from platform.selfcheck import platform_selfcheck


class Command(BaseCommand):
    help = "Print, as JSON, platform.system(), a uuid4, a boto3 client and a stripe request object."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(platform_selfcheck()))
