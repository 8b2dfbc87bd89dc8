"""Stripe webhooks on the platform host: only genuine, fresh events count, each once."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone

from billing import services
from billing.models import BillingStatus, StripeEvent
from billing.selectors import credit_available
from billing.stripe_signing import webhook_event, webhook_signature
from tests.billing.conftest import make_account, make_plan
from tests.conftest import BankUnderTest

URL = "/billing/stripe/webhook/"


def _post(client: Client, payload: bytes, signature: str) -> Any:
    return client.post(URL, payload, content_type="application/json", headers={"Stripe-Signature": signature})


def _signed(payload: bytes, **kwargs: Any) -> str:
    return webhook_signature(payload=payload, secret=settings.STRIPE_WEBHOOK_SECRET, **kwargs)


def _invoice(customer: str, event_type: str, *, created: int | None = None, event_id: str | None = None) -> bytes:
    invoice = {"id": "in_h8", "object": "invoice", "customer": customer, "period_end": int(time.time()) - 10}
    return webhook_event(type=event_type, data_object=invoice, created=created, event_id=event_id)


def test_payment_failed_then_paid_moves_the_billing_status(bank_a: BankUnderTest, platform_client: Client) -> None:
    account = make_account(bank_a.bank, make_plan())
    failed = _invoice(account.stripe_customer_id, "invoice.payment_failed", created=int(time.time()) - 60)
    response = _post(platform_client, failed, _signed(failed))
    assert response.status_code == 200 and response.json()["outcome"] == "status active→past_due"
    account.refresh_from_db()
    assert account.status == BillingStatus.PAST_DUE and account.past_due_since is not None

    paid = _invoice(account.stripe_customer_id, "invoice.paid")
    assert _post(platform_client, paid, _signed(paid)).status_code == 200
    account.refresh_from_db()
    assert account.status == BillingStatus.ACTIVE and account.past_due_since is None
    # an older event arriving late changes nothing
    late = _invoice(account.stripe_customer_id, "invoice.payment_failed", created=int(time.time()) - 3600)
    assert _post(platform_client, late, _signed(late)).json()["outcome"] == "stale"
    account.refresh_from_db()
    assert account.status == BillingStatus.ACTIVE
    assert [event.data["to"] for event in account.events.filter(kind="status_changed")] == ["past_due", "active"]


def test_forged_tampered_stale_and_future_webhooks_are_rejected(bank_a: BankUnderTest, platform_client: Client) -> None:
    account = make_account(bank_a.bank, make_plan())
    payload = _invoice(account.stripe_customer_id, "invoice.payment_failed")
    forged = webhook_signature(payload=payload, secret="whsec_not_ours")
    tampered = payload.replace(b"invoice.payment_failed", b"invoice.paid")
    stale = _signed(payload, timestamp=int(time.time()) - settings.BILLING_WEBHOOK_TOLERANCE_S - 5)
    future = _signed(payload, timestamp=int(time.time()) + settings.BILLING_WEBHOOK_TOLERANCE_S + 60)
    for body, signature in [
        (payload, forged),
        (tampered, _signed(payload)),
        (payload, stale),
        (payload, future),
        (payload, ""),
        (b"not json", _signed(b"not json")),
    ]:
        response = _post(platform_client, body, signature)
        assert response.status_code == 400, (signature, response.content)
        assert response.json()["error"]["code"] == "billing.webhook_invalid"
    account.refresh_from_db()
    assert account.status == BillingStatus.ACTIVE and not StripeEvent.objects.exists()


def test_a_replayed_or_duplicate_event_changes_nothing(bank_a: BankUnderTest, platform_client: Client) -> None:
    account = make_account(bank_a.bank, make_plan())
    payload = _invoice(account.stripe_customer_id, "invoice.payment_failed", event_id="evt_h8_once")
    signature = _signed(payload)
    assert _post(platform_client, payload, signature).json()["outcome"].startswith("status")
    account.refresh_from_db()
    first_since = account.past_due_since
    events_before = account.events.count()
    # the same delivery replayed, and Stripe's own retry of the same event with a fresh signature
    assert _post(platform_client, payload, signature).json()["outcome"] == "duplicate"
    assert _post(platform_client, payload, _signed(payload)).json()["outcome"] == "duplicate"
    account.refresh_from_db()
    assert account.past_due_since == first_since and account.events.count() == events_before
    assert StripeEvent.objects.filter(event_id="evt_h8_once").count() == 1


def test_unknown_events_are_acknowledged_and_logged(platform_client: Client, caplog: Any) -> None:
    payload = webhook_event(type="charge.dispute.created", data_object={"id": "dp_1", "object": "dispute"})
    with caplog.at_level("INFO", logger="billing.services"):
        response = _post(platform_client, payload, _signed(payload))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert "charge.dispute.created" in caplog.text
    assert StripeEvent.objects.get(event_id=json.loads(payload)["id"]).outcome == "ignored"


def test_a_paid_invoice_settles_usage_and_frees_credit(bank_a: BankUnderTest, platform_client: Client) -> None:
    account = make_account(bank_a.bank, make_plan(fee_per_right_fen=100), credit_limit_fen=100_000)
    services.usage_record_order_succeeded(
        bank=bank_a.bank,
        order_ref="SETTLE-1",
        campaign_ref="c",
        campaign_name="活动",
        product_sku="S",
        product_name="产品",
        price_fen=9_900,
        occurred_at=timezone.now() - timedelta(minutes=5),
    )
    assert credit_available(bank=bank_a.bank) == 90_000
    paid = _invoice(account.stripe_customer_id, "invoice.paid")
    _post(platform_client, paid, _signed(paid))
    assert credit_available(bank=bank_a.bank) == 100_000
