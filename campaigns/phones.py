"""Mainland mobile numbers as campaigns take them: validated, normalised, sealed and digested."""

from __future__ import annotations

from platform.crypto import decrypt, digest_bytes, encrypt, mask_phone
from platform.errors import ApplicationError
from platform.tenancy import current_schema
from rights_catalog.accounts import account_validate
from rights_catalog.models import AccountFormat


def phone_normalize(raw: str) -> str | None:
    """`+86 138-1234-5678` → `13812345678`; None when it is not a mainland mobile number (the
    catalogue's mobile-account rule, the one rule for mainland numbers)."""
    try:
        return account_validate(account_format=AccountFormat.MOBILE, value=raw)
    except ApplicationError:
        return None


def phone_digest(phone: str) -> bytes:
    return digest_bytes(phone, purpose="phone")


def phone_seal(phone: str) -> str:
    return encrypt(phone, context=f"phone:{current_schema()}")


def phone_mask(phone: str) -> str:
    return mask_phone(phone)


def phone_unseal(sealed: str) -> str:
    return decrypt(sealed, context=f"phone:{current_schema()}")
