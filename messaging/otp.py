"""One-time codes by SMS: six digits, valid five minutes, single use, a few wrong tries at most.
Only a keyed digest of the code is kept, in Redis, under the bank's schema."""

from __future__ import annotations

import secrets

from django.utils.translation import gettext as _

from messaging.models import SmsKind
from messaging.services import phone_normalize, sms_enqueue
from platform import ratelimit
from platform.crypto import digest
from platform.errors import ApplicationError
from platform.redis import get_redis
from platform.tenancy import current_schema

OTP_TTL_S = 300
OTP_MAX_WRONG = 5
ISSUE_PER_MINUTE = ratelimit.Limit("otp-issue-min", max_count=1, window_s=60)
ISSUE_PER_DAY = ratelimit.Limit("otp-issue-day", max_count=10, window_s=86400)

# compare-and-delete: a code can be used once, even by two requests at the same instant
_CONSUME = """
local stored = redis.call('GET', KEYS[1])
if not stored then return -1 end
if stored == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) return 1 end
local wrong = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
if wrong >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 0
"""


def _keys(phone_digest: str, purpose: str) -> tuple[str, str]:
    base = f"otp:{current_schema()}:{purpose}:{phone_digest}"
    return base, base + ":wrong"


def _code_digest(code: str, phone_digest: str, purpose: str) -> str:
    return digest(f"{current_schema()}:{purpose}:{phone_digest}:{code}", purpose="otp")


def otp_issue(*, phone: str, purpose: str) -> None:
    """Text a new code to `phone` (replacing any earlier one); at most 1 a minute and 10 a day."""
    phone = phone_normalize(phone)
    phone_digest = digest(phone, purpose="phone")
    subject = f"{phone_digest}"
    if ratelimit.is_blocked(ISSUE_PER_MINUTE, subject) or ratelimit.is_blocked(ISSUE_PER_DAY, subject):
        raise ApplicationError("sms.rate_limited", _("验证码发送过于频繁，请稍后再试"), status=429)
    if not ratelimit.hit(ISSUE_PER_MINUTE, subject) or not ratelimit.hit(ISSUE_PER_DAY, subject):
        raise ApplicationError("sms.rate_limited", _("验证码发送过于频繁，请稍后再试"), status=429)
    code = f"{secrets.randbelow(10**6):06d}"
    code_key, wrong_key = _keys(phone_digest, purpose)
    pipe = get_redis().pipeline()
    pipe.set(code_key, _code_digest(code, phone_digest, purpose), ex=OTP_TTL_S)
    pipe.delete(wrong_key)
    pipe.execute()
    sms_enqueue(
        kind=SmsKind.OTP,
        phone=phone,
        template_key="otp",
        params={"code": code, "expiry": str(OTP_TTL_S // 60)},
    )


def otp_verify(*, phone: str, purpose: str, code: str) -> bool:
    """True once for the right code within five minutes; False for anything else."""
    try:
        phone = phone_normalize(phone)
    except ApplicationError:
        return False
    code = "".join(ch for ch in code if ch.isdigit())
    phone_digest = digest(phone, purpose="phone")
    code_key, wrong_key = _keys(phone_digest, purpose)
    given = _code_digest(code, phone_digest, purpose)
    # the stored value and `given` are keyed digests: comparing them leaks nothing about the code
    result = get_redis().eval(_CONSUME, 2, code_key, wrong_key, given, OTP_MAX_WRONG, OTP_TTL_S)
    return int(result) == 1
