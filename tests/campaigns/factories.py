"""A campaign ready to launch, built through the services like a card centre would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from campaigns import bulk
from campaigns.models import Campaign
from campaigns.services import campaign_create, campaign_set_items, campaign_transition
from tests.conftest import BankUnderTest
from tests.support.catalog import product_on_price_list


def campaign_data(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    data: dict[str, Any] = {
        "name": "首刷礼",
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(days=30),
        "budget_fen": 2900 * 100,
        "budget_count": 100,
        "valid_days": 30,
        "eligibility": "both",
        "sms_text": "您的兑换码 ${code}，点击 ${link} 领取",
        "requires_otp": False,
    }
    data.update(overrides)
    return data


def launched_campaign(
    test_bank: BankUnderTest, *, sku: str = "TEST-TOPUP-30", launch: bool = True, **overrides: Any
) -> Campaign:
    with schema_context(test_bank.schema):
        admin = User.objects.get(username="admin")
        product = product_on_price_list(bank=test_bank.bank, sku=sku)
        campaign = campaign_create(actor=admin, data=campaign_data(**overrides))
        campaign_set_items(campaign=campaign, bank=test_bank.bank, product_ids=[product.pk], actor=admin)
        if launch:
            campaign = campaign_transition(campaign=campaign, bank=test_bank.bank, action="launch", actor=admin)
        return campaign


def pool_codes(campaign: Campaign, count: int) -> list[str]:
    """Committed offline codes of a campaign, usable now, in plain text."""
    now = timezone.now()
    return bulk.pool_codes_write(
        campaign=campaign, count=count, valid_from=now - timedelta(minutes=1), valid_until=now + timedelta(days=1)
    )
