"""The supplier adapter interface and its typed results.

One subclass per protocol dialect implements a few small hooks; the base class owns timing, the
health record and the mapping of transport failures (`platform.http.NotSent` / `OutcomeUnknown`) to
results. Callers only ever see the result types below, never HTTP details.

Result semantics the fulfilment engine relies on:
- `Accepted`: the supplier has the order (maybe already finished: `state`). A `duplicate=True`
  acceptance means the order number was known already: the supplier answered with the first result.
- `Rejected`: the supplier definitely did NOT take the order (or the request never left us):
  safe to fail over to the next offer.
- `Unknown`: it may have been taken. Never resubmit elsewhere; query (after `retry_after_s`) or wait
  for the callback.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, TypeVar

from platform.errors import ApplicationError
from platform.http import HttpClient, NotSent, OutcomeUnknown

if TYPE_CHECKING:
    from rights_catalog.models import Supplier, SupplierCall

logger = logging.getLogger("quanyi.suppliers")


# --- what we send ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitRequest:
    order_number: str  # ours: order id + attempt, so a retry at the same supplier is idempotent
    supplier_sku: str
    account: str  # normalised by rights_catalog.accounts.account_validate ("" for none)
    amount_fen: int  # face value of one unit, as the supplier prices it
    quantity: int = 1
    callback_url: str = ""


@dataclass(frozen=True)
class SupplierConfig:
    """Everything an adapter needs, decrypted; built from a `Supplier` row by `adapter_for`."""

    code: str
    endpoint: str
    merchant_id: str
    credentials: Mapping[str, str]
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    query_delay_s: float = 0.0

    def __repr__(self) -> str:  # never print the credentials
        return f"SupplierConfig(code={self.code!r}, endpoint={self.endpoint!r})"


# --- what we get back -----------------------------------------------------------------------


class OrderState(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class CardSecret:
    """A card secret 卡密 issued by the supplier: show on the progress page, send by SMS, store encrypted."""

    number: str
    pin: str
    expires: str = ""

    def __repr__(self) -> str:
        return "CardSecret(****)"


@dataclass(frozen=True)
class Accepted:
    supplier_order_id: str
    state: OrderState = OrderState.PROCESSING
    card_secrets: tuple[CardSecret, ...] = ()
    duplicate: bool = False


@dataclass(frozen=True)
class Rejected:
    code: str  # stable: "<dialect code>" or "network.not_sent"
    reason: str


@dataclass(frozen=True)
class Unknown:
    reason: str
    retry_after_s: float | None = None


@dataclass(frozen=True)
class OrderStatus:
    order_number: str
    state: OrderState
    supplier_order_id: str = ""
    amount_fen: int | None = None
    card_secrets: tuple[CardSecret, ...] = ()
    code: str = ""
    reason: str = ""
    finished_at: str = ""


@dataclass(frozen=True)
class NotFound:
    """The supplier does not know the order number (never arrived, or not yet visible)."""

    order_number: str


@dataclass(frozen=True)
class BalanceResult:
    balance_fen: int


@dataclass(frozen=True)
class ProductInfo:
    supplier_sku: str
    available: bool
    stock: int | None = None  # None: unlimited or not reported
    cost_fen: int | None = None


@dataclass(frozen=True)
class StatementLine:
    order_number: str
    supplier_order_id: str
    state: OrderState
    amount_fen: int
    finished_at: str = ""


@dataclass(frozen=True)
class Statement:
    day: date
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)


SubmitResult = Accepted | Rejected | Unknown
QueryResult = OrderStatus | NotFound | Unknown


@dataclass(frozen=True)
class CallbackRequest:
    """An inbound callback as received: raw body, lower-cased headers and the path it arrived on."""

    body: bytes
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    path: str = "/"

    @classmethod
    def from_django(cls, request: object) -> CallbackRequest:
        from django.http import HttpRequest

        assert isinstance(request, HttpRequest)
        return cls(
            body=request.body,
            content_type=request.content_type or "",
            headers={key.lower(): value for key, value in request.headers.items()},
            path=request.get_full_path(),
        )


@dataclass(frozen=True)
class CallbackEvent:
    """A verified callback: the order's new status, and the exact answer the supplier wants."""

    status: OrderStatus
    ack_body: bytes
    ack_content_type: str


class CallbackRejected(ApplicationError):  # noqa: N818 - reads as the fact it states
    """A callback we must not believe (bad signature, unknown sender, malformed)."""

    status = 403


# --- the interface --------------------------------------------------------------------------

_T = TypeVar("_T")


