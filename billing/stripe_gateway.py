"""The one place that talks to Stripe (or the local fake, through `STRIPE_API_BASE`).

Everything here is a thin call of the official library; the rules (what to create when, what a
failure means for our rows) live in `billing.services`.
"""

from __future__ import annotations

import threading
from typing import Any

import stripe
from django.conf import settings

# Two meters price the usage: a count of fulfilled rights (priced at the plan's fee per right) and
# the rights' cost in fen (priced at 1 fen per unit: the bank's price passed through).
METER_RIGHTS = "quanyi_rights_fulfilled"
METER_COST = "quanyi_rights_cost_fen"
METERS = {
    METER_RIGHTS: "已履约权益笔数",
    METER_COST: "权益成本（分）",
}
HTTP_TIMEOUT_S = 10

_meter_ids: dict[str, dict[str, str]] = {}
_meter_lock = threading.Lock()


class StripeUnavailableError(Exception):
    """Stripe did not answer, or answered with a server error: the outcome may be unknown."""


_clients: dict[tuple[str, str], stripe.StripeClient] = {}


def stripe_client() -> stripe.StripeClient:
    """One client per key and base address (it keeps its HTTP connections per thread)."""
    key = (settings.STRIPE_API_KEY, settings.STRIPE_API_BASE)
    client = _clients.get(key)
    if client is None:
        base = settings.STRIPE_API_BASE or None
        addresses: Any = {"api": base, "meter_events": base} if base else None
        # retries are ours (the periodic report task), with the same idempotency keys
        client = stripe.StripeClient(
            settings.STRIPE_API_KEY,
            base_addresses=addresses,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=HTTP_TIMEOUT_S),
        )
        _clients[key] = client
    return client


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailableError(str(error)) from error
    except stripe.APIError as error:  # 5xx: may or may not have happened
        raise StripeUnavailableError(str(error)) from error


def meter_ids() -> dict[str, str]:
    """event name → meter id, creating the meters the first time."""
    key = settings.STRIPE_API_BASE or "stripe"
    with _meter_lock:
        if key in _meter_ids and set(_meter_ids[key]) == set(METERS):
            return _meter_ids[key]
        client = stripe_client()
        found: dict[str, str] = {}
        for meter in _call(client.v1.billing.meters.list, {"status": "active", "limit": 100}).auto_paging_iter():
            if meter.event_name in METERS:
                found[meter.event_name] = meter.id
        for event_name, display_name in METERS.items():
            if event_name not in found:
                meter = _call(
                    client.v1.billing.meters.create,
                    {
                        "display_name": display_name,
                        "event_name": event_name,
                        "default_aggregation": {"formula": "sum"},
                        "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
                        "value_settings": {"event_payload_key": "value"},
                    },
                    {"idempotency_key": f"meter-{event_name}"},
                )
                found[event_name] = meter.id
        _meter_ids[key] = found
        return found


def product_create(*, name: str, plan_code: str) -> str:
    product = _call(stripe_client().v1.products.create, {"name": name, "metadata": {"quanyi_plan": plan_code}})
    return str(product.id)


def price_create(
    *, product_id: str, currency: str, unit_amount: int, nickname: str, meter_event: str | None, key: str
) -> str:
    recurring: dict[str, Any] = {"interval": "month"}
    if meter_event is not None:
        recurring |= {"usage_type": "metered", "meter": meter_ids()[meter_event]}
    price = _call(
        stripe_client().v1.prices.create,
        {
            "product": product_id,
            "currency": currency,
            "unit_amount": unit_amount,
            "nickname": nickname,
            "recurring": recurring,
        },
        {"idempotency_key": key},
    )
    return str(price.id)


def customer_upsert(*, customer_id: str, name: str, email: str, metadata: dict[str, str], key: str) -> str:
    client = stripe_client()
    params: Any = {"name": name, "metadata": metadata, **({"email": email} if email else {})}
    if customer_id:
        try:
            return str(_call(client.v1.customers.update, customer_id, params).id)
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise
    return str(_call(client.v1.customers.create, params, {"idempotency_key": key}).id)


def subscription_upsert(*, subscription_id: str, customer_id: str, price_ids: list[str], key: str) -> str:
    """A subscription of the customer with exactly these prices (items swapped when they differ)."""
    client = stripe_client()
    if subscription_id:
        try:
            subscription = _call(client.v1.subscriptions.retrieve, subscription_id)
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise
            subscription = None
        if subscription is not None and subscription.status != "canceled":
            current = {item.price.id: item.id for item in subscription["items"].data}
            if set(current) == set(price_ids):
                return str(subscription.id)
            items: Any = [
                {"id": item_id, "deleted": True} for price, item_id in current.items() if price not in price_ids
            ]
            items += [{"price": price} for price in price_ids if price not in current]
            return str(_call(client.v1.subscriptions.update, subscription_id, {"items": items}).id)
    subscription = _call(
        client.v1.subscriptions.create,
        {
            "customer": customer_id,
            "items": [{"price": price} for price in price_ids],
            "collection_method": "send_invoice",
            "days_until_due": 15,
        },
        {"idempotency_key": key},
    )
    return str(subscription.id)


def meter_event_send(*, identifier: str, event_name: str, customer_id: str, value: int, timestamp: int) -> None:
    """Report one meter event. A retry uses the same idempotency key and identifier, so Stripe
    answers the first outcome again (or refuses a duplicate identifier) instead of counting twice."""
    try:
        _call(
            stripe_client().v1.billing.meter_events.create,
            {
                "event_name": event_name,
                "identifier": identifier,
                "timestamp": timestamp,
                "payload": {"stripe_customer_id": customer_id, "value": str(value)},
            },
            {"idempotency_key": identifier},
        )
    except stripe.InvalidRequestError as error:
        if error.code == "resource_already_exists" and error.param == "identifier":
            return  # reported before, by an attempt whose answer we never saw
        raise


def meter_usage(*, event_name: str, customer_id: str, start: int, end: int) -> float:
    """What Stripe has aggregated for a customer on a meter in [start, end)."""
    meter_id = meter_ids()[event_name]
    summaries = _call(
        stripe_client().v1.billing.meters.event_summaries.list,
        meter_id,
        {"customer": customer_id, "start_time": start, "end_time": end},
    )
    return float(sum(summary.aggregated_value for summary in summaries.data))
