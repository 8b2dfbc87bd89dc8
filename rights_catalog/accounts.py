"""The account a right is delivered to: one validator per `AccountFormat`, returning the normalised
value the supplier expects, or `ApplicationError("account.invalid", …)` with a message for the
cardholder."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from platform.errors import ApplicationError
from rights_catalog.models import AccountFormat

# mainland mobile numbers: 11 digits starting 13-19 (carrier prefixes change; the second digit is enough)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_QQ = re.compile(r"^[1-9]\d{4,11}$")
# platform account ids (e-mail, username or numeric id on the rights platform)
_PLATFORM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+\-]{3,63}$")
_SEPARATORS = re.compile(r"[\s\-()（）]")


def account_validate(*, account_format: str, value: str) -> str:
    """Normalise and check `value` for `account_format`; `none` always answers an empty string."""
    raw = (value or "").strip()
    if account_format == AccountFormat.NONE:
        return ""
    if account_format == AccountFormat.MOBILE:
        digits = _SEPARATORS.sub("", raw)
        for prefix in ("+86", "0086"):
            if digits.startswith(prefix):
                digits = digits[len(prefix) :]
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        if not _MOBILE.match(digits):
            raise ApplicationError("account.invalid", _("请输入正确的11位中国大陆手机号"))
        return digits
    if account_format == AccountFormat.QQ:
        digits = _SEPARATORS.sub("", raw)
        if not _QQ.match(digits):
            raise ApplicationError("account.invalid", _("请输入正确的QQ号（5到12位数字）"))
        return digits
    if account_format == AccountFormat.PLATFORM_ID:
        if not _PLATFORM_ID.match(raw):
            raise ApplicationError("account.invalid", _("请输入正确的平台账号（4到64位字母、数字或 _ . @ + -）"))
        return raw
    raise ApplicationError("account.invalid", _("不支持的账号类型"))
