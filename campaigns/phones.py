"""Mainland mobile numbers as campaigns take them: validated, normalised, sealed and digested."""

from __future__ import annotations

import re

from platform.crypto import digest_bytes, encrypt, mask_phone
from platform.tenancy import current_schema

MOBILE = re.compile(r"^1[3-9]\d{9}$")


def phone_normalize(raw: str) -> str | None:
    """`+86 138-1234-5678` → `13812345678`; None when it is not a mainland mobile number."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if MOBILE.match(digits) else None


def phone_digest(phone: str) -> bytes:
    return digest_bytes(phone, purpose="phone")


def phone_seal(phone: str) -> str:
    return encrypt(phone, context=f"phone:{current_schema()}")


def phone_mask(phone: str) -> str:
    return mask_phone(phone)


def phone_unseal(sealed: str) -> str:
    from platform.crypto import decrypt

    return decrypt(sealed, context=f"phone:{current_schema()}")
