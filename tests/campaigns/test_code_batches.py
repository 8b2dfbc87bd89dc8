"""Offline code pools are generated in the background by a real worker, visible only once complete,
and exported only by an admin as an encrypted archive."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import pyzipper
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from campaigns import bulk
from campaigns.codes import code_format, code_normalize
from campaigns.models import BatchStatus, Code, CodeBatch, GrantSource
from campaigns.selectors import code_find
from campaigns.services import code_batch_create
from platform.errors import ApplicationError
from reports.exports import export_link_token, export_request, export_run
from tenants.models import Bank
from tests.campaigns.factories import launched_campaign, pool_codes
from tests.conftest import BankUnderTest, bank_client
from tests.support.processes import celery_worker, wait_for


@pytest.mark.slow
def test_a_worker_generates_a_pool_batch_with_progress(committed_db) -> None:  # type: ignore[no-untyped-def]
    alpha = BankUnderTest(bank=Bank.objects.get(slug="alpha"), host="alpha.quanyi.localhost")
    campaign = launched_campaign(alpha, name=f"线下码池 {timezone.now().timestamp()}", sku="POOL-SKU")
    with schema_context(alpha.schema):
        batch = code_batch_create(campaign=campaign, count=30_000, actor=User.objects.get(username="admin"))
    client = bank_client(alpha, login="admin")
    with celery_worker(queues="bulk"):
        wait_for(
            lambda: client.get(f"/console/progress/codes/{batch.pk}/").json().get("status") == "committed", timeout=120
        )
    with schema_context(alpha.schema):
        assert Code.objects.filter(batch_id=batch.pk).count() == 30_000
        assert CodeBatch.objects.get(pk=batch.pk).created_count == 30_000
    progress = client.get(f"/console/progress/codes/{batch.pk}/").json()
    assert progress["done"] == progress["total"] == 30_000


def test_codes_of_an_uncommitted_batch_cannot_be_found(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    with schema_context(bank_a.schema):
        batch = CodeBatch.objects.create(
            campaign=campaign, source=GrantSource.POOL, requested_count=1, status=BatchStatus.RUNNING
        )
        plaintext: list[str] = []
        now = timezone.now()
        bulk.codes_copy(
            campaign_id=campaign.pk,
            batch_id=batch.pk,
            redemptions=1,
            specs=[bulk.CodeSpec(None, None, 1, now, now + timedelta(days=1))],
            keep_plaintext=lambda codes, _specs: plaintext.extend(codes),
        )
        assert code_find(text=code_format(plaintext[0])) is None
        CodeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMMITTED)
        found = code_find(text=code_format(plaintext[0]).lower())
        assert found is not None and found.campaign_id == campaign.pk
        assert code_find(text="2222-2222-2222-2") is None


def test_only_an_admin_exports_and_the_archive_needs_the_password(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    with schema_context(bank_a.schema):
        pool_codes(campaign, 5)
        with pytest.raises(ApplicationError):
            export_request(table="codes", campaign=campaign, actor=User.objects.get(username="operator"))
        admin_user = User.objects.get(username="admin")
        export, password = export_request(table="codes", campaign=campaign, actor=admin_user)
        assert password is not None
        export = export_run(export_id=export.pk)
        token = export_link_token(export=export, actor=admin_user)
    archive = pyzipper.AESZipFile(io.BytesIO(default_storage.open(export.stored_path).read()))
    with pytest.raises(RuntimeError):
        archive.read(archive.namelist()[0])  # no password, no codes
    archive.setpassword(password.encode())
    lines = archive.read(archive.namelist()[0]).decode("utf-8-sig").splitlines()
    assert len(lines) == 6 and all(code_normalize(line.split(",")[0]) for line in lines[1:])
    admin = bank_client(bank_a, login="admin")
    assert admin.get(f"/console/reports/exports/download/?token={token}").status_code == 200
    operator = bank_client(bank_a, login="operator")
    assert operator.get(f"/console/reports/exports/download/?token={token}").status_code == 403
    assert admin.get(f"/console/reports/exports/download/?token={token}x").status_code == 403


def test_an_export_link_of_one_bank_is_worthless_on_another(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    with schema_context(bank_a.schema):
        admin_user = User.objects.get(username="admin")
        export, _password = export_request(table="codes", campaign=campaign, actor=admin_user)
        export = export_run(export_id=export.pk)
        token = export_link_token(export=export, actor=admin_user)
    response = bank_client(bank_b, login="admin").get(f"/console/reports/exports/download/?token={token}")
    assert response.status_code == 403
    assert Client(HTTP_HOST=bank_b.host).get(f"/console/reports/exports/download/?token={token}").status_code == 302
