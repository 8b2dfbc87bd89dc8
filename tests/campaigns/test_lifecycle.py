"""Setting up a campaign is quick to do right and hard to do wrong: every step is checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import AuditEntry, User
from campaigns.models import Campaign, CampaignEvent, CampaignStatus
from campaigns.services import (
    campaign_create,
    campaign_problems,
    campaign_set_items,
    campaign_transition,
    campaign_update,
    campaigns_tick,
)
from platform.errors import ApplicationError
from rights_catalog.models import RightsProduct
from tests.campaigns.factories import campaign_data, launched_campaign
from tests.conftest import BankUnderTest
from tests.support.catalog import product_on_price_list


def test_an_operator_drafts_but_only_an_admin_launches(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, launch=False)
    with schema_context(bank_a.schema):
        operator = User.objects.get(username="operator")
        with pytest.raises(ApplicationError) as refused:
            campaign_transition(campaign=campaign, bank=bank_a.bank, action="launch", actor=operator)
        assert refused.value.code == "campaign.forbidden"
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
        auditor = User.objects.get(username="auditor")
        with pytest.raises(ApplicationError):
            campaign_create(actor=auditor, data=campaign_data())
        admin = User.objects.get(username="admin")
        live = campaign_transition(campaign=campaign, bank=bank_a.bank, action="launch", actor=admin)
        assert live.status == CampaignStatus.LIVE
        assert list(CampaignEvent.objects.filter(campaign=campaign).values_list("kind", flat=True)) == [
            "created",
            "items_set",
            "status:live",
        ]
        assert AuditEntry.objects.filter(
            action="campaign.launch", target_id=str(campaign.pk), actor_label="admin"
        ).exists()


def test_a_campaign_with_problems_cannot_go_live(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        admin = User.objects.get(username="admin")
        campaign = campaign_create(actor=admin, data=campaign_data(budget_fen=0, sms_text="没有占位符"))
        problems = campaign_problems(campaign=campaign, bank=bank_a.bank)
        assert any("权益包为空" in p for p in problems)
        assert any("预算" in p for p in problems)
        assert any("${code}" in p for p in problems)
        with pytest.raises(ApplicationError) as refused:
            campaign_transition(campaign=campaign, bank=bank_a.bank, action="launch", actor=admin)
        assert refused.value.code == "campaign.not_ready" and len(refused.value.extra["problems"]) >= 3
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_products_off_the_price_list_are_refused(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    only_beta = product_on_price_list(bank=bank_b.bank, sku="BETA-ONLY")
    with schema_context(bank_a.schema):
        admin = User.objects.get(username="admin")
        campaign = campaign_create(actor=admin, data=campaign_data())
        with pytest.raises(ApplicationError) as refused:
            campaign_set_items(campaign=campaign, bank=bank_a.bank, product_ids=[only_beta.pk], actor=admin)
        assert refused.value.code == "campaign.product_not_on_price_list"
        assert not campaign.items.exists()
    # a product taken off the list after it was chosen blocks the launch
    listed = product_on_price_list(bank=bank_a.bank, sku="ALPHA-LATER-OFF")
    with schema_context(bank_a.schema):
        campaign_set_items(campaign=campaign, bank=bank_a.bank, product_ids=[listed.pk], actor=admin)
    RightsProduct.objects.filter(pk=listed.pk).update(active=False)
    with schema_context(bank_a.schema), pytest.raises(ApplicationError) as refused:
        campaign_transition(campaign=campaign, bank=bank_a.bank, action="launch", actor=admin)
    assert "价目表" in refused.value.message


def test_budget_must_cover_the_grants(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, launch=False, budget_count=1, budget_fen=2900)
    with schema_context(bank_a.schema):
        Campaign.objects.filter(pk=campaign.pk).update(granted_count=2)
        campaign.refresh_from_db()
        admin = User.objects.get(username="admin")
        with pytest.raises(ApplicationError) as refused:
            campaign_transition(campaign=campaign, bank=bank_a.bank, action="launch", actor=admin)
        assert "预算不足以覆盖" in refused.value.message


def test_lifecycle_pause_resume_end_and_bad_transitions(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    with schema_context(bank_a.schema):
        admin, operator = User.objects.get(username="admin"), User.objects.get(username="operator")
        campaign = campaign_transition(campaign=campaign, bank=bank_a.bank, action="pause", actor=operator)
        assert campaign.status == CampaignStatus.PAUSED
        with pytest.raises(ApplicationError):
            campaign_transition(campaign=campaign, bank=bank_a.bank, action="resume", actor=operator)
        campaign = campaign_transition(campaign=campaign, bank=bank_a.bank, action="resume", actor=admin)
        campaign = campaign_transition(campaign=campaign, bank=bank_a.bank, action="end", actor=admin)
        assert campaign.status == CampaignStatus.ENDED
        with pytest.raises(ApplicationError) as refused:
            campaign_transition(campaign=campaign, bank=bank_a.bank, action="resume", actor=admin)
        assert refused.value.status == 409


def test_a_future_campaign_is_scheduled_then_goes_live_and_ends_on_time(bank_a: BankUnderTest) -> None:
    now = timezone.now()
    campaign = launched_campaign(bank_a, starts_at=now + timedelta(hours=2), ends_at=now + timedelta(days=1))
    assert campaign.status == CampaignStatus.SCHEDULED
    with schema_context(bank_a.schema):
        campaigns_tick(now=now + timedelta(hours=3))
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.LIVE
        campaigns_tick(now=now + timedelta(days=2))
        assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.ENDED


def test_promises_cannot_change_once_live(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    with schema_context(bank_a.schema):
        admin = User.objects.get(username="admin")
        with pytest.raises(ApplicationError) as refused:
            campaign_update(campaign=campaign, actor=admin, data={"redemptions_per_code": 3})
        assert refused.value.code == "campaign.field_locked"
        updated = campaign_update(campaign=campaign, actor=admin, data={"budget_count": 500})
        assert updated.budget_count == 500
        with pytest.raises(ApplicationError) as refused:
            campaign_update(campaign=campaign, actor=admin, data={"ends_at": campaign.starts_at - timedelta(days=1)})
        assert refused.value.code == "campaign.invalid"
