"""Real processes for tests: a Celery worker on the test database, and helpers to wait for them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The URL of the database this test session uses (pytest-django's `test_…` copy)."""
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{s['NAME']}?host={host}"
    return f"postgresql://{user}{password}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {"DATABASE_URL": test_database_url(), "DJANGO_SETTINGS_MODULE": "platform.settings", "PYTHONPATH": str(ROOT)}
    )
    env.update(extra)
    return env


@contextmanager
def celery_worker(
    *, queues: str = "default", concurrency: int = 1, pool: str = "solo", extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "platform.celery",
        "worker",
        "-Q",
        queues,
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname=test-{os.getpid()}-{time.time_ns()}@%h",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=process_env(**(extra_env or {})))
    try:
        yield process
    finally:
        process_stop(process, timeout=20)


def process_stop(process: subprocess.Popen[bytes], *, timeout: float = 10) -> None:
    """Ask a process started by a test to stop; kill it if it does not within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(predicate: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s")
