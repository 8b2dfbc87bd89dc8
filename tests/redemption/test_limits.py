"""Every limit a campaign sets is consumed in the redemption transaction, and a refusal changes nothing."""

from __future__ import annotations

import secrets

import pytest
from django_tenants.utils import schema_context

from accounts.models import User
from campaigns.models import Campaign, Code
from campaigns.services import campaign_set_branch_quotas, grant_create
from fulfillment.models import Redemption
from fulfillment.redemption import Choice, redemption_confirm
from platform.errors import ApplicationError
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest


def _redeem(bank: BankUnderTest, campaign: Campaign, phone: str, branch: str = "") -> Redemption:
    grant = grant_create(
        campaign_id=campaign.pk, bank=bank.bank, phone=phone, branch_code=branch, actor_label="test"
    ).grant
    code = Code.objects.get(grant=grant)
    product_id = campaign.items.get().product_id
    return redemption_confirm(
        code_id=code.pk,
        phone=phone,
        choices=[Choice(product_id=product_id, account=phone)],
        submission_key=secrets.token_hex(8),
        ip="10.0.0.1",
    )


def _refused(bank: BankUnderTest, campaign: Campaign, phone: str, code: str, branch: str = "") -> None:
    before = Redemption.objects.filter(campaign=campaign).count()
    spent = Campaign.objects.values_list("spent_count", "spent_fen").get(pk=campaign.pk)
    with pytest.raises(ApplicationError) as refused:
        _redeem(bank, campaign, phone, branch)
    assert refused.value.code == code
    assert Redemption.objects.filter(campaign=campaign).count() == before
    assert Campaign.objects.values_list("spent_count", "spent_fen").get(pk=campaign.pk) == spent


def test_branch_quota(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    with schema_context(bank_a.schema):
        campaign_set_branch_quotas(campaign=campaign, quotas={"BR01": 1}, actor=User.objects.get(username="admin"))
        _redeem(bank_a, campaign, "13700000001", "BR01")
        _refused(bank_a, campaign, "13700000002", "redeem.branch_quota", "BR01")
        _redeem(bank_a, campaign, "13700000003", "BR02")  # no quota set for that branch
        campaign.refresh_from_db()
        assert campaign.spent_count == 2


def test_daily_cap(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, daily_cap=1)
    with schema_context(bank_a.schema):
        _redeem(bank_a, campaign, "13700000011")
        _refused(bank_a, campaign, "13700000012", "redeem.daily_cap")


def test_per_cardholder_limit_across_grants(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, per_cardholder_limit=1, duplicate_policy="allow")
    with schema_context(bank_a.schema):
        _redeem(bank_a, campaign, "13700000021")
        _refused(bank_a, campaign, "13700000021", "redeem.cardholder_limit")


def test_budget_is_never_overrun(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, budget_count=1, budget_fen=2900)
    with schema_context(bank_a.schema):
        _redeem(bank_a, campaign, "13700000031")
        Campaign.objects.filter(pk=campaign.pk).update(budget_count=1, granted_count=0)
        _refused(bank_a, campaign, "13700000032", "redeem.budget_exhausted")
        campaign.refresh_from_db()
        assert (campaign.spent_count, campaign.spent_fen) == (1, 2900)
