"""Celery tasks of the outbox: thin wrappers that take ids and call one service each. They run in
the schema they were sent from (tenant-aware Celery)."""

from __future__ import annotations

from celery import shared_task

from messaging import services
from platform.redis import get_redis


@shared_task(name="messaging.send", acks_late=True)
def sms_send_task(*, message_ids: list[int]) -> None:
    services.sms_send(message_ids=message_ids)


@shared_task(name="messaging.query", acks_late=True)
def sms_query_task(*, message_ids: list[int]) -> None:
    services.sms_query(message_ids=message_ids)


@shared_task(name="messaging.batch_expand", acks_late=True)
def sms_batch_expand_task(*, batch_id: int) -> None:
    # a few chunks per task keeps the broker traffic low; memory stays one chunk
    for _step in range(5):
        outcome = services.sms_batch_expand_step(batch_id=batch_id)
        if outcome == "stop":
            return
        if outcome == "wait":
            sms_batch_expand_task.apply_async(kwargs={"batch_id": batch_id}, queue="bulk", countdown=1)
            return
    sms_batch_expand_task.apply_async(kwargs={"batch_id": batch_id}, queue="bulk")


@shared_task(name="messaging.sweep")
def sms_sweep_task() -> None:
    services.sms_sweep()


@shared_task(name="messaging.bench_noop")
def sms_bench_noop_task(*, counter: str = "") -> None:
    """Does nothing but count itself: the baseline of bench/sms.py (bare enqueue-and-drain)."""
    if counter:
        get_redis().incr(counter)
