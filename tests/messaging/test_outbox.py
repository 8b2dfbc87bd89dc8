"""The outbox: every text is a row first, sent once, and its events tell the story."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from messaging.backends import test as fake
from messaging.models import SmsEvent, SmsKind, SmsMessage, SmsStatus
from messaging.services import (
    sms_enqueue,
    sms_operator_decide,
    sms_query,
    sms_send,
    sms_sweep,
    template_preview,
    template_save,
)
from platform.crypto import digest
from platform.errors import ApplicationError
from tests.conftest import BankUnderTest
from tests.messaging.support import use_fake_provider

PHONE = "13812345678"


def _events(message: SmsMessage) -> list[str]:
    return list(SmsEvent.objects.filter(message=message).values_list("status", flat=True))


def test_a_message_is_stored_encrypted_and_sent_once(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        _account, key = use_fake_provider()
        message = sms_enqueue(
            kind=SmsKind.ARRIVAL,
            phone=PHONE,
            template_key="arrival",
            params={"right_name": "视频会员", "arrival_text": "请在App内查看"},
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM messaging_smsmessage WHERE id = %s", [message.pk])
            assert PHONE not in repr(cursor.fetchone())
        assert message.phone_masked == "138****5678"
        assert message.phone_digest == digest(PHONE, purpose="phone")
        sms_send(message_ids=[message.pk])
        sms_send(message_ids=[message.pk])  # a redelivered task
        message.refresh_from_db()
        assert message.status == SmsStatus.SENT
        assert message.provider_message_id.startswith("test-")
        assert _events(message) == ["queued", "sending", "sent"]
        received = fake.received(key)
        assert len(received) == 1
        assert received[0]["text"] == "【阿尔法银行】您兑换的视频会员已到账。请在App内查看"


def test_the_same_dedupe_key_is_one_message(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        use_fake_provider()
        first = sms_enqueue(
            kind=SmsKind.CODE_DELIVERY,
            phone=PHONE,
            template_key="resend",
            params={"code": "ABCD", "link": "x", "expiry": "12-31"},
            dedupe_key="grant:1",
        )
        again = sms_enqueue(
            kind=SmsKind.CODE_DELIVERY,
            phone=PHONE,
            template_key="resend",
            params={"code": "ABCD", "link": "x", "expiry": "12-31"},
            dedupe_key="grant:1",
        )
        assert again.pk == first.pk
        assert SmsMessage.objects.filter(dedupe_key="grant:1").count() == 1


@pytest.mark.parametrize(
    ("phone", "template_key", "params", "code"),
    [
        ("12345", "otp", {"code": "1", "expiry": "5"}, "sms.bad_phone"),
        (PHONE, "nope", {}, "sms.template_missing"),
        (PHONE, "otp", {"code": "1"}, "sms.params_missing"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    bank_a: BankUnderTest, phone: str, template_key: str, params: dict[str, str], code: str
) -> None:
    with schema_context(bank_a.schema):
        with pytest.raises(ApplicationError) as caught:
            sms_enqueue(kind=SmsKind.OTP, phone=phone, template_key=template_key, params=params)
        assert caught.value.code == code
        assert not SmsMessage.objects.exists()


def _otp_message(phone: str = PHONE) -> SmsMessage:
    return sms_enqueue(kind=SmsKind.ARRIVAL, phone=phone, template_key="otp", params={"code": "123456", "expiry": "5"})


def test_a_timeout_is_queried_and_never_blindly_resent(bank_a: BankUnderTest) -> None:
    """The provider took the text but we never heard back: no second text; the query finds it."""
    with schema_context(bank_a.schema):
        _account, key = use_fake_provider()
        fake.script_outcomes(key, ["timeout_accepted"])
        message = _otp_message()
        summary = sms_send(message_ids=[message.pk])
        assert summary.unknown == [message.pk]
        message.refresh_from_db()
        assert message.status == SmsStatus.UNKNOWN
        # a redelivered task and the sweeper both leave it alone
        sms_send(message_ids=[message.pk])
        SmsMessage.objects.filter(pk=message.pk).update(updated_at=timezone.now() - timedelta(hours=1))
        sms_sweep()
        assert fake.received_count(key) == 1
        assert sms_query(message_ids=[message.pk]) == {"accepted": 1}
        message.refresh_from_db()
        assert message.status == SmsStatus.SENT
        assert fake.received_count(key) == 1
        assert _events(message) == ["queued", "sending", "unknown", "sent"]


def test_a_timeout_the_provider_never_saw_is_sent_again_only_after_the_query(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        _account, key = use_fake_provider()
        fake.script_outcomes(key, ["timeout_lost"])
        message = _otp_message()
        sms_send(message_ids=[message.pk])
        sms_send(message_ids=[message.pk])
        assert fake.received_count(key) == 0
        assert sms_query(message_ids=[message.pk]) == {"not_found": 1}
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
        assert message.status == SmsStatus.SENT
        assert fake.received_count(key) == 1
        assert _events(message) == ["queued", "sending", "unknown", "queued", "sending", "sent"]


def test_not_accepted_is_retried_with_backoff_and_a_final_refusal_is_not(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        _account, key = use_fake_provider()
        fake.script_outcomes(key, ["reject", "reject_final"])
        first, second = _otp_message(), _otp_message("13900001111")
        summary = sms_send(message_ids=[first.pk, second.pk])
        assert summary.retry == [first.pk]
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == SmsStatus.QUEUED and first.not_before is not None
        assert first.not_before > timezone.now() + timedelta(seconds=20)
        assert second.status == SmsStatus.FAILED and second.error_code == "invalid_number"
        sms_send(message_ids=[first.pk])  # too early: stays queued
        assert fake.received_count(key) == 0
        SmsMessage.objects.filter(pk=first.pk).update(not_before=timezone.now() - timedelta(hours=1))
        sms_send(message_ids=[first.pk])
        first.refresh_from_db()
        assert first.status == SmsStatus.SENT and first.attempts == 2


def test_promotional_texts_wait_for_the_end_of_quiet_hours(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        local_hour = timezone.localtime().hour
        _account, key = use_fake_provider(quiet_start_hour=local_hour, quiet_end_hour=(local_hour + 2) % 24)
        promo = sms_enqueue(
            kind=SmsKind.CODE_DELIVERY,
            phone=PHONE,
            template_key="resend",
            params={"code": "ABCD", "link": "x", "expiry": "12-31"},
        )
        otp = _otp_message("13900002222")
        summary = sms_send(message_ids=[promo.pk, otp.pk])
        assert summary.deferred == 1
        promo.refresh_from_db()
        assert promo.status == SmsStatus.QUEUED and promo.not_before is not None and promo.not_before > timezone.now()
        assert [r["kind"] for r in fake.received(key)] == ["arrival"]


def test_one_time_codes_are_held_to_one_a_minute_per_number(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        _account, key = use_fake_provider()
        phone = "13700000001"
        ids = [
            sms_enqueue(kind=SmsKind.OTP, phone=phone, template_key="otp", params={"code": str(i), "expiry": "5"}).pk
            for i in range(3)
        ]
        sms_send(message_ids=ids)
        statuses = sorted(SmsMessage.objects.filter(pk__in=ids).values_list("status", "error_code"))
        assert statuses == [("failed", "number_limit"), ("failed", "number_limit"), ("sent", "")]
        assert fake.received_count(key) == 1


def test_an_unknown_outcome_waits_for_an_operator_when_the_provider_cannot_be_asked(bank_a: BankUnderTest) -> None:
    from accounts.models import AuditEntry, User

    with schema_context(bank_a.schema):
        _account, key = use_fake_provider()
        fake.script_outcomes(key, ["timeout_lost"])
        message = _otp_message()
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
        with pytest.raises(ApplicationError):
            sms_operator_decide(message=message, decision="maybe", actor=None)
        operator = User.objects.get(username="operator")
        sms_operator_decide(message=message, decision="resend", actor=operator)
        message.refresh_from_db()
        assert message.status == SmsStatus.QUEUED
        assert AuditEntry.objects.filter(action="sms.operator_resend", target_id=str(message.pk)).exists()
        with pytest.raises(ApplicationError) as caught:
            sms_operator_decide(message=message, decision="resend", actor=operator)
        assert caught.value.code == "sms.not_unknown"


def test_stale_one_time_codes_expire_instead_of_being_sent(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        _account, key = use_fake_provider()
        message = sms_enqueue(kind=SmsKind.OTP, phone=PHONE, template_key="otp", params={"code": "1", "expiry": "5"})
        SmsMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=6))
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
        assert message.status == SmsStatus.EXPIRED
        assert fake.received_count(key) == 0


def test_template_preview_counts_length_and_segments(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        short = template_preview(signature="阿尔法银行", text="验证码${code}")
        assert short.segments == 1 and short.text.startswith("【阿尔法银行】验证码")
        long = template_preview(signature="阿尔法银行", text="很" * 80)
        assert long.length == 87 and long.segments == 2
        template_save(key="otp", name="验证码", signature="阿尔法", text="码${code}，${expiry}分钟")
        message = sms_enqueue(kind=SmsKind.OTP, phone=PHONE, template_key="otp", params={"code": "9", "expiry": "5"})
        _account, key = use_fake_provider()
        sms_send(message_ids=[message.pk])
        assert fake.received(key)[0]["text"] == "【阿尔法】码9，5分钟"


def test_receipts_are_verified_idempotent_and_never_cross_banks(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    from django.test import Client

    with schema_context(bank_b.schema):
        account_b, _key_b = use_fake_provider()
    with schema_context(bank_a.schema):
        account_a, _key_a = use_fake_provider()
        message = _otp_message()
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
    body = json.dumps([{"event_id": "e1", "message_id": message.provider_message_id, "status": "DELIVRD"}]).encode()
    signature = fake.receipt_signature("receipt-secret-123", body)

    def post(test_bank: BankUnderTest, token: str, sig: str) -> tuple[int, dict[str, int]]:
        response = Client(HTTP_HOST=test_bank.host).post(
            f"/sms/receipts/test/{token}/", body, content_type="application/json", HTTP_X_TEST_SIGNATURE=sig
        )
        return response.status_code, response.json()

    # bank B's own address and secret, bank A's message id: nothing happens anywhere
    assert post(bank_b, account_b.receipt_token, signature)[1]["unmatched"] == 1
    # bank A's address on bank B's host: unknown there
    assert post(bank_b, account_a.receipt_token, signature)[0] == 404
    # forged
    assert post(bank_a, account_a.receipt_token, hashlib.sha256(b"x").hexdigest())[0] == 403
    with schema_context(bank_a.schema):
        message.refresh_from_db()
        assert message.status == SmsStatus.SENT
    status, counts = post(bank_a, account_a.receipt_token, signature)
    assert status == 200 and counts["applied"] == 1
    assert post(bank_a, account_a.receipt_token, signature)[1]["duplicate"] == 1
    with schema_context(bank_a.schema):
        message.refresh_from_db()
        assert message.status == SmsStatus.DELIVERED
        assert _events(message) == ["queued", "sending", "sent", "delivered"]
