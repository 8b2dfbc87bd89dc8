"""A real HTTP server (gunicorn, as in production) on the test database, for browsers and load."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.processes import ROOT, process_env, process_stop, wait_for


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def live_server(
    *, port: int, workers: int = 2, threads: int = 4, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "platform.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=process_env(**(extra_env or {})))
    try:
        wait_for(lambda: process.poll() is not None or _answers(port), timeout=60)
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process_stop(process, timeout=20)
