"""Bank systems reach the API only with a valid key and a fresh, correct, unreplayed signature."""

from __future__ import annotations

import time

from django_tenants.utils import schema_context

from accounts.models import ApiKey, AuditEntry
from accounts.services import api_key_revoke
from tests.conftest import BankUnderTest
from tests.support.api import bank_system


def _code(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


def test_a_signed_ping_answers(bank_a: BankUnderTest) -> None:
    system = bank_system(bank_a)
    response = system.request("GET", "/api/v1/ping")
    assert response.status_code == 200, response.content
    assert response.json()["bank"] == "alpha"
    with schema_context(bank_a.schema):
        assert ApiKey.objects.get(key_id=system.key_id).last_used_at is not None
        assert AuditEntry.objects.filter(action="api_key.create", target_id__isnull=False).exists()


def test_the_secret_is_not_stored(bank_a: BankUnderTest) -> None:
    system = bank_system(bank_a)
    with schema_context(bank_a.schema):
        row = ApiKey.objects.filter(key_id=system.key_id).values().get()
    assert system.secret not in str(row)


def test_each_failure_has_its_own_code(bank_a: BankUnderTest) -> None:
    system = bank_system(bank_a)
    client_missing = system.request("GET", "/api/v1/ping", headers={"X-Quanyi-Signature": ""})
    assert (client_missing.status_code, _code(client_missing)) == (401, "auth.missing_headers")

    forged = system.request("GET", "/api/v1/ping", headers={"X-Quanyi-Signature": "0" * 64})
    assert _code(forged) == "auth.bad_signature"

    stale = system.request("GET", "/api/v1/ping", timestamp=int(time.time()) - 3600)
    assert _code(stale) == "auth.stale_timestamp"

    first = system.request("GET", "/api/v1/ping", nonce="n" * 20)
    replay = system.request("GET", "/api/v1/ping", nonce="n" * 20)
    assert first.status_code == 200 and _code(replay) == "auth.replayed_nonce"

    unknown = system.request("GET", "/api/v1/ping", headers={"X-Quanyi-Key": "qk_alpha_0000000000000000"})
    assert _code(unknown) == "auth.unknown_key"


def test_a_body_changed_in_transit_fails_the_signature(bank_a: BankUnderTest) -> None:
    from django.test import Client

    from accounts.api_auth import signed_headers

    system = bank_system(bank_a)
    headers = signed_headers(
        key_id=system.key_id, secret=system.secret, method="POST", path="/api/v1/ping", body=b'{"amount": 100}'
    )
    response = Client(HTTP_HOST=bank_a.host).post(
        "/api/v1/ping", b'{"amount": 900}', content_type="application/json", headers=headers
    )
    assert _code(response) == "auth.bad_signature"


def test_scopes_and_revocation(bank_a: BankUnderTest) -> None:
    narrow = bank_system(bank_a, scopes=["grants:read"])
    assert _code(narrow.request("GET", "/api/v1/ping")) == "auth.scope_denied"
    system = bank_system(bank_a)
    with schema_context(bank_a.schema):
        api_key_revoke(key=ApiKey.objects.get(key_id=system.key_id), actor=None)
    assert _code(system.request("GET", "/api/v1/ping")) == "auth.key_revoked"
