"""Celery tasks of the fulfilment engine: thin, idempotent wrappers that take ids and run in the bank
schema they were sent from (tenant-aware Celery). Queues: `fulfilment` (submissions), `queries`
(status queries and the sweeper). `acks_late` + reject-on-worker-lost are global settings: a task
killed mid-way is redelivered, and the engine's state under the row lock decides what a repeat does."""

from __future__ import annotations

from celery import shared_task

from fulfillment import engine


@shared_task(name="fulfillment.order_submit", acks_late=True)
def order_submit_task(*, order_id: int) -> str:
    return engine.order_submit(order_id=order_id)


@shared_task(name="fulfillment.orders_drain", acks_late=False)
def orders_drain_task() -> int:
    """Acknowledged on receipt: a redelivery could not bring back the ids it took from Redis (the
    sweeper does, from the orders still `created` or `submitting`)."""
    return engine.orders_drain()


@shared_task(name="fulfillment.order_query", acks_late=True)
def order_query_task(*, order_id: int, force: bool = False) -> str:
    return engine.order_query(order_id=order_id, force=force)


@shared_task(name="fulfillment.sweep", acks_late=True)
def orders_sweep_task() -> dict[str, int]:
    return engine.orders_sweep()


@shared_task(name="fulfillment.bench_noop")
def bench_noop_task(*, counter: str = "") -> None:
    """Does nothing but count itself: the bare-Celery baseline of bench/fulfil.py."""
    if counter:
        from platform.redis import get_redis

        get_redis().incr(counter)


@shared_task(name="fulfillment.reconcile", acks_late=True)
def reconcile_task(*, day: str = "") -> dict[str, dict[str, int] | None]:
    from datetime import date

    from fulfillment.reconcile import reconcile_day

    return reconcile_day(day=date.fromisoformat(day) if day else None)


@shared_task(name="fulfillment.webhook_deliver", acks_late=True)
def webhook_deliver_task(*, delivery_id: int) -> str:
    from fulfillment.webhooks import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)
