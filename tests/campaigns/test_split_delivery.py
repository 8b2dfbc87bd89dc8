"""A split right (12 monthly codes, say) texts each code when it becomes usable, never all at once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.services import campaigns_tick
from messaging.models import SmsMessage
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest
from tests.support.api import bank_system


def test_each_part_is_texted_when_it_comes_due(bank_a: BankUnderTest) -> None:
    now = timezone.now()
    campaign = launched_campaign(
        bank_a,
        package_kind="split",
        split_parts=3,
        split_interval_days=30,
        ends_at=now + timedelta(days=120),
        budget_count=300,
        budget_fen=2900 * 300,
    )
    response = bank_system(bank_a).request(
        "POST",
        "/api/v1/grants",
        {"campaign_id": campaign.pk, "phone": "13866667777"},
        headers={"Idempotency-Key": "split-1"},
    )
    grant_id = response.json()["id"]
    with schema_context(bank_a.schema):

        def texts() -> list[str]:
            keys = SmsMessage.objects.filter(dedupe_key__startswith=f"grant-{grant_id}-").values_list(
                "dedupe_key", flat=True
            )
            return sorted(key for key in keys if key)

        assert texts() == [f"grant-{grant_id}-part-1"]
        campaigns_tick(now=now + timedelta(days=10))
        assert len(texts()) == 1
        campaigns_tick(now=now + timedelta(days=30))
        campaigns_tick(now=now + timedelta(days=30, hours=1))  # a second tick sends nothing twice
        assert texts() == [f"grant-{grant_id}-part-1", f"grant-{grant_id}-part-2"]
