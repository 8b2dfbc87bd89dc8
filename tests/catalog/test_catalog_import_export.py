"""Platform staff import and export the shared catalogue: a file with any bad row changes nothing
and lists every row error; a good file creates and updates by SKU; an export imports back as is."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from accounts.models import User
from rights_catalog.catalog_files import CatalogImportError, catalog_export, catalog_import
from rights_catalog.models import RightsProduct
from tests.catalog import factories

HEADER = "sku,name,name_en,category,face_value_fen,list_price_fen,delivery_type,account_format,cardholder_text,active\n"


def csv_bytes(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture
def phone_category(db: None):  # type: ignore[no-untyped-def]
    return factories.category(code="phone-topup-t", name="话费充值")


def test_good_csv_creates_and_updates_products_by_sku(phone_category) -> None:  # type: ignore[no-untyped-def]
    existing = factories.product(sku="T-CM-50", category=phone_category, name="旧名称", list_price_fen=1)

    report = catalog_import(
        content=csv_bytes(
            "T-CM-50,中国移动话费50元,China Mobile 50,phone-topup-t,5000,4950,direct,mobile,充值到手机号,1",
            "t-cu-100,中国联通话费100元,,phone-topup-t,10000,9900,直充到账,大陆手机号,,是",
        ),
        filename="catalogue.csv",
    )

    assert (report.created, report.updated) == (1, 1)
    existing.refresh_from_db()
    assert existing.name == "中国移动话费50元" and existing.list_price_fen == 4950
    new = RightsProduct.objects.get(sku="T-CU-100")
    assert new.delivery_type == "direct" and new.account_format == "mobile" and new.active


def test_csv_with_bad_rows_is_rejected_with_every_row_error_and_changes_nothing(phone_category) -> None:  # type: ignore[no-untyped-def]
    existing = factories.product(sku="T-CM-30", category=phone_category, name="原名称", list_price_fen=2990)
    before = set(RightsProduct.objects.values_list("sku", "name", "list_price_fen"))
    content = csv_bytes(
        "T-CM-30,中国移动话费30元（改名）,,phone-topup-t,3000,2950,direct,mobile,,1",  # good, but must not apply
        "T-OK-1,好行,,phone-topup-t,1000,990,direct,mobile,,1",
        "T-BAD-1,,,no-such-category,abc,-5,teleport,fax,,maybe",
        "T-OK-1,重复的SKU,,phone-topup-t,1000,990,direct,mobile,,1",
        "T-DIRECT-NONE,直充却不要账号,,phone-topup-t,1000,990,direct,none,,1",
    )

    with pytest.raises(CatalogImportError) as raised:
        catalog_import(content=content, filename="bad.csv")

    errors = {(e.row, e.column) for e in raised.value.errors}
    assert {
        (4, "name"),
        (4, "category"),
        (4, "face_value_fen"),
        (4, "list_price_fen"),
        (4, "delivery_type"),
        (4, "account_format"),
        (4, "active"),
        (5, "sku"),
        (6, "account_format"),
    } == errors
    assert raised.value.code == "catalog.import_invalid"
    assert raised.value.as_dict()["error"]["rows"][0]["row"] == 4
    assert set(RightsProduct.objects.values_list("sku", "name", "list_price_fen")) == before
    existing.refresh_from_db()
    assert existing.name == "原名称"


def test_missing_columns_are_refused(phone_category) -> None:  # type: ignore[no-untyped-def]
    from platform.errors import ApplicationError

    with pytest.raises(ApplicationError) as raised:
        catalog_import(content=b"sku,name\nA-1,x\n", filename="x.csv")
    assert raised.value.code == "catalog.import_columns"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_imports_back_unchanged(phone_category, file_format: str) -> None:  # type: ignore[no-untyped-def]
    for sku in ("T-RT-1", "T-RT-2"):
        factories.product(sku=sku, category=phone_category, cardholder_text='到账后请查收短信，含逗号,和引号"')
    products = RightsProduct.objects.filter(sku__startswith="T-RT-").select_related("category")
    before = sorted(products.values_list("sku", "name", "list_price_fen", "cardholder_text", "active"))

    content = catalog_export(file_format=file_format, products=products)
    report = catalog_import(content=content, filename=f"export.{file_format}")

    assert (report.created, report.updated) == (0, 2)
    assert sorted(products.values_list("sku", "name", "list_price_fen", "cardholder_text", "active")) == before


def test_xlsx_with_a_bad_row_is_rejected(phone_category) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(["T-X-1", "好", "", "phone-topup-t", 1000, 990, "direct", "mobile", "", 1])
    sheet.append(["T-X-2", "坏", "", "phone-topup-t", "一千", 990, "direct", "mobile", "", 1])
    buffer = io.BytesIO()
    workbook.save(buffer)

    with pytest.raises(CatalogImportError) as raised:
        catalog_import(content=buffer.getvalue(), filename="bad.xlsx")

    assert [(e.row, e.column) for e in raised.value.errors] == [(3, "face_value_fen")]
    assert not RightsProduct.objects.filter(sku="T-X-1").exists()


def test_console_import_page_shows_row_errors_and_imports_nothing(platform_client: Client, phone_category) -> None:  # type: ignore[no-untyped-def]
    staff = User.objects.create_superuser(username="catalog-staff", password="x-Pass-12345")
    platform_client.force_login(staff)
    upload = io.BytesIO(
        csv_bytes("T-WEB-1,网页导入,,phone-topup-t,1000,990,direct,mobile,,1", "T-WEB-2,,,nope,1,1,direct,mobile,,1")
    )
    upload.name = "catalogue.csv"

    response = platform_client.post("/admin/rights_catalog/rightsproduct/import/", {"file": upload})

    page = response.content.decode()
    assert response.status_code == 200
    assert "未做任何修改" in page and 'id="import-errors"' in page and "分类 nope 不存在" in page
    assert not RightsProduct.objects.filter(sku__startswith="T-WEB-").exists()


def test_console_exports_the_catalogue(platform_client: Client, phone_category) -> None:  # type: ignore[no-untyped-def]
    staff = User.objects.create_superuser(username="catalog-staff", password="x-Pass-12345")
    platform_client.force_login(staff)
    factories.product(sku="T-EXP-1", category=phone_category, name="导出测试")

    response = platform_client.get("/admin/rights_catalog/rightsproduct/export/csv/")

    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert text.startswith("sku,name,") and "T-EXP-1,导出测试" in text


def test_staff_search_filter_and_withdraw_products_in_bulk(platform_client: Client, phone_category) -> None:  # type: ignore[no-untyped-def]
    staff = User.objects.create_superuser(username="catalog-staff", password="x-Pass-12345")
    platform_client.force_login(staff)
    fuel = factories.product(
        sku="T-FUEL-100", name="中国石化加油卡100元", delivery_type="card_secret", account_format="none"
    )
    phone = factories.product(sku="T-PHONE-100", name="中国移动话费100元", category=phone_category)

    found = platform_client.get("/admin/rights_catalog/rightsproduct/", {"q": "加油卡"}).content.decode()
    filtered = platform_client.get(
        "/admin/rights_catalog/rightsproduct/", {"delivery_type__exact": "card_secret"}
    ).content.decode()
    platform_client.post(
        "/admin/rights_catalog/rightsproduct/",
        {"action": "deactivate_selected", "_selected_action": [fuel.pk, phone.pk]},
    )

    assert "T-FUEL-100" in found and "T-PHONE-100" not in found
    assert "T-FUEL-100" in filtered and "T-PHONE-100" not in filtered
    assert not RightsProduct.objects.filter(pk__in=[fuel.pk, phone.pk], active=True).exists()
