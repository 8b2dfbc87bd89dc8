"""Signed notifications to the bank's URL on redemption, success and failure (bank schema).

Body: JSON `{"event", "id", "created_at", "data"}`. Headers: `X-Quanyi-Event`, `X-Quanyi-Timestamp`
(unix seconds), `X-Quanyi-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. The
bank answers 2xx to acknowledge; anything else (or no answer) is retried with backoff for 26 hours,
then the delivery is `gave_up` (a manual resend in the console starts it afresh). Deliveries are
created in the same transaction as the state change they report and sent on commit; the sweeper
re-sends overdue ones."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from fulfillment.models import WebhookDelivery, WebhookEndpoint
from platform.bulk import rows_insert_new
from platform.crypto import decrypt, encrypt
from platform.http import HttpClient, OutboundError
from platform.tenancy import current_schema

BACKOFF_S = [10, 30, 60, 300, 900, 1800, 3600]  # then every 2 hours
RETRY_FOR = timedelta(hours=26)
_client = HttpClient(connect_timeout_s=3.0, read_timeout_s=10.0)


def _context() -> str:
    return f"webhook:{current_schema()}"


def webhook_endpoint_set(*, url: str, secret: str = "") -> str:
    """Set the bank's notification URL; returns the secret (generated when not given)."""
    secret = secret or secrets.token_urlsafe(32)
    with transaction.atomic():
        WebhookEndpoint.objects.filter(active=True).update(active=False)
        WebhookEndpoint.objects.create(url=url, secret_encrypted=encrypt(secret, context=_context()))
    return secret


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_enqueue(*, event: str, key: str, data: dict[str, Any]) -> WebhookDelivery | None:
    """Record one notification (see `webhook_enqueue_many`); None when the bank has no endpoint or
    the key was recorded before."""
    recorded = webhook_enqueue_many([(event, key, data)])
    return recorded[0] if recorded else None


def webhook_enqueue_many(notifications: list[tuple[str, str, dict[str, Any]]]) -> list[WebhookDelivery]:
    """Record notifications `(event, key, data)`, idempotent on `key`, and send them on commit;
    returns the deliveries recorded now (none when the bank has no endpoint)."""
    if not notifications or not WebhookEndpoint.objects.filter(active=True).exists():
        return []
    now = timezone.now()
    rows = [
        WebhookDelivery(
            event=event,
            event_key=key,
            next_attempt_at=now,
            payload={"event": event, "id": key, "created_at": now.isoformat(), "data": data},
        )
        for event, key, data in notifications
    ]
    recorded = rows_insert_new(WebhookDelivery, rows, key="event_key")
    delivery_ids = [delivery.pk for delivery in recorded]

    def send() -> None:
        for delivery_id in delivery_ids:
            _send_task(delivery_id, countdown=0)

    if delivery_ids:
        transaction.on_commit(send, robust=True)  # a lost message: webhooks_sweep
    return recorded


def _send_task(delivery_id: int, *, countdown: float) -> None:
    from fulfillment.tasks import webhook_deliver_task

    webhook_deliver_task.apply_async(kwargs={"delivery_id": delivery_id}, queue="default", countdown=countdown)


def webhook_deliver(*, delivery_id: int) -> str:
    """Try one delivery when due (idempotent: a delivered one is not sent again)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(pk=delivery_id).first()
        if delivery is None or delivery.status != "pending":
            return "noop"
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            return "early"
        endpoint = WebhookEndpoint.objects.filter(active=True).order_by("-id").first()
        if endpoint is None:
            delivery.status, delivery.last_result = "gave_up", "no endpoint"
            delivery.save(update_fields=["status", "last_result"])
            return "gave_up"
        delivery.attempts += 1
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Quanyi-Event": delivery.event,
            "X-Quanyi-Timestamp": timestamp,
            "X-Quanyi-Signature": sign(
                secret=decrypt(endpoint.secret_encrypted, context=_context()), timestamp=timestamp, body=body
            ),
        }
        try:  # under the row lock: a concurrent copy of this task skips it (skip_locked)
            response = _client.request("POST", endpoint.url, data=body, headers=headers, unknown_on_5xx=False)
            ok, result = 200 <= response.status < 300, f"HTTP {response.status}"
        except OutboundError as error:
            ok, result = False, type(error).__name__
        delivery.last_result = result
        if ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        elif now - delivery.created_at >= RETRY_FOR:
            delivery.status, delivery.next_attempt_at = "gave_up", None
        else:
            wait = BACKOFF_S[delivery.attempts - 1] if delivery.attempts <= len(BACKOFF_S) else 7200
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            next_id, countdown = delivery.pk, float(wait)
            transaction.on_commit(lambda: _send_task(next_id, countdown=countdown))
        delivery.save(update_fields=["attempts", "status", "delivered_at", "next_attempt_at", "last_result"])
        return delivery.status


def webhook_resend(*, delivery_id: int) -> None:
    """The console's manual resend: back to pending, due now."""
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery_id).update(
            status="pending", next_attempt_at=timezone.now(), created_at=timezone.now()
        )
        if updated:
            transaction.on_commit(lambda: _send_task(delivery_id, countdown=0))


def webhooks_sweep(*, limit: int = 500) -> int:
    """Re-send pending deliveries whose time passed a minute ago (a lost task, a broker restart)."""
    due = WebhookDelivery.objects.filter(status="pending", next_attempt_at__lt=timezone.now() - timedelta(minutes=1))
    ids = list(due.values_list("pk", flat=True)[:limit])
    for delivery_id in ids:
        _send_task(delivery_id, countdown=0)
    return len(ids)
