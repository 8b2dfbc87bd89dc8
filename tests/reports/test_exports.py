"""Exports: written in the background with progress, stored through the storage layer, behind an
expiring link for the member of staff who asked; audited both ways; phone numbers and codes masked
unless an admin explicitly asks — and then only as an encrypted archive."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import pyzipper
from django.core.files.storage import default_storage
from django.utils import timezone
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from accounts.models import AuditEntry, User
from campaigns.models import Grant
from platform.errors import ApplicationError
from reports.exports import export_link_token, export_request, export_run
from reports.fold import fold_run
from reports.models import Export
from tests.conftest import BankUnderTest, bank_client
from tests.reports.factories import story_grants, story_redemptions

FULL_PHONE = re.compile(r"1[3-9]\d{9}")
FULL_CODE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]")


def test_masked_by_default_audited_and_behind_an_expiring_link(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        story = story_grants(bank_a, sku="RPT-EXPORT")
        story_redemptions(story)
        fold_run()
        operator = User.objects.get(username="operator")
        export, password = export_request(actor=operator, table="redemptions", campaign=story.campaign)
        assert password is None and not export.encrypted
        assert AuditEntry.objects.filter(action="reports.export", target_id=str(export.pk)).exists()
        export = export_run(export_id=export.pk)
        assert (export.status, export.row_count, export.total_rows) == ("done", 9, 9)
        text = default_storage.open(export.stored_path).read().decode("utf-8-sig")
        assert "****" in text and not FULL_PHONE.search(text) and not FULL_CODE.search(text)
        xlsx = export_run(
            export_id=export_request(actor=operator, table="grants", campaign=story.campaign, file_format="xlsx")[0].pk
        )
        sheet = load_workbook(io.BytesIO(default_storage.open(xlsx.stored_path).read())).active
        cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
        assert len(list(sheet.iter_rows())) == 13 and not any(FULL_PHONE.fullmatch(c) for c in cells)
        token = export_link_token(export=export, actor=operator)
    client = bank_client(bank_a, login="operator")
    link = client.get(f"/console/reports/exports/{export.pk}/link/")
    assert link.status_code == 302
    download = client.get(link["Location"])
    assert download.status_code == 200 and download.getvalue().decode("utf-8-sig") == text
    with schema_context(bank_a.schema):
        assert AuditEntry.objects.filter(action="reports.export_download", target_id=str(export.pk)).exists()
    # someone else's link, a forged link and an expired export are all refused
    assert bank_client(bank_a, login="auditor").get(link["Location"]).status_code == 403
    assert client.get(link["Location"] + "x").status_code == 403
    assert bank_client(bank_a, login="auditor").get(f"/console/reports/exports/{export.pk}/link/").status_code == 404
    with schema_context(bank_a.schema):
        Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/console/reports/exports/download/?token={token}").status_code == 403
    progress = client.get(f"/console/reports/exports/{export.pk}/progress/").json()
    assert progress["status"] == "done" and progress["done"] == 9


def test_unmasked_only_for_an_admin_who_asks_and_only_encrypted(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        story = story_grants(bank_a, sku="RPT-EXPORT-PLAIN")
        for role in ("operator", "auditor", "branch"):
            with pytest.raises(ApplicationError) as refused:
                export_request(
                    actor=User.objects.get(username=role), table="grants", campaign=story.campaign, unmasked=True
                )
            assert refused.value.code == "export.forbidden"
        with pytest.raises(ApplicationError):  # no personal data in an aggregate: nothing to unmask
            export_request(
                actor=User.objects.get(username="admin"),
                table="campaign_days",
                campaign=story.campaign,
                unmasked=True,
            )
        admin = User.objects.get(username="admin")
        export, password = export_request(actor=admin, table="grants", campaign=story.campaign, unmasked=True)
        assert password and export.encrypted and export.unmasked
        audit = AuditEntry.objects.get(action="reports.export", target_id=str(export.pk))
        assert audit.after is not None and audit.after["unmasked"] is True
        export = export_run(export_id=export.pk)
        assert export.file_name.endswith(".zip")
        phones = set(story.phones.values())
    archive = pyzipper.AESZipFile(io.BytesIO(default_storage.open(export.stored_path).read()))
    with pytest.raises(RuntimeError):
        archive.read(archive.namelist()[0])  # no password, no phone numbers
    archive.setpassword(password.encode())
    text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    assert set(FULL_PHONE.findall(text)) == phones
    raw = default_storage.open(export.stored_path).read()
    assert not any(phone.encode() in raw for phone in phones)  # stored encrypted
    # the same request through the console page: the password is shown once
    page = bank_client(bank_a, login="admin").post(
        "/console/reports/exports/",
        {"table": "grants", "campaign": story.campaign.pk, "format": "csv", "unmasked": "1"},
        follow=True,
    )
    assert "解压密码" in page.content.decode()
    with schema_context(bank_a.schema):
        assert Grant.objects.filter(campaign=story.campaign).count() == 12
