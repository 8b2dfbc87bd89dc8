"""Run the local fake Stripe HTTP server (billing.fake_stripe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from billing.fake_stripe import serve


class Command(BaseCommand):
    help = "Run the local fake Stripe API server for development and tests."
    # the fake needs no database, URLs or models: start even while the project is half-configured
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=12111)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--state-file", default="", help="keep the fake's objects in this JSON file")
        parser.add_argument("--verbose", action="store_true", help="log every request")

    def handle(self, *args: Any, **options: Any) -> None:
        state_file = Path(options["state_file"]) if options["state_file"] else None
        self.stdout.write(f"fake Stripe listening on http://{options['host']}:{options['port']}", ending="\n")
        self.stdout.flush()
        serve(host=options["host"], port=options["port"], state_file=state_file, verbose=options["verbose"])
