"""Branch managers see their own branch's numbers only — on the pages, through filters and URL
tampering, and in exports; admins, operators and auditors see every branch."""

from __future__ import annotations

import re

from django_tenants.utils import schema_context

from accounts.models import User
from reports import selectors
from reports.exports import export_request, export_run
from reports.fold import fold_run
from reports.models import Export
from tests.conftest import BankUnderTest, bank_client
from tests.reports.factories import story_grants, story_redemptions
from tests.reports.test_rollups import page_figures, raw_totals


def _branch_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-branch="([^"]*)">', html)


def test_branch_manager_sees_only_their_branch_whatever_the_url_says(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        story = story_grants(bank_a, sku="RPT-BRANCH")
        story_redemptions(story)
        fold_run()
        own = raw_totals(story.campaign, branch="BR01")
        other = raw_totals(story.campaign, branch="BR02")
        everything = raw_totals(story.campaign)
    assert own["granted"] != other["granted"] and own["granted"] < everything["granted"]
    url = f"/console/reports/campaigns/{story.campaign.pk}/"
    manager = bank_client(bank_a, login="branch")  # branch manager of BR01
    for query in ("", "?branch=BR02", "?branch=", "?branch=BR02&branch=BR03", "?branch=%00none"):
        html = manager.get(url + query).content.decode()
        shown = page_figures(html)
        assert shown["granted"] == str(own["granted"]) and shown["redeemed"] == str(own["redeemed"]), query
        assert _branch_rows(html) == ["BR01"], query
        assert 'id="f-branch"' not in html  # no branch picker to play with
    overview = manager.get("/console/reports/?branch=BR02").content.decode()
    row = re.search(rf'data-campaign="{story.campaign.pk}">(.*?)</tr>', overview, re.S)
    assert row is not None and f'<td class="n">{own["granted"]}</td>' in row.group(1)
    for role in ("admin", "operator", "auditor"):
        client = bank_client(bank_a, login=role)
        html = client.get(url).content.decode()
        assert page_figures(html)["granted"] == str(everything["granted"]), role
        assert set(_branch_rows(html)) == {"BR01", "BR02", ""}, role
        filtered = page_figures(client.get(url + "?branch=BR02").content.decode())
        assert filtered["granted"] == str(other["granted"]), role


def test_a_branch_managers_export_holds_only_their_branch(bank_a: BankUnderTest) -> None:
    from django.core.files.storage import default_storage

    with schema_context(bank_a.schema):
        story = story_grants(bank_a, sku="RPT-BRANCH-X")
        story_redemptions(story)
        fold_run()
        manager = User.objects.get(username="branch")
        export, password = export_request(
            actor=manager, table="grants", campaign=story.campaign, branch="BR02"
        )  # asks for another branch
        assert password is None and export.params["branch"] == "BR01"
        export = export_run(export_id=export.pk)
        lines = default_storage.open(export.stored_path).read().decode("utf-8-sig").splitlines()
        assert len(lines) == 1 + raw_totals(story.campaign, branch="BR01")["granted"]
        assert all(",BR01," in line for line in lines[1:])
        summary = export_run(
            export_id=export_request(actor=manager, table="campaign_branches", campaign=story.campaign)[0].pk
        )
        rows = default_storage.open(summary.stored_path).read().decode("utf-8-sig").splitlines()
        assert [line.split(",")[0] for line in rows[1:]] == ["BR01"]
        assert Export.objects.filter(requested_by=manager).count() == 2


def test_scope_ignores_the_requested_branch_for_branch_managers(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        manager = User.objects.get(username="branch")
        assert selectors.scope_for(user=manager, branch="BR09").branch == "BR01"
        manager.branch_code = ""
        assert selectors.scope_for(user=manager, branch="").branch == selectors.NO_BRANCH
        assert selectors.scope_for(user=User.objects.get(username="admin"), branch="BR09").branch == "BR09"
