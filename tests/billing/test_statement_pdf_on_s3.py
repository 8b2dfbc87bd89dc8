"""A statement is a Chinese PDF stored on S3 (moto's server over HTTP), downloadable by the bank's
admins and auditors only, and by platform staff."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.conf import settings as django_settings
from django.test import Client
from PIL import Image

from accounts.models import User
from billing import services
from billing.statements import statement_storage_name
from tests.billing.conftest import make_account, make_plan, moments_this_month
from tests.conftest import BankUnderTest, bank_client

pytestmark = pytest.mark.slow

BUCKET = "quanyi-statements-test"


@pytest.fixture
def s3_storage(moto_server: str, settings: Any) -> Any:
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=moto_server, **credentials)
    if BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **django_settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": moto_server,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "default_acl": None,
            },
        },
    }
    return s3


def _statement_with_usage(test_bank: BankUnderTest) -> Any:
    make_account(test_bank.bank, make_plan(code=f"pdf-{test_bank.bank.slug}"))
    for index, moment in enumerate(moments_this_month(6)):
        services.usage_record_order_succeeded(
            bank=test_bank.bank,
            order_ref=f"PDF-{index}",
            campaign_ref="cmp-pdf",
            campaign_name="信用卡首刷有礼",
            product_sku=f"SKU-{index % 2}",
            product_name=["话费直充 30 元", "腾讯视频会员月卡"][index % 2],
            price_fen=2_990 + index,
            occurred_at=moment,
        )
    from django.utils import timezone

    from billing.selectors import month_start

    return services.statement_generate(bank=test_bank.bank, month=month_start(timezone.now()))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed")
def test_statement_pdf_shows_chinese_and_comes_back_from_s3(
    bank_a: BankUnderTest, s3_storage: Any, tmp_path: Path
) -> None:
    statement = _statement_with_usage(bank_a)
    assert statement.pdf_name == statement_storage_name(bank=bank_a.bank, month=statement.month)
    # the object is on the S3 server, byte for byte what the bank console hands out
    stored = s3_storage.get_object(Bucket=BUCKET, Key=statement.pdf_name)["Body"].read()
    response = bank_client(bank_a, login="auditor").get(f"/console/billing/statements/{statement.pk}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content == stored and stored.startswith(b"%PDF")

    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(stored)
    # the glyphs come from an embedded CJK font, not from a fallback that would draw empty boxes
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts, fonts
    subprocess.run(
        ["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    page = Image.open(tmp_path / "page-1.png").convert("L")
    width, height = page.size
    # the title 月度对账单 (18pt, top left) is drawn: dark pixels in its band, and the page has ink
    title = page.crop((int(width * 0.06), int(height * 0.06), int(width * 0.30), int(height * 0.105)))
    title_ink = sum(title.histogram()[:128]) / (title.size[0] * title.size[1])
    assert 0.05 < title_ink < 0.6, title_ink
    assert sum(page.histogram()[:128]) > 5_000


def test_only_the_banks_admins_and_auditors_see_its_statements(
    bank_a: BankUnderTest, bank_b: BankUnderTest, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    statement = _statement_with_usage(bank_a)
    url = f"/console/billing/statements/{statement.pk}/download/"
    admin = bank_client(bank_a, login="admin")
    page = admin.get("/console/billing/").content.decode()
    assert statement.month.strftime("%Y-%m") in page and url in page
    assert admin.get(url).status_code == 200
    assert bank_client(bank_a, login="operator").get(url).status_code == 403
    # the same statement id on another bank's host is not found
    assert bank_client(bank_b, login="admin").get(url).status_code == 404
    assert bank_client(bank_b, login="admin").get("/console/billing/").content.decode().count("下载 PDF") == 0


def test_platform_staff_download_statements_from_the_platform_console(
    bank_a: BankUnderTest, platform_client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    statement = _statement_with_usage(bank_a)
    staff = User.objects.create_superuser(username="staff-h8", password="Staff-pass-123", email="s@example.com")
    platform_client.force_login(staff)
    listing = platform_client.get("/admin/billing/statement/").content.decode()
    download = f"/admin/billing/statement/{statement.pk}/download/"
    assert download in listing
    response = platform_client.get(download)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
