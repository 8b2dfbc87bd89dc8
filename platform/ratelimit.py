"""Fixed-window counters in Redis, shared by every process: the one rate-limit helper."""

from __future__ import annotations

from dataclasses import dataclass

from platform.redis import get_redis
from platform.tenancy import current_schema


@dataclass(frozen=True)
class Limit:
    name: str
    max_count: int
    window_s: int


def _key(limit: Limit, subject: str) -> str:
    # the bank's schema is part of every key: limits never leak across banks
    return f"rl:{current_schema()}:{limit.name}:{subject}"


def hit(limit: Limit, subject: str, *, amount: int = 1) -> bool:
    """Count one event; False when the subject is over its limit for the current window."""
    key = _key(limit, subject)
    pipe = get_redis().pipeline()
    pipe.incrby(key, amount)
    pipe.expire(key, limit.window_s, nx=True)
    count, _ = pipe.execute()
    return int(count) <= limit.max_count


def is_blocked(limit: Limit, subject: str) -> bool:
    value = get_redis().get(_key(limit, subject))
    return value is not None and int(value) >= limit.max_count


def reset(limit: Limit, subject: str) -> None:
    get_redis().delete(_key(limit, subject))
