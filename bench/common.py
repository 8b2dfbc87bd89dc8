"""Shared set-up for benchmarks: a database of their own, Django configured, peak-memory reading."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
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
