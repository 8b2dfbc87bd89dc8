"""A month of fulfilled orders across two banks: usage reaches (fake) Stripe exactly once, and each
bank's statement adds up to its orders and to what Stripe counted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
import stripe
from django.utils import timezone

from billing import services, stripe_gateway
from billing.models import BillingStatus, ReportStatus, UsageRecord
from billing.selectors import month_bounds, month_start
from tests.billing.conftest import make_plan, moments_this_month
from tests.conftest import BankUnderTest

pytestmark = pytest.mark.slow

CAMPAIGNS = [("cmp-1", "首刷礼"), ("cmp-2", "分期有礼")]
PRODUCTS = [
    ("SKU-TOPUP-50", "话费直充 50 元", 4_850),
    ("SKU-VIDEO-M", "视频会员月卡", 1_590),
    ("SKU-COFFEE", "咖啡券", 2_100),
]


def _orders(test_bank: BankUnderTest, count: int) -> list[dict[str, Any]]:
    orders = []
    for index, moment in enumerate(moments_this_month(count)):
        campaign_ref, campaign_name = CAMPAIGNS[index % 2]
        sku, name, price = PRODUCTS[index % 3]
        orders.append(
            {
                "bank": test_bank.bank,
                "order_ref": f"FO-{test_bank.bank.slug}-{index:04d}",
                "campaign_ref": campaign_ref,
                "campaign_name": campaign_name,
                "product_sku": sku,
                "product_name": name,
                "price_fen": price,
                "occurred_at": moment,
            }
        )
    return orders


def _stripe_usage(customer_id: str) -> tuple[float, float]:
    start, end = (int(moment.timestamp()) for moment in month_bounds(month_start(timezone.now())))
    start = min(start, int((timezone.now() - timedelta(days=34)).timestamp()))
    end = int(timezone.now().timestamp()) + 3600
    return (
        stripe_gateway.meter_usage(
            event_name=stripe_gateway.METER_RIGHTS, customer_id=customer_id, start=start, end=end
        ),
        stripe_gateway.meter_usage(event_name=stripe_gateway.METER_COST, customer_id=customer_id, start=start, end=end),
    )


def test_a_month_of_orders_bills_each_bank_once(
    bank_a: BankUnderTest, bank_b: BankUnderTest, fake_stripe: str, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    plan = make_plan(monthly_fee_fen=300_000, fee_per_right_fen=80, tax_rate_bp=600)
    accounts = {
        test_bank.bank.slug: services.account_open(bank=test_bank.bank, plan=plan, email="billing@example.com")
        for test_bank in (bank_a, bank_b)
    }
    # the platform console's sync made each bank a Stripe customer with one subscription to the plan
    client = stripe_gateway.stripe_client()
    for account in accounts.values():
        assert account.status == BillingStatus.ACTIVE
        subscription = client.v1.subscriptions.retrieve(account.stripe_subscription_id)
        assert subscription.customer == account.stripe_customer_id
        assert {item.price.id for item in subscription["items"].data} == {
            plan.stripe_fee_price_id,
            plan.stripe_rights_price_id,
            plan.stripe_cost_price_id,
        }

    orders = {"alpha": _orders(bank_a, 14), "beta": _orders(bank_b, 9)}
    for bank_orders in orders.values():
        for order in bank_orders:
            services.usage_record_order_succeeded(**order)
    # fulfilment may report the same success twice: still one row
    again = services.usage_record_order_succeeded(**orders["alpha"][0])
    assert UsageRecord.objects.filter(bank=bank_a.bank).count() == 14 and again.order_ref == "FO-alpha-0000"
    # one alpha order is later proven failed: a credit
    reversed_order = orders["alpha"][3]
    credit = services.usage_record_order_reversed(
        bank=bank_a.bank, order_ref=reversed_order["order_ref"], occurred_at=timezone.now() - timedelta(seconds=30)
    )
    assert credit is not None and credit.price_fen == -reversed_order["price_fen"] and credit.fee_fen == -80
    assert (
        services.usage_record_order_reversed(bank=bank_a.bank, order_ref="FO-never", occurred_at=timezone.now()) is None
    )

    # Stripe fails: once before recording an event, once after recording it (the answer is lost)
    requests.post(
        f"{fake_stripe}/_fake/faults", json={"meter_events_fail_before": 1, "meter_events_fail_after": 1}, timeout=5
    )
    first = services.usage_report_pending(limit=10)
    assert first.failed == 2 and first.reported == 8
    rest = services.usage_report_pending()
    while rest.reported:
        rest = services.usage_report_pending()
    assert not UsageRecord.objects.filter(
        report_status=ReportStatus.PENDING, bank__in=[bank_a.bank, bank_b.bank]
    ).exists()
    # a forced retry of rows Stripe already has (e.g. a worker died before saving "reported")
    UsageRecord.objects.filter(bank=bank_a.bank).update(report_status=ReportStatus.PENDING)
    forced = services.usage_report_pending()
    assert forced.failed == 0 and forced.reported == 15

    expected = {
        slug: {
            "rights": len(bank_orders) - (slug == "alpha"),
            "cost": sum(o["price_fen"] for o in bank_orders) - (reversed_order["price_fen"] if slug == "alpha" else 0),
        }
        for slug, bank_orders in orders.items()
    }
    month = month_start(timezone.now())
    for test_bank in (bank_a, bank_b):
        slug = test_bank.bank.slug
        statement = services.statement_generate(bank=test_bank.bank, month=month)
        want = expected[slug]
        assert statement.rights_count == want["rights"]
        assert statement.rights_cost_fen == want["cost"]
        assert statement.fees_fen == want["rights"] * 80
        assert statement.platform_fee_fen == 300_000
        subtotal = 300_000 + want["rights"] * 80 + want["cost"]
        assert statement.subtotal_fen == subtotal
        assert statement.tax_fen == (subtotal * 600 + 5000) // 10000
        assert statement.total_fen == subtotal + statement.tax_fen
        # per campaign, per product and per day lines each add up to the total
        for section in ("campaigns", "products", "days"):
            assert sum(line["total_fen"] for line in statement.data[section]) == want["cost"] + want["rights"] * 80
        # and (fake) Stripe counted exactly the same usage, despite the failures and the forced retry
        rights, cost = _stripe_usage(accounts[slug].stripe_customer_id)
        assert (rights, cost) == (want["rights"], want["cost"])

        # generating the month again gives the same numbers and the same PDF
        again_statement = services.statement_generate(bank=test_bank.bank, month=month)
        assert again_statement.generation == 2
        assert again_statement.data_sha256 == statement.data_sha256
        assert again_statement.pdf_sha256 == statement.pdf_sha256


def test_a_plan_change_syncs_new_prices_to_the_subscription(bank_a: BankUnderTest, fake_stripe: str) -> None:
    plan = make_plan(code="growth", fee_per_right_fen=60)
    account = services.account_open(bank=bank_a.bank, plan=plan)
    old_rights_price = plan.stripe_rights_price_id
    plan.refresh_from_db()
    plan.fee_per_right_fen = 45
    plan.save()
    services.plan_sync(plan=plan)
    plan.refresh_from_db()
    assert plan.stripe_rights_price_id != old_rights_price
    subscription = stripe_gateway.stripe_client().v1.subscriptions.retrieve(account.stripe_subscription_id)
    prices = {item.price.id: item.price.unit_amount for item in subscription["items"].data}
    assert prices[plan.stripe_rights_price_id] == 45 and old_rights_price not in prices


def test_the_fake_answers_like_stripe(fake_stripe: str) -> None:
    client = stripe_gateway.stripe_client()
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_nobody")
    assert missing.value.code == "resource_missing" and missing.value.http_status == 404
    customer = client.v1.customers.create({"name": "测试银行"}, {"idempotency_key": "same-key-h8"})
    replay = client.v1.customers.create({"name": "测试银行"}, {"idempotency_key": "same-key-h8"})
    assert replay.id == customer.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "另一家"}, {"idempotency_key": "same-key-h8"})
    unauthenticated = requests.post(f"{fake_stripe}/v1/customers", data={"name": "x"}, timeout=5)
    assert unauthenticated.status_code == 401
