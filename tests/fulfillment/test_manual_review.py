"""The deadline sends an unresolved attempt to manual review; the platform console lists it across
banks and its actions (mark succeeded with evidence, fail and restore, retry) move it on once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from campaigns.models import Campaign
from fulfillment import engine
from fulfillment.models import AttemptStatus, FulfilmentAttempt, FulfilmentOrder, OrderEvent, OrderStatus
from tests.conftest import BankUnderTest
from tests.fulfillment.support import fulfilment_setup, orders_create


def _in_review(bank: BankUnderTest, n: int = 1) -> list[int]:
    setup = fulfilment_setup(bank, "http://127.0.0.1:9", dialects=("md5form",))
    ids = orders_create(setup, n)
    long_ago = timezone.now() - timedelta(hours=5)
    with schema_context(bank.schema):
        Campaign.objects.filter(pk=setup.campaign.pk).update(spent_count=n, spent_fen=2900 * n)
        for order_id in ids:
            attempt = FulfilmentAttempt.objects.create(
                order_id=order_id,
                number=1,
                order_number=f"r-{order_id}-1",
                supplier=setup.suppliers[0],
                supplier_sku="X",
                cost_fen=2800,
                status=AttemptStatus.UNKNOWN,
                submitted_at=long_ago,
            )
            FulfilmentAttempt.objects.filter(pk=attempt.pk).update(started_at=long_ago)
            FulfilmentOrder.objects.filter(pk=order_id).update(status=OrderStatus.UNKNOWN, attempt_count=1)
            assert engine.order_query(order_id=order_id) == "manual_review"  # past the 2 h deadline, no query sent
    return ids


@pytest.fixture
def staff(platform_client: Client) -> Client:
    platform_client.force_login(User.objects.create_superuser(username="review-staff", password="x-Pass-12345"))
    return platform_client


def test_review_queue_lists_orders_and_marks_succeeded_with_evidence(bank_a: BankUnderTest, staff: Client) -> None:
    [order_id] = _in_review(bank_a)
    page = staff.get("/fulfilment/review/")
    assert page.status_code == 200 and f"r-{order_id}-1" in page.content.decode()
    missing = staff.post(
        "/fulfilment/review/", {"bank": "alpha", "order": order_id, "action": "succeeded"}, follow=True
    )
    assert "凭证" in missing.content.decode()
    staff.post(
        "/fulfilment/review/",
        {"bank": "alpha", "order": order_id, "action": "succeeded", "evidence": "供应商工单 #123 确认已到账"},
    )
    with schema_context(bank_a.schema):
        order = FulfilmentOrder.objects.get(pk=order_id)
        assert order.status == OrderStatus.SUCCEEDED
        assert OrderEvent.objects.filter(order=order, kind="manual_action").count() == 1
    again = staff.post("/fulfilment/review/", {"bank": "alpha", "order": order_id, "action": "fail"}, follow=True)
    assert "不在人工处理队列" in again.content.decode()


def test_fail_restores_the_budget_once(bank_a: BankUnderTest, staff: Client) -> None:
    [order_id] = _in_review(bank_a)
    with schema_context(bank_a.schema):
        campaign = FulfilmentOrder.objects.get(pk=order_id).campaign
    staff.post("/fulfilment/review/", {"bank": "alpha", "order": order_id, "action": "fail", "evidence": "查无此单"})
    staff.post("/fulfilment/review/", {"bank": "alpha", "order": order_id, "action": "fail", "evidence": "查无此单"})
    with schema_context(bank_a.schema):
        campaign.refresh_from_db()
        order = FulfilmentOrder.objects.get(pk=order_id)
        assert order.status == OrderStatus.FAILED
        assert (campaign.spent_count, campaign.spent_fen) == (0, 0)
        assert OrderEvent.objects.filter(order=order, kind="restored").count() == 1


def test_retry_of_an_unknown_attempt_needs_evidence(bank_a: BankUnderTest, staff: Client) -> None:
    [order_id] = _in_review(bank_a)
    with schema_context(bank_a.schema):
        with pytest.raises(Exception, match="凭证"):
            engine.manual_review_resolve(order_id=order_id, action="retry", actor="t")
        assert (
            engine.manual_review_resolve(order_id=order_id, action="retry", actor="t", evidence="供应商确认未收到")
            == "retry"
        )
        order = FulfilmentOrder.objects.get(pk=order_id)
        assert order.status == OrderStatus.CREATED
        assert order.attempts.get(number=1).status == AttemptStatus.FAILED


def test_bank_console_shows_orders_in_review_and_reconciliation_flags(bank_a: BankUnderTest) -> None:
    from tests.conftest import bank_client

    _in_review(bank_a)
    page = bank_client(bank_a, login="auditor").get("/console/fulfilment/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "人工处理中" in body and "暂无差异" in body
