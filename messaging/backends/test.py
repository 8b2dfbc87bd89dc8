"""In-memory provider for tests and the benchmark, shared by every process through Redis.

A test scripts what the "provider" does with the next sends (`script_outcomes`), and reads what
it received (`received`). Outcomes: `accept`, `reject` (not accepted, retryable), `reject_final`,
`timeout_accepted` (the provider took it but we never heard back), `timeout_lost` (the request
never arrived). With credentials `{"record": false}` it only counts (the benchmark).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Literal

from django.http import HttpRequest

from messaging.backends.base import (
    OutgoingSms,
    QueryResult,
    ReceiptEvent,
    ReceiptRejectedError,
    SendResult,
    SmsBackend,
)
from platform.crypto import digest
from platform.redis import get_redis


def _key(account_key: str, part: str) -> str:
    return f"smsfake:{account_key}:{part}"


def script_outcomes(account_key: str, outcomes: list[str]) -> None:
    redis = get_redis()
    redis.delete(_key(account_key, "script"))
    if outcomes:
        redis.rpush(_key(account_key, "script"), *outcomes)


def received(account_key: str) -> list[dict[str, str]]:
    """Every message the fake provider took, oldest first."""
    return [json.loads(item) for item in get_redis().lrange(_key(account_key, "received"), 0, -1)]


def received_count(account_key: str) -> int:
    return int(get_redis().get(_key(account_key, "count")) or 0)


def reset(account_key: str) -> None:
    get_redis().delete(*[_key(account_key, part) for part in ("script", "received", "count", "accepted")])


def receipt_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class TestBackend(SmsBackend):
    name = "test"
    max_batch = 1000
    supports_query = True
    credential_fields = ("receipt_secret",)

    def send_many(self, messages: list[OutgoingSms]) -> list[SendResult]:
        redis = get_redis()
        if not self.credentials.get("record", True):
            redis.incrby(_key(self.account_key, "count"), len(messages))
            return [
                SendResult(message_id=m.message_id, outcome="accepted", provider_message_id=f"t{m.message_id}")
                for m in messages
            ]
        results = []
        for message in messages:
            raw = redis.lpop(_key(self.account_key, "script"))
            outcome = raw.decode() if isinstance(raw, bytes) else "accept"
            provider_id = "test-" + uuid.uuid4().hex[:16]
            if outcome in ("accept", "timeout_accepted"):
                record = {
                    "message_id": str(message.message_id),
                    "provider_message_id": provider_id,
                    "phone_digest": digest(message.phone, purpose="phone"),
                    "text": message.text,
                    "kind": message.kind,
                }
                pipe = redis.pipeline()
                pipe.rpush(_key(self.account_key, "received"), json.dumps(record, ensure_ascii=False))
                pipe.incr(_key(self.account_key, "count"))
                pipe.hset(_key(self.account_key, "accepted"), str(message.message_id), provider_id)
                pipe.execute()
            if outcome == "accept":
                results.append(SendResult(message.message_id, "accepted", provider_message_id=provider_id))
            elif outcome == "reject":
                results.append(SendResult(message.message_id, "rejected", error_code="throttled", retryable=True))
            elif outcome == "reject_final":
                results.append(SendResult(message.message_id, "rejected", error_code="invalid_number"))
            else:
                results.append(SendResult(message.message_id, "unknown", error_code="timeout"))
        return results

    def query(self, *, message_id: int, phone: str, provider_message_id: str, sent_on: str) -> QueryResult:
        found = get_redis().hget(_key(self.account_key, "accepted"), str(message_id))
        if found is None:
            return QueryResult(state="not_found")
        return QueryResult(
            state="accepted", provider_message_id=found.decode() if isinstance(found, bytes) else str(found)
        )

    def parse_receipts(self, request: HttpRequest) -> list[ReceiptEvent]:
        secret = str(self.credentials.get("receipt_secret", ""))
        given = request.headers.get("X-Test-Signature", "")
        if not secret or not hmac.compare_digest(receipt_signature(secret, request.body), given):
            raise ReceiptRejectedError("bad signature")
        events = []
        for item in json.loads(request.body):
            status: Literal["delivered", "failed"] = "delivered" if item["status"] == "DELIVRD" else "failed"
            events.append(
                ReceiptEvent(
                    event_key=str(item["event_id"]),
                    provider_message_id=str(item["message_id"]),
                    status=status,
                    error_code="" if status == "delivered" else str(item["status"]),
                )
            )
        return events