class SupplierAdapter(ABC):
    """Template methods: each public call times the request, records it for the health figures
    and maps transport failures; dialects implement the `_do_*` hooks."""

    dialect: ClassVar[str]
    label: ClassVar[str]
    # the names of the secrets in the supplier's credentials (entered once in the console)
    credential_names: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        *,
        config: SupplierConfig,
        supplier: Supplier | None = None,
        client: HttpClient | None = None,
        calls: list[SupplierCall] | None = None,
    ):
        self.config = config
        self.supplier = supplier
        self.client = client or _shared_client(config.connect_timeout_s, config.read_timeout_s)
        # with a list, each call's health row is appended to it (the caller writes them in bulk);
        # without, it is written at once
        self.calls = calls

    # public interface ------------------------------------------------------------------------

    def submit(self, request: SubmitRequest) -> SubmitResult:
        def run() -> SubmitResult:
            try:
                return self._do_submit(request)
            except NotSent as error:
                return Rejected(code="network.not_sent", reason=str(error))

        return self._timed("submit", run)

    def query(self, order_number: str, *, submitted_at: datetime | None = None) -> QueryResult:
        if submitted_at is not None and self.config.query_delay_s:
            from django.utils import timezone

            waited = (timezone.now() - submitted_at).total_seconds()
            if waited < self.config.query_delay_s:
                return Unknown(reason="too early to query", retry_after_s=self.config.query_delay_s - waited)
        return self._timed("query", lambda: self._do_query(order_number))

    def balance(self) -> BalanceResult | Unknown:
        return self._timed("balance", self._do_balance)

    def product_check(self, supplier_sku: str) -> ProductInfo | Unknown:
        return self._timed("product", lambda: self._do_product_check(supplier_sku))

    def statement(self, day: date) -> Statement | Unknown:
        return self._timed("statement", lambda: self._do_statement(day))

    @abstractmethod
    def parse_callback(self, request: CallbackRequest) -> CallbackEvent:
        """Verify the signature and turn the body into a `CallbackEvent`; raise `CallbackRejected`."""

    # hooks -----------------------------------------------------------------------------------

    @abstractmethod
    def _do_submit(self, request: SubmitRequest) -> SubmitResult: ...

    @abstractmethod
    def _do_query(self, order_number: str) -> QueryResult: ...

    @abstractmethod
    def _do_balance(self) -> BalanceResult | Unknown: ...

    @abstractmethod
    def _do_product_check(self, supplier_sku: str) -> ProductInfo | Unknown: ...

    @abstractmethod
    def _do_statement(self, day: date) -> Statement | Unknown: ...

    # machinery -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.config.endpoint.rstrip("/") + path

    def _timed(self, operation: str, run: Callable[[], _T]) -> _T:
        started = time.monotonic()
        try:
            result: object = run()
        except (NotSent, OutcomeUnknown) as error:
            result = Unknown(reason=str(error))
        except ValueError as error:  # a malformed answer: we cannot know what happened
            result = Unknown(reason=f"unreadable answer: {type(error).__name__}")
        latency_ms = int((time.monotonic() - started) * 1000)
        outcome = "unknown" if isinstance(result, Unknown) else "rejected" if isinstance(result, Rejected) else "ok"
        logger.info("supplier %s %s -> %s in %d ms", self.config.code, operation, type(result).__name__, latency_ms)
        if self.supplier is not None and self.supplier.pk:
            from rights_catalog.models import CallOutcome, SupplierCall

            call = SupplierCall(
                supplier=self.supplier, operation=operation, outcome=CallOutcome(outcome), latency_ms=max(0, latency_ms)
            )
            if self.calls is not None:
                self.calls.append(call)
            else:
                call.save()
        return result  # type: ignore[return-value]


_clients: dict[tuple[float, float], HttpClient] = {}
_clients_lock = threading.Lock()


def _shared_client(connect_timeout_s: float, read_timeout_s: float) -> HttpClient:
    """One pooled client per pair of timeouts in a process: connections to a supplier are reused
    from one order to the next instead of being opened for each."""
    key = (connect_timeout_s, read_timeout_s)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = HttpClient(connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s)
        return client


def fen_to_yuan(fen: int) -> str:
    """`1050` → `"10.50"`: the money format of form-encoded supplier APIs."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(yuan: str | int | float) -> int:
    """`"10.5"` → `1050`, exactly (through Decimal, never float arithmetic)."""
    from decimal import ROUND_HALF_UP, Decimal

    return int((Decimal(str(yuan)) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
