"""Entry points of the fulfilment engine used by the rest of the platform."""

from __future__ import annotations

from celery import current_app


def orders_start(*, order_ids: list[int]) -> None:
    """Hand new orders to the engine (called on commit of the redemption that created them)."""
    for order_id in order_ids:
        current_app.send_task("fulfillment.order_submit", kwargs={"order_id": order_id}, queue="fulfilment")
