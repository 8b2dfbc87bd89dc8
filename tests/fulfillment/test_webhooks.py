"""Bank webhooks: signed with HMAC-SHA256 over timestamp and body, retried with backoff on failure,
logged, and resendable by hand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django_tenants.utils import schema_context

from fulfillment.models import WebhookDelivery
from fulfillment.webhooks import sign, webhook_deliver, webhook_endpoint_set, webhook_enqueue, webhook_resend
from tests.conftest import BankUnderTest


@pytest.fixture
def bank_server() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"received": [], "fail": 1}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["received"].append((dict(self.headers), body))
            status = 500 if state["fail"] > 0 else 200
            state["fail"] -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 18413), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def test_signed_retried_then_delivered_and_resent(bank_a: BankUnderTest, bank_server: dict[str, Any]) -> None:
    with schema_context(bank_a.schema):
        secret = webhook_endpoint_set(url="http://127.0.0.1:18413/hook")
        delivery = webhook_enqueue(event="order.succeeded", key="order.succeeded:1", data={"order_id": 1})
        assert delivery is not None
        assert webhook_enqueue(event="order.succeeded", key="order.succeeded:1", data={}) is None  # once
        assert webhook_deliver(delivery_id=delivery.pk) == "pending"  # the bank answered 500
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and delivery.last_result == "HTTP 500" and delivery.next_attempt_at
        assert webhook_deliver(delivery_id=delivery.pk) == "early"  # backoff holds
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
        assert webhook_deliver(delivery_id=delivery.pk) == "delivered"
        assert webhook_deliver(delivery_id=delivery.pk) == "noop"
        webhook_resend(delivery_id=delivery.pk)
        assert webhook_deliver(delivery_id=delivery.pk) == "delivered"
    assert len(bank_server["received"]) == 3
    headers, body = bank_server["received"][-1]
    assert headers["X-Quanyi-Signature"] == sign(secret=secret, timestamp=headers["X-Quanyi-Timestamp"], body=body)
    assert json.loads(body)["data"] == {"order_id": 1} and headers["X-Quanyi-Event"] == "order.succeeded"


def test_console_sets_the_url_once_shows_the_secret_and_resends(bank_a: BankUnderTest) -> None:
    from tests.conftest import bank_client

    admin = bank_client(bank_a, login="admin")
    page = admin.post("/console/webhooks/", {"url": "http://127.0.0.1:18413/hook"})
    assert page.status_code == 200 and "只显示这一次" in page.content.decode()
    with schema_context(bank_a.schema):
        delivery = webhook_enqueue(event="order.failed", key="order.failed:7", data={})
        assert delivery is not None
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="gave_up")
    assert "只显示这一次" not in admin.get("/console/webhooks/").content.decode()
    assert bank_client(bank_a, login="auditor").post("/console/webhooks/", {"resend": delivery.pk}).status_code == 403
    assert admin.post("/console/webhooks/", {"resend": delivery.pk}).status_code == 302
    with schema_context(bank_a.schema):
        assert WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"
