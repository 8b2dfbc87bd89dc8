"""Platform staff set plans and accounts up in the platform console, which keeps Stripe in sync,
and suspend a bank whose bill is long past due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from billing import stripe_gateway
from billing.models import BillingAccount, BillingStatus, Plan
from tenants.models import Bank, BankStatus
from tests.billing.conftest import make_account, make_plan
from tests.conftest import BankUnderTest

pytestmark = pytest.mark.slow


@pytest.fixture
def staff(platform_client: Client) -> Client:
    user = User.objects.create_superuser(username="staff-billing", password="Staff-pass-123", email="s@example.com")
    platform_client.force_login(user)
    return platform_client


def test_a_plan_and_an_account_added_in_the_console_exist_in_stripe(
    bank_a: BankUnderTest, staff: Client, fake_stripe: str
) -> None:
    response = staff.post(
        "/admin/billing/plan/add/",
        {
            "code": "console",
            "name": "控制台套餐",
            "currency": "cny",
            "monthly_fee_fen": "200000",
            "fee_per_right_fen": "30",
            "tax_rate_bp": "600",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = Plan.objects.get(code="console")
    assert plan.stripe_product_id and plan.stripe_rights_price_id
    response = staff.post(
        "/admin/billing/billingaccount/add/",
        {
            "bank": str(bank_a.bank.pk),
            "plan": str(plan.pk),
            "email": "pay@alpha.example.com",
            "prepaid_balance_fen": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account = BillingAccount.objects.get(bank=bank_a.bank)
    client = stripe_gateway.stripe_client()
    customer = client.v1.customers.retrieve(account.stripe_customer_id)
    assert customer.name == bank_a.bank.name and customer.email == "pay@alpha.example.com"
    subscription = client.v1.subscriptions.retrieve(account.stripe_subscription_id)
    assert plan.stripe_fee_price_id in {item.price.id for item in subscription["items"].data}
    assert account.status == BillingStatus.ACTIVE


def test_staff_suspend_only_banks_past_due_beyond_grace(
    bank_a: BankUnderTest, bank_b: BankUnderTest, staff: Client, settings: Any
) -> None:
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    plan = make_plan()
    long_due = make_account(
        bank_a.bank, plan, status=BillingStatus.PAST_DUE, past_due_since=timezone.now() - timedelta(days=10)
    )
    recent = make_account(
        bank_b.bank, plan, status=BillingStatus.PAST_DUE, past_due_since=timezone.now() - timedelta(days=2)
    )
    response = staff.post(
        "/admin/billing/billingaccount/",
        {"action": "suspend_past_due", "_selected_action": [str(long_due.pk), str(recent.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert Bank.objects.get(pk=bank_a.bank.pk).status == BankStatus.SUSPENDED
    assert Bank.objects.get(pk=bank_b.bank.pk).status == BankStatus.ACTIVE
    assert "不能因欠费暂停" in response.content.decode()
