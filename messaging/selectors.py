"""Reads for the console: messages (masked), counts by status, batch progress."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from messaging.models import SmsBatch, SmsMessage, SmsStatus


def sms_messages(*, status: str = "", phone_digest: str = "") -> QuerySet[SmsMessage]:
    messages = SmsMessage.objects.order_by("-pk")
    if status:
        messages = messages.filter(status=status)
    if phone_digest:
        messages = messages.filter(phone_digest=phone_digest)
    return messages


def sms_status_counts(*, batch: SmsBatch | None = None) -> dict[str, int]:
    messages = SmsMessage.objects.all() if batch is None else SmsMessage.objects.filter(batch=batch)
    counts = {row["status"]: row["n"] for row in messages.values("status").annotate(n=Count("pk")).order_by()}
    return {status: counts.get(status, 0) for status in SmsStatus.values}


@dataclass(frozen=True)
class BatchProgress:
    batch: SmsBatch
    counts: dict[str, int]
    done: int
    percent: int


def sms_batch_progress(*, batch: SmsBatch) -> BatchProgress:
    counts = sms_status_counts(batch=batch)
    done = sum(counts[s] for s in (SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.FAILED, SmsStatus.EXPIRED))
    total = batch.total or batch.expanded or 0
    percent = int(100 * done / total) if total else (100 if batch.status == "done" else 0)
    return BatchProgress(batch=batch, counts=counts, done=done, percent=min(percent, 100))
