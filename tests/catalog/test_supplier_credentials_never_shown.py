"""A supplier's secret, once entered in the console, appears in no page, no log line, no audit row
and no answer of ours; it is stored encrypted and still signs the requests to the supplier."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AuditEntry, User
from fulfillment.suppliers import Accepted, SubmitRequest, adapter_for
from rights_catalog.models import Supplier
from tests.support.simulator import SimulatorHandle, simulator_credentials, supplier_simulator

SIMULATOR_PORT = 18120


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with supplier_simulator(port=SIMULATOR_PORT) as handle:
        yield handle


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["md5form", "hmacjson"])
def test_supplier_secret_is_write_only(
    dialect: str, simulator: SimulatorHandle, platform_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = simulator_credentials(dialect)["key" if dialect == "md5form" else "secret"]
    staff = User.objects.create_superuser(username="supplier-staff", password="x-Pass-12345")
    platform_client.force_login(staff)
    pages: list[str] = []

    add = platform_client.post(
        "/admin/rights_catalog/supplier/add/",
        {
            "code": f"grep-{dialect}",
            "name": "凭据测试供应商",
            "dialect": dialect,
            "endpoint": simulator.url,
            "merchant_id": simulator_credentials(dialect)["merchant_id"],
            "new_secret": secret,
            "callback_ip_allowlist": "127.0.0.1\n10.0.0.0/8",
            "status": "active",
            "connect_timeout_s": "1",
            "read_timeout_s": "3",
            "query_delay_s": "0",
            "balance_alert_fen": "100000",
            "success_rate_alert_percent": "90",
        },
        follow=True,
    )
    assert add.status_code == 200
    pages.append(add.content.decode())
    supplier = Supplier.objects.get(code=f"grep-{dialect}")
    assert supplier.credentials_encrypted and secret not in supplier.credentials_encrypted

    # the secret works: a signed order is accepted by the simulator
    result = adapter_for(supplier).submit(
        SubmitRequest(
            order_number=f"GREP{dialect}", supplier_sku="MOBILE-CM-50", account="13812345678", amount_fen=5000
        )
    )
    assert isinstance(result, Accepted)
    balance_check = platform_client.post(
        "/admin/rights_catalog/supplier/",
        {"action": "health_check_selected", "_selected_action": [supplier.pk]},
        follow=True,
    )
    pages.append(balance_check.content.decode())

    for url in (
        "/admin/rights_catalog/supplier/",
        f"/admin/rights_catalog/supplier/{supplier.pk}/change/",
        f"/admin/rights_catalog/supplier/{supplier.pk}/history/",
        "/admin/rights_catalog/supplier/?q=grep",
        "/admin/rights_catalog/supplieroffer/",
        "/admin/rights_catalog/supplieralert/",
        "/admin/accounts/auditentry/",
        "/admin/",
    ):
        response = platform_client.get(url)
        assert response.status_code in (200, 404), url
        pages.append(response.content.decode())
    # saving the change form without a new secret keeps the old one
    change = platform_client.get(f"/admin/rights_catalog/supplier/{supplier.pk}/change/")
    assert "已设置" in change.content.decode()
    encrypted_before = supplier.credentials_encrypted
    platform_client.post(
        f"/admin/rights_catalog/supplier/{supplier.pk}/change/",
        {
            "code": supplier.code,
            "name": "凭据测试供应商（改名）",
            "dialect": dialect,
            "endpoint": simulator.url,
            "merchant_id": supplier.merchant_id,
            "new_secret": "",
            "callback_ip_allowlist": "127.0.0.1",
            "status": "active",
            "connect_timeout_s": "1",
            "read_timeout_s": "3",
            "query_delay_s": "0",
            "balance_alert_fen": "100000",
            "success_rate_alert_percent": "90",
        },
    )
    supplier.refresh_from_db()
    assert supplier.name.endswith("（改名）") and supplier.credentials_encrypted == encrypted_before

    for page in pages:
        assert secret not in page
    assert all(secret not in record.getMessage() for record in caplog.records)
    assert secret not in caplog.text
    audit_text = " ".join(str((a.before, a.after)) for a in AuditEntry.objects.all())
    assert "supplier.credentials_set" in " ".join(AuditEntry.objects.values_list("action", flat=True))
    assert secret not in audit_text
    assert secret not in repr(adapter_for(supplier).config)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM rights_catalog_supplier WHERE credentials_encrypted LIKE %s", [f"%{secret}%"]
        )
        assert cursor.fetchone()[0] == 0
