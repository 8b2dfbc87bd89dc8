"""Platform-level tasks: the self-check and the per-bank heartbeat."""

from __future__ import annotations

import json

from celery import shared_task

from platform.redis import get_redis
from platform.selfcheck import platform_selfcheck
from platform.tenancy import current_schema


@shared_task(name="platform.selfcheck")
def platform_selfcheck_task(*, reply_key: str) -> None:
    """Run the self-check in a worker and leave the answer, with the schema the task ran in, in Redis."""
    result = platform_selfcheck() | {"schema_name": current_schema()}
    get_redis().set(reply_key, json.dumps(result), ex=300)
