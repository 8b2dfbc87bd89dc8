"""The bank console's SMS pages: who may see and change what, and secrets never shown again."""

from __future__ import annotations

from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from messaging.models import SmsProviderAccount
from messaging.services import provider_credentials
from tests.conftest import BankUnderTest, bank_client


def test_staff_see_the_outbox_and_templates(bank_a: BankUnderTest) -> None:
    auditor = bank_client(bank_a, login="auditor")
    assert auditor.get("/console/sms/").status_code == 200
    page = auditor.get("/console/sms/templates/").content.decode()
    assert "code_delivery" in page and "【阿尔法银行】" in page
    assert auditor.get("/console/sms/provider/").status_code == 403


def test_an_operator_previews_a_template_with_its_length_and_segments(bank_a: BankUnderTest) -> None:
    operator = bank_client(bank_a, login="operator")
    response = operator.post(
        "/console/sms/templates/",
        {
            "key": "otp",
            "name": "验证码",
            "signature": "阿尔法银行",
            "text": "验证码${code}" + "长" * 70,
            "action": "preview",
        },
    )
    page = response.content.decode()
    assert "共 89 字，按 2 条计费" in page  # 【阿尔法银行】7 + 验证码 3 + sample code 9 + 70


def test_an_admin_chooses_a_provider_and_the_credentials_are_kept_encrypted(bank_a: BankUnderTest) -> None:
    admin = bank_client(bank_a, login="admin")
    response = admin.post(
        "/console/sms/provider/",
        {
            "backend": "sns",
            "name": "AWS",
            "cred_region": "ap-southeast-1",
            "cred_access_key_id": "AKIAEXAMPLE",
            "cred_secret_access_key": "very-secret-value",
            "rate_per_s": "50",
            "promotional_daily_max": "2",
            "quiet_start_hour": "21",
            "quiet_end_hour": "8",
        },
    )
    assert response.status_code == 302
    with schema_context(bank_a.schema):
        account = SmsProviderAccount.objects.get(is_active=True)
        assert account.backend == "sns" and account.rate_per_s == 50
        assert "very-secret-value" not in account.credentials_encrypted
        assert provider_credentials(account)["secret_access_key"] == "very-secret-value"
        entry = AuditEntry.objects.get(action="sms.provider_save")
        assert "very-secret-value" not in str(entry.after)
    page = admin.get("/console/sms/provider/").content.decode()
    assert "very-secret-value" not in page and f"/sms/receipts/sns/{account.receipt_token}/" in page
