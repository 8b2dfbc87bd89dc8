"""A local fake of the parts of Stripe's API that billing uses, for development and tests.

It speaks Stripe's wire protocol (form-encoded bracket parameters in, JSON objects and `list`
envelopes out, Stripe's error shape, `Idempotency-Key` replays, bearer API keys), so the official
`stripe` library runs against it unmodified through `base_addresses`. State is kept in memory and,
with `state_file`, in a JSON file so the demo survives restarts.

Endpoints: products, prices, billing meters (create, list, event summaries), meter events,
customers (create, retrieve, update), subscriptions (create, retrieve, update). Anything under
`/_fake/` is ours, not Stripe's: `GET /_fake/state`, and `POST /_fake/faults` to make the next
meter-event requests fail (`{"meter_events_fail_before": n}`: answer 500 without recording,
`{"meter_events_fail_after": n}`: record, then answer 500 as if the response were lost).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Json = dict[str, Any]

PREFIXES = {
    "product": "prod",
    "price": "price",
    "billing.meter": "mtr",
    "billing.meter_event_summary": "mtrusg",
    "customer": "cus",
    "subscription": "sub",
    "subscription_item": "si",
}
METER_EVENT_MAX_AGE_S = 35 * 24 * 3600
METER_EVENT_MAX_FUTURE_S = 5 * 60
IDENTIFIER_WINDOW_S = 24 * 3600


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, code: str = "", param: str = "", type_: str = ""):
        super().__init__(message)
        self.status = status
        self.body: Json = {
            "error": {
                "type": type_ or "invalid_request_error",
                "message": message,
                **({"code": code} if code else {}),
                **({"param": param} if param else {}),
            }
        }


def parse_form(body: str) -> Json:
    """Stripe's form encoding: `a[b][0][c]=v` → {"a": {"b": [{"c": "v"}]}}."""
    root: Json = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _lists(value) for key, value in node.items()}
        if converted and all(key.isdigit() for key in converted):
            return [converted[key] for key in sorted(converted, key=int)]
        return converted
    return node


