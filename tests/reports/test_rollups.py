"""The dashboard's figures are the raw tables' figures: a campaign with mixed outcomes (granted,
texted, delivered, opened, redeemed, arrived, failed and given back, in review, retried) shows on
its dashboard exactly what counting the raw rows gives, in total, per day and per branch."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.models import Campaign, Grant
from fulfillment.models import FulfilmentOrder, OrderEvent, Redemption
from messaging.models import SmsEvent, SmsMessage
from reports import selectors
from reports.fold import fold_run
from reports.models import CampaignRollup, OpenedCode
from tests.conftest import BankUnderTest, bank_client
from tests.reports.factories import story_grants, story_redemptions

SENT = ("sent", "unknown", "delivered")


def raw_totals(campaign: Campaign, *, branch: str | None = None) -> dict[str, int]:
    """The same figures counted from the raw tables (what a DBA would run)."""
    grants = Grant.objects.filter(campaign=campaign)
    redemptions = Redemption.objects.filter(campaign=campaign)
    orders = FulfilmentOrder.objects.filter(campaign=campaign)
    texts = SmsMessage.objects.filter(campaign_ref=str(campaign.pk), kind="code_delivery")
    opened = OpenedCode.objects.filter(campaign_id=campaign.pk)
    if branch is not None:
        grants = grants.filter(branch_code=branch)
        redemptions = redemptions.filter(branch_code=branch)
        orders = orders.filter(redemption__branch_code=branch)
        keys = [f"grant-{g}-part-1" for g in grants.values_list("pk", flat=True)]
        texts = texts.filter(dedupe_key__in=keys)
        opened = opened.filter(branch_code=branch)
    restored = OrderEvent.objects.filter(order__in=orders, kind="restored")
    statuses = Counter(orders.values_list("status", flat=True))
    spent = sum(orders.values_list("price_fen", flat=True)) - sum(r.order.price_fen for r in restored)
    return {
        "granted": grants.count(),
        "sms_sent": SmsEvent.objects.filter(message__in=texts, status__in=SENT).values("message").distinct().count(),
        "sms_delivered": texts.filter(status="delivered").count(),
        "sms_failed": texts.filter(status__in=["failed", "expired"]).count(),
        "h5_opened": opened.count(),
        "redeemed": redemptions.count(),
        "rights": orders.count(),
        "fulfilled": statuses["succeeded"],
        "failed": statuses["failed"],
        "in_review": statuses["manual_review"],
        "restored": restored.count(),
        "spent_fen": spent,
    }


def page_figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="(\w+)"><b>([^<]*)</b>', html))


def test_dashboard_numbers_equal_raw_counts_with_mixed_outcomes(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        story = story_grants(bank_a, sku="RPT-MIXED")
        fold_run()  # a fold in the middle: later rows are added to what it sealed
        story_redemptions(story)
        fold_run()
        campaign = Campaign.objects.get(pk=story.campaign.pk)
        raw = raw_totals(campaign)
        # the story really is mixed: every outcome is there
        assert raw["granted"] == 12 and raw["redeemed"] == 9 and raw["sms_delivered"] == 6
        assert raw["sms_failed"] == 2 and raw["h5_opened"] == 7 and raw["restored"] == 2
        assert (raw["fulfilled"], raw["failed"], raw["in_review"]) == (5, 2, 1)
        assert raw["spent_fen"] == campaign.spent_fen == 7 * 2900
        figures = selectors.campaign_figures(campaign=campaign, scope=selectors.Scope())
        totals = figures.totals
        assert {key: totals[key] for key in raw} == raw
        for branch in ("BR01", "BR02", ""):
            scoped = selectors.campaign_figures(campaign=campaign, scope=selectors.Scope(branch=branch)).totals
            assert {key: scoped[key] for key in raw} == raw_totals(campaign, branch=branch), branch
        # per day: the day each grant / redemption was made (bank time)
        by_day = {row["day"]: row for row in figures.by_day}
        grants_by_day = Counter(
            timezone.localtime(g.created_at).date() for g in Grant.objects.filter(campaign=campaign)
        )
        redeemed_by_day = Counter(
            timezone.localtime(r.created_at).date() for r in Redemption.objects.filter(campaign=campaign)
        )
        assert len(grants_by_day) == 2
        assert {day: row["granted"] for day, row in by_day.items() if row["granted"]} == dict(grants_by_day)
        assert {day: row["redeemed"] for day, row in by_day.items() if row["redeemed"]} == dict(redeemed_by_day)
        # time to redeem: three codes were usable two days before they were redeemed
        assert totals["ttr_3d"] == 3 and totals["ttr_1h"] == 6
        # folding again changes nothing
        before = _rollup_sums(campaign)
        fold_run()
        fold_run()
        assert _rollup_sums(campaign) == before
    page = bank_client(bank_a, login="admin").get(f"/console/reports/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    shown = page_figures(page.content.decode())
    for key in ("granted", "sms_sent", "sms_delivered", "h5_opened", "redeemed", "fulfilled", "failed", "restored"):
        assert shown[key] == str(raw[key]), key
    assert shown["spent"] == f"¥{raw['spent_fen'] / 100:,.2f}"


def _rollup_sums(campaign: Campaign) -> dict[str, Any]:
    metrics = ("granted", "sms_sent", "h5_opened", "redeemed", "fulfilled", "failed", "spent_fen")
    return dict(CampaignRollup.objects.filter(campaign_id=campaign.pk).aggregate(**{k: Sum(k) for k in metrics}))


def test_dashboard_in_english_when_chosen(bank_a: BankUnderTest) -> None:
    from django.conf import settings

    with schema_context(bank_a.schema):
        story = story_grants(bank_a, sku="RPT-EN", branches=["BR01", "BR02"])
        fold_run()
    client = bank_client(bank_a, login="admin")
    url = f"/console/reports/campaigns/{story.campaign.pk}/"
    assert "转化漏斗：从发放到到账" in client.get(url).content.decode()  # Chinese by default
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(url).content.decode()
    assert "Funnel: from grant to arrival" in html and ">Reports</a>" in html
    assert page_figures(html)["granted"] == "2"
