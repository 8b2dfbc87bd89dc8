"""Platform staff see every bank's volumes and spend, each supplier's success rate, latency, balance
and orders in manual review, SMS delivery per provider and open alerts — from the rollups."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from fulfillment.models import FulfilmentAttempt, FulfilmentOrder, OrderEvent, OrderStatus
from messaging.models import SmsMessage
from reports.fold import fold_run
from rights_catalog.models import AlertKind, Supplier, SupplierAlert
from tests.conftest import BankUnderTest
from tests.reports.factories import story_grants, story_redemptions
from tests.reports.test_rollups import raw_totals


def _attempt(order: FulfilmentOrder, supplier: Supplier, kind: str, *, seconds: int) -> None:
    attempt = FulfilmentAttempt.objects.create(
        order=order,
        number=order.attempts.count() + 1,  # type: ignore[attr-defined]
        order_number=f"T{uuid.uuid4().hex[:20]}",
        supplier=supplier,
        supplier_sku="SKU",
        cost_fen=2800,
        status="succeeded" if kind == "succeeded" else "failed",
    )
    FulfilmentAttempt.objects.filter(pk=attempt.pk).update(started_at=timezone.now() - timedelta(seconds=seconds))
    # the supplier's outcome as the engine records it (the order's own move is in the story already)
    OrderEvent.objects.create(order=order, attempt=attempt, kind=kind, from_status=order.status, to_status=order.status)


def test_platform_operations_page(bank_a: BankUnderTest, bank_b: BankUnderTest, platform_client: Client) -> None:
    supplier = Supplier.objects.create(
        code=f"ops-{uuid.uuid4().hex[:6]}",
        name="运营测试供应商",
        dialect="simple",
        endpoint="http://127.0.0.1:9/",
        merchant_id="m",
        balance_fen=123_400,
    )
    SupplierAlert.objects.create(
        supplier=supplier, kind=AlertKind.BALANCE_LOW, message="余额低于阈值", value=1, threshold=2
    )
    with schema_context(bank_a.schema):
        story = story_grants(bank_a, sku="RPT-OPS")
        story_redemptions(story)
        orders = list(FulfilmentOrder.objects.filter(campaign=story.campaign).order_by("pk"))
        for order in orders[:3]:
            _attempt(order, supplier, "succeeded", seconds=2)
        _attempt(orders[4], supplier, "attempt_failed", seconds=1)
        review = next(o for o in orders if o.status == OrderStatus.MANUAL_REVIEW)
        _attempt(review, supplier, "attempt_unknown", seconds=1)
        fold_run()
        raw = raw_totals(story.campaign)
        backend = SmsMessage.objects.filter(campaign_ref=str(story.campaign.pk)).values_list("backend", flat=True)[0]
    with schema_context(bank_b.schema):
        fold_run()
    assert platform_client.get("/operations/").status_code == 302  # staff only
    platform_client.force_login(User.objects.create_superuser(username="ops-staff", password="x-Pass-12345"))
    page = platform_client.get("/operations/")
    assert page.status_code == 200
    html = page.content.decode()
    alpha = re.search(r'<tr data-bank="alpha">(.*?)</tr>', html, re.S)
    assert alpha is not None and f'<td class="n redeemed-total">{raw["redeemed"]}</td>' in alpha.group(1)
    assert '<tr data-bank="beta">' in html
    row = re.search(rf'<tr data-supplier="{supplier.code}">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="n[^"]*">([^<]*)</td>', row.group(1))
    # succeeded, failed, unknown, success rate, latency, balance, in review
    assert cells[:4] == ["3", "1", "1", "75.0%"]
    assert 1500 <= int(cells[4]) <= 10_000 and cells[5] == "1,234.00" and cells[6] == "1"
    sms = re.search(rf'<tr data-backend="{backend}">(.*?)</tr>', html, re.S)
    assert sms is not None and "<td" in sms.group(1)
    assert "余额低于阈值" in html
