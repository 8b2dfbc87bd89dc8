"""A bank cannot spend rights it cannot pay for, and a bank that does not pay is warned, then may
be suspended by platform staff."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from billing import services
from billing.models import BillingStatus
from billing.selectors import UNLIMITED_FEN, credit_available
from platform.errors import ApplicationError
from tenants.models import BankStatus
from tests.billing.conftest import make_account, make_plan
from tests.conftest import BankUnderTest, bank_client


def _order(test_bank: BankUnderTest, ref: str, price_fen: int) -> None:
    services.usage_record_order_succeeded(
        bank=test_bank.bank,
        order_ref=ref,
        campaign_ref="cmp",
        campaign_name="活动",
        product_sku="SKU",
        product_name="产品",
        price_fen=price_fen,
        occurred_at=timezone.now(),
    )


def test_credit_is_limit_minus_unsettled_usage_minus_reservations(bank_a: BankUnderTest) -> None:
    assert credit_available(bank=bank_a.bank) == UNLIMITED_FEN  # no account: not capped
    make_account(bank_a.bank, make_plan(fee_per_right_fen=100), credit_limit_fen=50_000, prepaid_balance_fen=10_000)
    _order(bank_a, "C-1", 9_900)  # 10_000 with the fee
    assert credit_available(bank=bank_a.bank) == 50_000
    services.credit_reserve(bank=bank_a.bank, reference="campaign:1", amount_fen=30_000)
    assert credit_available(bank=bank_a.bank) == 20_000
    services.credit_check(bank=bank_a.bank, amount_fen=20_000)
    with pytest.raises(ApplicationError) as exceeded:
        services.credit_check(bank=bank_a.bank, amount_fen=20_001)
    assert exceeded.value.code == "billing.credit_exceeded" and "可用额度不足" in exceeded.value.message
    # a second campaign going live with a budget beyond the credit left is refused, and holds nothing
    with pytest.raises(ApplicationError):
        services.credit_reserve(bank=bank_a.bank, reference="campaign:2", amount_fen=25_000)
    # raising the first reservation counts only the difference
    services.credit_reserve(bank=bank_a.bank, reference="campaign:1", amount_fen=50_000)
    assert credit_available(bank=bank_a.bank) == 0
    services.credit_release(bank=bank_a.bank, reference="campaign:1")
    # a reversal gives the credit back
    services.usage_record_order_reversed(bank=bank_a.bank, order_ref="C-1", occurred_at=timezone.now())
    assert credit_available(bank=bank_a.bank) == 60_000


def test_a_bank_past_due_beyond_grace_is_warned_and_can_be_suspended(bank_a: BankUnderTest, settings: Any) -> None:
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    account = make_account(
        bank_a.bank, make_plan(), status=BillingStatus.PAST_DUE, past_due_since=timezone.now() - timedelta(days=3)
    )
    admin = bank_client(bank_a, login="admin")
    assert "逾期" not in admin.get("/console/").content.decode()
    with pytest.raises(ApplicationError) as too_early:
        services.account_suspend_past_due(account=account)
    assert too_early.value.code == "billing.not_past_due"

    account.past_due_since = timezone.now() - timedelta(days=9)
    account.save()
    assert "账单已逾期 9 天未付" in admin.get("/console/").content.decode()
    bank = services.account_suspend_past_due(account=account)
    assert bank.status == BankStatus.SUSPENDED and "逾期" in bank.suspended_reason
