"""Helpers for SMS tests: a bank whose provider is the scripted in-memory fake."""

from __future__ import annotations

import uuid
from typing import Any

from messaging.backends import test as fake
from messaging.models import SmsProviderAccount
from messaging.services import provider_account_save


def use_fake_provider(**options: Any) -> tuple[SmsProviderAccount, str]:
    """Make the fake the current bank's provider; returns the account and the fake's name."""
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    credentials = {"namespace": namespace, "receipt_secret": "receipt-secret-123", **options.pop("credentials", {})}
    account = provider_account_save(
        backend="test",
        name="fake",
        credentials=credentials,
        quiet_start_hour=options.pop("quiet_start_hour", 0),
        quiet_end_hour=options.pop("quiet_end_hour", 0),
        **options,
    )
    account_key = f"test:{namespace}"
    fake.reset(account_key)
    return account, account_key
