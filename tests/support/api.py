"""A bank system's view of the API: create a key in a bank, then send signed requests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django_tenants.utils import schema_context

from accounts.api_auth import signed_headers
from accounts.services import api_key_create
from tests.conftest import BankUnderTest


@dataclass
class BankSystem:
    test_bank: BankUnderTest
    key_id: str
    secret: str

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        host: str | None = None,
        headers: dict[str, str] | None = None,
        **sign_options: Any,
    ) -> Any:
        body = json.dumps(payload).encode() if payload is not None else b""
        signed = signed_headers(
            key_id=self.key_id, secret=self.secret, method=method, path=path, body=body, **sign_options
        )
        client = Client(HTTP_HOST=host or self.test_bank.host)
        all_headers = {**signed, **(headers or {})}
        return client.generic(method, path, body, content_type="application/json", headers=all_headers)


def bank_system(test_bank: BankUnderTest, *, scopes: list[str] | None = None) -> BankSystem:
    with schema_context(test_bank.schema):
        key, secret = api_key_create(
            name="core banking",
            scopes=scopes or ["ping", "grants:write", "grants:read"],
            actor=None,
            bank_slug=test_bank.bank.slug,
        )
    return BankSystem(test_bank=test_bank, key_id=key.key_id, secret=secret)
