"""Entry points of the fulfilment engine used by the rest of the platform."""

from __future__ import annotations


def orders_start(*, order_ids: list[int]) -> None:
    """Hand new orders to the engine (called on commit of the redemption that created them). An order
    lost on the way (a crash, Redis or the broker down) is found by the sweeper within a minute."""
    from fulfillment.engine import orders_submit_soon

    orders_submit_soon(order_ids=order_ids)
