"""Progress of background jobs, kept in Redis so it can be read while the job's transaction is open."""

from __future__ import annotations

import json
from typing import Any

from platform.redis import get_redis
from platform.tenancy import current_schema


def _key(kind: str, job_id: int) -> str:
    return f"progress:{current_schema()}:{kind}:{job_id}"


def progress_set(kind: str, job_id: int, *, done: int, total: int, phase: str = "") -> None:
    get_redis().set(_key(kind, job_id), json.dumps({"done": done, "total": total, "phase": phase}), ex=86400)


def progress_get(kind: str, job_id: int) -> dict[str, Any] | None:
    raw = get_redis().get(_key(kind, job_id))
    return json.loads(raw) if raw else None  # type: ignore[arg-type]
