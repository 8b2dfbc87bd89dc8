"""The `platform` package stands in for the standard library module everywhere our code runs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

from platform.redis import get_redis
from platform.selfcheck import platform_selfcheck
from tests.support.processes import ROOT, celery_worker, process_env, wait_for

platform: Any = importlib.import_module("platform")


def _assert_selfcheck(result: dict[str, str]) -> None:
    assert result["platform_module"].endswith("platform/__init__.py")
    assert result["system"] == platform.system() != ""
    assert uuid.UUID(result["uuid"]).version == 4
    assert result["boto3_region"] == "ap-east-1"
    assert result["stripe_client"] == "StripeClient"
    assert uuid.UUID(result["stripe_idempotency_key"])


def test_in_pytest_the_stdlib_api_is_available_through_our_package() -> None:
    assert platform.__file__.endswith("platform/__init__.py")
    assert platform.python_implementation() == "CPython"
    assert platform.machine() and platform.release() and platform.uname().system == platform.system()
    _assert_selfcheck(platform_selfcheck())


def test_from_manage_py() -> None:
    completed = subprocess.run(
        [sys.executable, "manage.py", "platform_selfcheck"],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    _assert_selfcheck(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_from_a_celery_worker(committed_db) -> None:  # type: ignore[no-untyped-def]
    from platform.tasks import platform_selfcheck_task

    reply_key = f"selfcheck:{uuid.uuid4()}"
    with celery_worker(queues="default"):
        platform_selfcheck_task.delay(reply_key=reply_key)
        raw = wait_for(lambda: get_redis().get(reply_key), timeout=60)
    result = json.loads(raw)  # type: ignore[arg-type]
    _assert_selfcheck(result)
    assert result["schema_name"] == "public"
