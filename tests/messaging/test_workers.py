"""With real worker processes: per-number rules hold across workers, and a launch batch is sent
exactly once, paused and resumed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from messaging.backends import test as fake
from messaging.models import SmsBatchStatus, SmsKind, SmsMessage, SmsStatus
from messaging.services import sms_batch_create, sms_batch_pause, sms_batch_resume, sms_enqueue
from platform.crypto import digest
from tenants.models import Bank
from tenants.services import bank_create
from tests.messaging.support import use_fake_provider
from tests.support.processes import celery_worker, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_bank(committed_db) -> Iterator[Bank]:  # type: ignore[no-untyped-def]
    """A bank of its own: committed rows here disturb no other test."""
    yield bank_create(slug=f"sms{uuid.uuid4().hex[:8]}", name="短信测试银行")


def _all_final(ids: list[int]) -> bool:
    return not SmsMessage.objects.filter(pk__in=ids, status__in=[SmsStatus.QUEUED, SmsStatus.SENDING]).exists()


def test_per_number_rules_hold_across_two_workers(fresh_bank: Bank) -> None:
    otp_phone, promo_phone = "13811110000", "13822220000"
    with schema_context(fresh_bank.schema_name):
        _account, key = use_fake_provider(promotional_daily_max=2)
        with transaction.atomic():
            ids = [
                sms_enqueue(
                    kind=SmsKind.OTP, phone=otp_phone, template_key="otp", params={"code": f"{i:06d}", "expiry": "5"}
                ).pk
                for i in range(12)
            ] + [
                sms_enqueue(
                    kind=SmsKind.CODE_DELIVERY,
                    phone=promo_phone,
                    template_key="resend",
                    params={"code": f"P{i}", "link": "/s/x", "expiry": "12-31"},
                ).pk
                for i in range(8)
            ]
        with celery_worker(queues="sms"), celery_worker(queues="sms"):
            wait_for(lambda: _all_final(ids), timeout=60)
        received = fake.received(key)
        by_number: dict[str, int] = {}
        for item in received:
            by_number[item["phone_digest"]] = by_number.get(item["phone_digest"], 0) + 1
        assert by_number == {digest(otp_phone, purpose="phone"): 1, digest(promo_phone, purpose="phone"): 2}
        assert SmsMessage.objects.filter(pk__in=ids, status=SmsStatus.FAILED, error_code="number_limit").count() == 17


def test_a_launch_batch_is_sent_exactly_once_after_pause_and_resume(fresh_bank: Bank) -> None:
    count = 2600
    with schema_context(fresh_bank.schema_name):
        _account, key = use_fake_provider()
        with transaction.atomic():
            batch = sms_batch_create(
                name="开业活动",
                source="tests.messaging.sources.numbered",
                source_kwargs={"count": count, "prefix": "launch"},
                template_key="code_delivery",
                kind=SmsKind.CODE_DELIVERY,
            )
            assert batch.total == count
            # paused before any worker ran: the expansion task finds it paused and stops
            sms_batch_pause(batch=batch)
        with celery_worker(queues="sms,bulk"):
            time.sleep(3)
            assert fake.received_count(key) == 0
            batch.refresh_from_db()
            assert batch.expanded == 0
            sms_batch_resume(batch=batch)
            wait_for(lambda: fake.received_count(key) >= count, timeout=90)
            wait_for(lambda: SmsMessage.objects.filter(batch=batch, status=SmsStatus.SENT).count() == count, timeout=30)
            time.sleep(1)
        batch.refresh_from_db()
        assert batch.status == SmsBatchStatus.DONE and batch.expanded == count
        received = fake.received(key)
        assert len(received) == count
        assert len({item["message_id"] for item in received}) == count
        assert len({item["phone_digest"] for item in received}) == count
