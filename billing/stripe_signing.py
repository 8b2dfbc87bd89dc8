"""Sign a webhook payload exactly as Stripe does, for the fake Stripe, tests and the demo.

Stripe sends `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the
endpoint secret>`; `stripe.WebhookSignature.verify_header` checks exactly this.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any


def webhook_signature(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value for `payload` signed with the endpoint `secret`."""
    signed_at = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{signed_at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={signed_at},v1={mac}"


def webhook_event(
    *, type: str, data_object: dict[str, Any], event_id: str | None = None, created: int | None = None
) -> bytes:
    """A Stripe event envelope (API version of the installed library), serialised as Stripe sends it."""
    import stripe

    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": stripe.api_version,
        "created": int(time.time()) if created is None else created,
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }
    return json.dumps(event, indent=2).encode()
