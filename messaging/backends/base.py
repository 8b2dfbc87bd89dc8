"""The small interface every provider implements, modelled on django-anymail's backends:
`send_many` (build payload → call the provider → parse the status) per message or per batch,
optional `query` for outcomes we did not see, `parse_receipts` for inbound delivery reports.

A provider call ends in exactly one of three outcomes. `accepted`: the provider took it.
`rejected`: the provider said it did not take it (safe to retry when `retryable`). `unknown`:
we cannot tell (timeout, dropped connection, 5xx after the request went out); the message is
then never resent without a query or an operator's decision, since providers are not idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from django.http import HttpRequest

Outcome = Literal["accepted", "rejected", "unknown"]


@dataclass(frozen=True)
class OutgoingSms:
    message_id: int
    phone: str
    text: str  # with the 【signature】
    signature: str
    template_key: str
    provider_template_code: str
    params: dict[str, str]
    kind: str
    promotional: bool


@dataclass(frozen=True)
class SendResult:
    message_id: int
    outcome: Outcome
    provider_message_id: str = ""
    error_code: str = ""
    retryable: bool = False


@dataclass(frozen=True)
class QueryResult:
    """What a provider knows about a message whose send outcome we did not see."""

    state: Literal["accepted", "delivered", "failed", "not_found", "unknown"]
    provider_message_id: str = ""
    error_code: str = ""


@dataclass(frozen=True)
class ReceiptEvent:
    event_key: str  # unique per provider event: replays are recognised
    provider_message_id: str
    status: Literal["delivered", "failed"]
    error_code: str = ""


class ReceiptRejectedError(Exception):
    """The inbound request is not a genuine receipt from this provider account."""


@dataclass
class SmsBackend:
    name: ClassVar[str] = ""
    # how many messages one provider call may carry; 1 = no batching
    max_batch: ClassVar[int] = 1
    supports_query: ClassVar[bool] = False
    requires_registered_template: ClassVar[bool] = False
    credential_fields: ClassVar[tuple[str, ...]] = ()

    credentials: dict[str, Any] = field(default_factory=dict)
    # stable name of the provider account (for the shared rate bucket and the fakes)
    account_key: str = "default"

    def send_many(self, messages: list[OutgoingSms]) -> list[SendResult]:
        """Send up to `max_batch` messages; default: one call per message."""
        return [self.send_one(message) for message in messages]

    def send_one(self, message: OutgoingSms) -> SendResult:
        raise NotImplementedError

    def query(self, *, message_id: int, phone: str, provider_message_id: str, sent_on: str) -> QueryResult:
        return QueryResult(state="unknown")

    def parse_receipts(self, request: HttpRequest) -> list[ReceiptEvent]:
        raise ReceiptRejectedError("this provider sends no receipts")

    def template_problems(self, *, text: str, provider_template_code: str, registered_text: str) -> list[str]:
        """Why a template would be refused by this provider (empty: fine)."""
        return []