class FakeStripe:
    """The account's objects, behind one lock."""

    def __init__(self, *, state_file: Path | None = None):
        self.lock = threading.Lock()
        self.state_file = state_file
        self.objects: dict[str, Json] = {}
        self.meter_events: list[Json] = []
        self.idempotency: dict[str, Json] = {}
        self.faults: dict[str, int] = {}
        if state_file is not None and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.objects = saved["objects"]
            self.meter_events = saved["meter_events"]
            self.idempotency = saved["idempotency"]

    def save(self) -> None:
        if self.state_file is not None:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(
                json.dumps(
                    {"objects": self.objects, "meter_events": self.meter_events, "idempotency": self.idempotency}
                )
            )
            tmp.replace(self.state_file)

    def new_id(self, kind: str) -> str:
        return f"{PREFIXES[kind]}_{secrets.token_hex(12)}"

    def add(self, kind: str, fields: Json) -> Json:
        obj = {"id": self.new_id(kind), "object": kind, "created": int(time.time()), "livemode": False, **fields}
        self.objects[obj["id"]] = obj
        return obj

    def get(self, kind: str, object_id: str) -> Json:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise StripeError(404, f"No such {kind.split('.')[-1]}: '{object_id}'", code="resource_missing", param="id")
        return obj

    # --- resources ------------------------------------------------------------------------------
    def product_create(self, p: Json) -> Json:
        _require(p, "name")
        return self.add(
            "product", {"name": p["name"], "active": True, "metadata": p.get("metadata", {}), "type": "service"}
        )

    def price_create(self, p: Json) -> Json:
        _require(p, "currency")
        product = p.get("product")
        if not product:
            raise StripeError(400, "Missing required param: product.", code="parameter_missing", param="product")
        self.get("product", product)
        recurring = p.get("recurring")
        if recurring is not None:
            recurring = {
                "interval": recurring.get("interval", "month"),
                "interval_count": int(recurring.get("interval_count", 1)),
                "usage_type": recurring.get("usage_type", "licensed"),
                "meter": recurring.get("meter"),
            }
            if recurring["usage_type"] == "metered":
                if not recurring["meter"]:
                    raise StripeError(400, "Metered prices must be backed by a meter.", param="recurring[meter]")
                self.get("billing.meter", recurring["meter"])
        return self.add(
            "price",
            {
                "product": product,
                "currency": p["currency"].lower(),
                "unit_amount": int(p["unit_amount"]) if "unit_amount" in p else None,
                "unit_amount_decimal": p.get("unit_amount_decimal") or p.get("unit_amount"),
                "recurring": recurring,
                "type": "recurring" if recurring else "one_time",
                "active": True,
                "nickname": p.get("nickname"),
                "metadata": p.get("metadata", {}),
                "billing_scheme": "per_unit",
            },
        )

    def meter_create(self, p: Json) -> Json:
        _require(p, "display_name")
        _require(p, "event_name")
        for meter in self._of_kind("billing.meter"):
            if meter["event_name"] == p["event_name"] and meter["status"] == "active":
                raise StripeError(
                    400,
                    f"An active meter with event_name '{p['event_name']}' already exists.",
                    code="resource_already_exists",
                    param="event_name",
                )
        aggregation = p.get("default_aggregation") or {}
        if aggregation.get("formula") not in {"sum", "count", "last"}:
            raise StripeError(400, "Invalid default_aggregation[formula].", param="default_aggregation[formula]")
        mapping = p.get("customer_mapping") or {}
        value_settings = p.get("value_settings") or {}
        return self.add(
            "billing.meter",
            {
                "display_name": p["display_name"],
                "event_name": p["event_name"],
                "status": "active",
                "default_aggregation": {"formula": aggregation["formula"]},
                "customer_mapping": {
                    "event_payload_key": mapping.get("event_payload_key", "stripe_customer_id"),
                    "type": "by_id",
                },
                "value_settings": {"event_payload_key": value_settings.get("event_payload_key", "value")},
                "event_time_window": None,
            },
        )

    def meter_event_create(self, p: Json) -> Json:
        _require(p, "event_name")
        payload = p.get("payload") or {}
        meter = next(
            (
                m
                for m in self._of_kind("billing.meter")
                if m["event_name"] == p["event_name"] and m["status"] == "active"
            ),
            None,
        )
        now = int(time.time())
        timestamp = int(p.get("timestamp", now))
        if timestamp < now - METER_EVENT_MAX_AGE_S or timestamp > now + METER_EVENT_MAX_FUTURE_S:
            raise StripeError(
                400,
                "Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.",
                param="timestamp",
            )
        identifier = p.get("identifier") or f"fake_{secrets.token_hex(12)}"
        for event in self.meter_events:
            if event["identifier"] == identifier and event["received"] > now - IDENTIFIER_WINDOW_S:
                raise StripeError(
                    400,
                    f"An event already exists with identifier {identifier}.",
                    code="resource_already_exists",
                    param="identifier",
                )
        if meter is not None:
            customer_key = meter["customer_mapping"]["event_payload_key"]
            value_key = meter["value_settings"]["event_payload_key"]
            if customer_key not in payload:
                raise StripeError(400, f"Missing payload key: {customer_key}.", param=f"payload[{customer_key}]")
            try:
                float(payload.get(value_key, "1"))
            except ValueError:
                raise StripeError(
                    400, f"Invalid value in payload[{value_key}].", param=f"payload[{value_key}]"
                ) from None
        event = {
            "object": "billing.meter_event",
            "created": now,
            "event_name": p["event_name"],
            "identifier": identifier,
            "livemode": False,
            "payload": payload,
            "timestamp": timestamp,
            "received": now,
        }
        # Stripe validates a meter event against its meter asynchronously: an unknown event name is
        # accepted here and simply never aggregated, like Stripe does.
        self.meter_events.append(event)
        return {key: value for key, value in event.items() if key != "received"}

    def meter_event_summaries(self, meter_id: str, q: Json) -> Json:
        meter = self.get("billing.meter", meter_id)
        for required in ("customer", "start_time", "end_time"):
            _require(q, required)
        start, end = int(q["start_time"]), int(q["end_time"])
        customer_key = meter["customer_mapping"]["event_payload_key"]
        value_key = meter["value_settings"]["event_payload_key"]
        total = 0.0
        for event in self.meter_events:
            if (
                event["event_name"] == meter["event_name"]
                and event["payload"].get(customer_key) == q["customer"]
                and start <= event["timestamp"] < end
            ):
                formula = meter["default_aggregation"]["formula"]
                total += 1 if formula == "count" else float(event["payload"].get(value_key, "1"))
        summary = {
            "id": self.new_id("billing.meter_event_summary"),
            "object": "billing.meter_event_summary",
            "aggregated_value": total,
            "start_time": start,
            "end_time": end,
            "livemode": False,
            "meter": meter_id,
        }
        return _list([summary], f"/v1/billing/meters/{meter_id}/event_summaries")

    def customer_create(self, p: Json) -> Json:
        return self.add(
            "customer",
            {
                "name": p.get("name"),
                "email": p.get("email"),
                "description": p.get("description"),
                "metadata": p.get("metadata", {}),
                "currency": None,
                "balance": 0,
                "delinquent": False,
            },
        )

    def customer_update(self, object_id: str, p: Json) -> Json:
        customer = self.get("customer", object_id)
        for field in ("name", "email", "description"):
            if field in p:
                customer[field] = p[field]
        if "metadata" in p:
            customer["metadata"] = {**customer["metadata"], **p["metadata"]}
        return customer

    def _subscription_item(self, subscription_id: str, spec: Json) -> Json:
        price = self.get("price", spec.get("price", ""))
        return {
            "id": self.new_id("subscription_item"),
            "object": "subscription_item",
            "price": price,
            "quantity": None
            if (price["recurring"] or {}).get("usage_type") == "metered"
            else int(spec.get("quantity", 1)),
            "subscription": subscription_id,
            "metadata": spec.get("metadata", {}),
        }

    def subscription_create(self, p: Json) -> Json:
        customer = p.get("customer")
        if not customer:
            raise StripeError(400, "Missing required param: customer.", code="parameter_missing", param="customer")
        self.get("customer", customer)
        items = p.get("items") or []
        if not items:
            raise StripeError(400, "Missing required param: items.", code="parameter_missing", param="items")
        now = int(time.time())
        subscription = self.add(
            "subscription",
            {
                "customer": customer,
                "status": "active",
                "collection_method": p.get("collection_method", "charge_automatically"),
                "days_until_due": int(p["days_until_due"]) if "days_until_due" in p else None,
                "metadata": p.get("metadata", {}),
                "currency": None,
                "start_date": now,
            },
        )
        item_objects = [self._subscription_item(subscription["id"], spec) for spec in items]
        currencies = {item["price"]["currency"] for item in item_objects}
        if len(currencies) != 1:
            del self.objects[subscription["id"]]
            raise StripeError(400, "All prices on a subscription must have the same currency.", param="items")
        subscription["currency"] = currencies.pop()
        subscription["items"] = _list(item_objects, f"/v1/subscription_items?subscription={subscription['id']}")
        return subscription

    def subscription_update(self, object_id: str, p: Json) -> Json:
        subscription = self.get("subscription", object_id)
        if subscription["status"] == "canceled":
            raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
        items = list(subscription["items"]["data"])
        for spec in p.get("items") or []:
            if "id" in spec:
                current = next((item for item in items if item["id"] == spec["id"]), None)
                if current is None:
                    raise StripeError(404, f"No such subscription item: '{spec['id']}'", code="resource_missing")
                if spec.get("deleted") in {"true", "True", True}:
                    items.remove(current)
                elif "price" in spec:
                    current["price"] = self.get("price", spec["price"])
            else:
                items.append(self._subscription_item(object_id, spec))
        if "metadata" in p:
            subscription["metadata"] = {**subscription["metadata"], **p["metadata"]}
        subscription["items"]["data"] = items
        return subscription

    def _of_kind(self, kind: str) -> list[Json]:
        return [obj for obj in self.objects.values() if obj["object"] == kind]

    def list_of_kind(self, kind: str, path: str, q: Json) -> Json:
        objects = self._of_kind(kind)
        if "status" in q:
            objects = [obj for obj in objects if obj.get("status") == q["status"]]
        limit = int(q.get("limit", 10))
        objects.sort(key=lambda obj: (obj["created"], obj["id"]), reverse=True)
        if "starting_after" in q:
            ids = [obj["id"] for obj in objects]
            if q["starting_after"] in ids:
                objects = objects[ids.index(q["starting_after"]) + 1 :]
        return _list(objects[:limit], path, has_more=len(objects) > limit)

    # --- routing --------------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: Json) -> Json:
        routes: list[tuple[str, str, Any]] = [
            ("POST", r"/v1/products", lambda: self.product_create(params)),
            ("GET", r"/v1/products/(?P<id>[^/]+)", lambda id: self.get("product", id)),
            ("POST", r"/v1/prices", lambda: self.price_create(params)),
            ("GET", r"/v1/prices/(?P<id>[^/]+)", lambda id: self.get("price", id)),
            ("POST", r"/v1/billing/meters", lambda: self.meter_create(params)),
            ("GET", r"/v1/billing/meters", lambda: self.list_of_kind("billing.meter", path, params)),
            ("GET", r"/v1/billing/meters/(?P<id>[^/]+)", lambda id: self.get("billing.meter", id)),
            (
                "GET",
                r"/v1/billing/meters/(?P<id>[^/]+)/event_summaries",
                lambda id: self.meter_event_summaries(id, params),
            ),
            ("POST", r"/v1/billing/meter_events", lambda: self.meter_event_create(params)),
            ("POST", r"/v1/customers", lambda: self.customer_create(params)),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", lambda id: self.get("customer", id)),
            ("POST", r"/v1/customers/(?P<id>[^/]+)", lambda id: self.customer_update(id, params)),
            ("POST", r"/v1/subscriptions", lambda: self.subscription_create(params)),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", lambda id: self.get("subscription", id)),
            ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", lambda id: self.subscription_update(id, params)),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return action(**match.groupdict())  # type: ignore[no-any-return]
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")


def _require(params: Json, name: str) -> None:
    if name not in params or params[name] in ("", None):
        raise StripeError(400, f"Missing required param: {name}.", code="parameter_missing", param=name)


def _list(data: list[Json], url: str, *, has_more: bool = False) -> Json:
    return {"object": "list", "data": data, "has_more": has_more, "url": url.split("?")[0]}


class Handler(BaseHTTPRequestHandler):
    server: FakeStripeServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: Json, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if url.path.startswith("/_fake/"):
            self._control(method, url.path, body)
            return
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk_"):
            error = StripeError(
                401, "You did not provide an API key. You need to provide your API key in the Authorization header."
            )
            self._send(401, error.body)
            return
        params = parse_form(url.query if method == "GET" else body)
        key = self.headers.get("Idempotency-Key") if method == "POST" else None
        with fake.lock:
            if key is not None and key in fake.idempotency:
                saved = fake.idempotency[key]
                if saved["request"] != [url.path, params]:
                    error = StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                        type_="idempotency_error",
                    )
                    self._send(400, error.body)
                    return
                self._send(saved["status"], saved["body"], {"Idempotent-Replayed": "true", "Idempotency-Key": key})
                return
            lose_response = False
            if method == "POST" and url.path == "/v1/billing/meter_events":
                if fake.faults.get("meter_events_fail_before", 0) > 0:
                    fake.faults["meter_events_fail_before"] -= 1
                    self._send(500, StripeError(500, "An unknown error occurred", type_="api_error").body)
                    return
                if fake.faults.get("meter_events_fail_after", 0) > 0:
                    fake.faults["meter_events_fail_after"] -= 1
                    lose_response = True
            try:
                status, result = 200, fake.handle(method, url.path, params)
            except StripeError as error:
                status, result = error.status, error.body
            if key is not None and status != 500:
                fake.idempotency[key] = {"request": [url.path, params], "status": status, "body": result}
            if method == "POST":
                fake.save()
        if lose_response:
            self._send(500, StripeError(500, "An unknown error occurred", type_="api_error").body)
            return
        self._send(status, result, {"Idempotency-Key": key} if key else None)

    def _control(self, method: str, path: str, body: str) -> None:
        fake = self.server.fake
        with fake.lock:
            if method == "GET" and path == "/_fake/state":
                self._send(200, {"objects": fake.objects, "meter_events": fake.meter_events})
            elif method == "POST" and path == "/_fake/faults":
                fake.faults.update({key: int(value) for key, value in json.loads(body or "{}").items()})
                self._send(200, {"faults": fake.faults})
            elif method == "GET" and path == "/_fake/health":
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"error": {"type": "invalid_request_error", "message": "unknown control path"}})


class FakeStripeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeStripe, *, verbose: bool = False):
        super().__init__(address, Handler)
        self.fake = fake
        self.verbose = verbose


def serve(*, host: str = "127.0.0.1", port: int, state_file: Path | None = None, verbose: bool = False) -> None:
    server = FakeStripeServer((host, port), FakeStripe(state_file=state_file), verbose=verbose)
    try:
        server.serve_forever()
    finally:
        server.server_close()
