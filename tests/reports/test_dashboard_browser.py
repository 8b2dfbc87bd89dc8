"""In Chromium: a card-centre admin opens the bank overview and a campaign's dashboard and sees
every branch, charts with their numbers beside them; a branch manager opening the same address
(even with another branch in it) sees only their own branch."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import schema_context

from reports.fold import fold_run
from tenants.models import Bank
from tenants.services import bank_host
from tests.conftest import PASSWORD, BankUnderTest
from tests.reports.factories import story_grants, story_redemptions
from tests.reports.test_rollups import raw_totals
from tests.support.browser import chromium, console_login
from tests.support.server import live_server

pytestmark = pytest.mark.slow
PORT = 18071


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    console_login(page, base, username, PASSWORD)


def _kpi(page, metric: str) -> str:  # type: ignore[no-untyped-def]
    return str(page.locator(f'.kpi[data-metric="{metric}"] b').inner_text()).strip()


def test_admin_sees_every_branch_and_a_branch_manager_only_theirs(committed_db) -> None:  # type: ignore[no-untyped-def]
    alpha = BankUnderTest(bank=Bank.objects.get(slug="alpha"), host=bank_host("alpha"))
    with schema_context(alpha.schema):
        story = story_grants(alpha, sku=f"RPT-UI-{uuid.uuid4().hex[:6]}", name=f"看板活动 {uuid.uuid4().hex[:6]}")
        story_redemptions(story)
        fold_run()
        everything, own = raw_totals(story.campaign), raw_totals(story.campaign, branch="BR01")
    campaign_id = story.campaign.pk
    base = f"http://alpha.quanyi.localhost:{PORT}"
    with live_server(port=PORT), chromium() as browser:
        admin = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        _login(admin, base, "admin")
        admin.get_by_role("link", name="数据", exact=True).click()
        admin.wait_for_url(f"{base}/console/reports/")
        admin.locator(f'tr[data-campaign="{campaign_id}"] a').click()
        admin.wait_for_url(f"{base}/console/reports/campaigns/{campaign_id}/")
        assert _kpi(admin, "granted") == str(everything["granted"])
        assert _kpi(admin, "redeemed") == str(everything["redeemed"])
        assert _kpi(admin, "fulfilled") == str(everything["fulfilled"])
        branches = admin.locator("#per-branch tbody tr").evaluate_all("rows => rows.map(r => r.dataset.branch)")
        assert sorted(branches) == ["", "BR01", "BR02"]
        assert admin.locator("svg.chart").count() >= 6  # charts, each beside its table
        funnel = admin.locator('#funnel tr[data-step="redeemed"] td').all_inner_texts()
        assert funnel[1] == str(everything["redeemed"])
        # filter by branch through the form
        admin.locator("#f-branch").select_option("BR02")
        admin.get_by_role("button", name="应用").click()
        admin.wait_for_url("**branch=BR02**")
        assert _kpi(admin, "granted") == str(raw_totals_branch(story, "BR02"))
        admin.screenshot(path="/tmp/quanyi-dashboard-admin.png", full_page=True)

        manager = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        _login(manager, base, "branch")
        manager.goto(f"{base}/console/reports/campaigns/{campaign_id}/?branch=BR02")
        assert _kpi(manager, "granted") == str(own["granted"])
        assert _kpi(manager, "redeemed") == str(own["redeemed"])
        assert "BR01" in manager.locator("#scope-note").inner_text()
        assert manager.locator("#f-branch").count() == 0
        rows = manager.locator("#per-branch tbody tr").evaluate_all("rows => rows.map(r => r.dataset.branch)")
        assert rows == ["BR01"]
        assert manager.locator("#budget").inner_text().find(str(story.campaign.budget_fen // 100)) == -1
        manager.screenshot(path="/tmp/quanyi-dashboard-branch.png", full_page=True)


def raw_totals_branch(story, branch: str) -> int:  # type: ignore[no-untyped-def]
    with schema_context(Bank.objects.get(slug="alpha").schema_name):
        return raw_totals(story.campaign, branch=branch)["granted"]
