"""Shared set-up for benchmarks: a database of their own, Django configured, a production-configured
server, peak-memory reading."""

from __future__ import annotations

import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: str) -> None:
    """Point Django at a fresh benchmark database on the server of DATABASE_URL (or the embedded one)."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    import dj_database_url
    import psycopg

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")
    os.environ.setdefault("QUANYI_ENV", "test")
    if "DATABASE_URL" not in os.environ:
        from platform import embedded

        embedded.database_url()
    params = dj_database_url.parse(os.environ["DATABASE_URL"])
    admin = psycopg.connect(
        dbname="postgres",
        user=params["USER"] or "postgres",
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{database}"')
    admin.close()
    params["NAME"] = database
    host = params["HOST"] or ""
    auth = params["USER"] or "postgres"
    if host.startswith("/"):
        os.environ["DATABASE_URL"] = f"postgresql://{auth}@/{database}?host={host}"
    else:
        os.environ["DATABASE_URL"] = f"postgresql://{auth}@{host or '127.0.0.1'}:{params['PORT'] or 5432}/{database}"
    import django

    django.setup()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(figures: dict[str, object]) -> None:
    """The last line of every benchmark: one JSON object."""
    sys.stdout.flush()
    print(json.dumps(figures))


def production_server(*, port: int, workers: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """gunicorn serving the platform with production settings (banks on `*.quanyi.localhost`) on
    127.0.0.1:`port`, the benchmark's database and keys; returns once `/healthz` answers."""
    from django.conf import settings

    env = dict(
        os.environ,
        QUANYI_ENV="production",
        SECRET_KEY="bench-" + "x" * 50,
        DEBUG="0",
        PII_ENCRYPTION_KEYS=",".join(settings.PII_ENCRYPTION_KEYS),
        PII_DIGEST_KEY=settings.PII_DIGEST_KEY,
        API_KEY_PEPPER="bench",
        PLATFORM_HOST="quanyi.localhost",
        ALLOWED_HOSTS=".quanyi.localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        **(extra_env or {}),
    )
    command = [sys.executable, "-m", "gunicorn", "platform.wsgi", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, "--workers", str(workers), "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"Host": "quanyi.localhost"})
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start")
