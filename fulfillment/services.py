"""Entry points of the fulfilment engine used by the rest of the platform."""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger("quanyi.fulfilment")


def orders_start(*, order_ids: list[int]) -> None:
    """Hand new orders to the engine (called on commit of the redemption that created them). An order
    whose task is lost here (a crash, the broker down) is found by the sweeper within a minute."""
    for order_id in order_ids:
        current_app.send_task("fulfillment.order_submit", kwargs={"order_id": order_id}, queue="fulfilment")
    try:
        from fulfillment.engine import webhook_redemptions

        webhook_redemptions(order_ids=order_ids)
    except Exception:  # the bank's notification never holds up a cardholder's order
        logger.exception("redemption webhooks for orders %s not recorded", order_ids[:5])
