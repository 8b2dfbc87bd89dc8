"""Whitelists import whole or not at all; bad rows are reported by their row number."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django_tenants.utils import schema_context

from accounts.models import User
from campaigns.models import Code, Grant, ImportStatus, WhitelistImport
from campaigns.whitelist import whitelist_import_create, whitelist_import_run
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest


def _import(bank: BankUnderTest, campaign, name: str, content: bytes) -> WhitelistImport:  # type: ignore[no-untyped-def]
    with schema_context(bank.schema):
        job = whitelist_import_create(
            campaign=campaign, file_name=name, content=ContentFile(content), actor=User.objects.get(username="operator")
        )
        return whitelist_import_run(import_id=job.pk)


def test_a_clean_csv_becomes_grants_with_codes_bound_to_phones(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, split_parts=3, package_kind="split", budget_count=1000, budget_fen=2900 * 1000)
    csv = "手机号,网点,客户编号\n13800000001,BR01,C1\n13800000002,,\n13800000001,BR02,C3\n"
    job = _import(bank_a, campaign, "list.csv", csv.encode("utf-8-sig"))
    assert job.status == ImportStatus.DONE and job.imported_rows == 2 and job.skipped_duplicates == 1
    with schema_context(bank_a.schema):
        grants = Grant.objects.filter(campaign=campaign)
        assert grants.count() == 2
        first = grants.get(branch_code="BR01")
        codes = Code.objects.filter(grant=first).order_by("part")
        assert [c.part for c in codes] == [1, 2, 3]  # a split right: three codes a month apart
        assert (codes[1].valid_from - codes[0].valid_from).days == campaign.split_interval_days
        assert codes[0].phone_digest == first.phone_digest
        campaign.refresh_from_db()
        assert campaign.granted_count == 2


def test_bad_rows_are_reported_by_row_number_and_nothing_is_imported(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, duplicate_policy="reject")
    csv = (
        "phone,branch\n13800000001,BR01\n1234,BR01\n13800000002,BR01\n13800000001,BR02\n13800000003," + "B" * 40 + "\n"
    )
    job = _import(bank_a, campaign, "bad.csv", csv.encode())
    assert job.status == ImportStatus.REJECTED
    assert [e["row"] for e in job.errors] == [3, 5, 6]
    assert "手机号格式不正确" in job.errors[0]["error"] and "重复" in job.errors[1]["error"]
    with schema_context(bank_a.schema):
        assert not Grant.objects.filter(campaign=campaign).exists()
        assert not Code.objects.filter(campaign=campaign).exists()


def test_xlsx_with_numbers_as_cells(bank_a: BankUnderTest) -> None:
    from openpyxl import Workbook

    campaign = launched_campaign(bank_a)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["手机号", "网点代码"])
    sheet.append([13900000001, "BR09"])
    sheet.append([13900000002, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = _import(bank_a, campaign, "名单.xlsx", buffer.getvalue())
    assert job.status == ImportStatus.DONE and job.imported_rows == 2


def test_a_whitelist_beyond_the_budget_is_refused(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, budget_count=1, budget_fen=2900)
    job = _import(bank_a, campaign, "two.csv", b"13800000001\n13800000002\n")
    assert job.status == ImportStatus.REJECTED and "预算不足" in job.errors[0]["error"]
