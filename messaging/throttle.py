"""The global sending rate of one provider account: a token bucket in Redis shared by every worker
of every bank using that account. Tokens are reserved in advance (the balance may go negative),
so concurrent workers queue up fairly and each sleeps only for its own share."""

from __future__ import annotations

import time

from platform.redis import get_redis

# KEYS[1] bucket; ARGV: rate per second, capacity, tokens wanted, now in ms → ms to wait
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000.0)
tokens = tokens - wanted
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
if tokens >= 0 then return 0 end
return math.ceil(-tokens * 1000.0 / rate)
"""


def bucket_reserve(*, account_key: str, rate_per_s: int, tokens: int) -> float:
    """Reserve `tokens` sends; returns the seconds to wait before using them (0 with no cap)."""
    if rate_per_s <= 0 or tokens <= 0:
        return 0.0
    wait_ms = get_redis().eval(
        _TAKE, 1, f"smsrate:{account_key}", rate_per_s, rate_per_s, tokens, int(time.time() * 1000)
    )
    return int(wait_ms) / 1000.0


def bucket_take(*, account_key: str, rate_per_s: int, tokens: int) -> None:
    wait_s = bucket_reserve(account_key=account_key, rate_per_s=rate_per_s, tokens=tokens)
    if wait_s > 0:
        time.sleep(wait_s)
