"""The supplier adapter layer: `adapter_for(supplier)` gives the adapter of its protocol dialect;
every adapter answers with the typed results of `fulfillment.suppliers.base`.

This package holds no models (fulfillment is a tenant app; suppliers live in rights_catalog)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fulfillment.suppliers.base import (
    Accepted,
    BalanceResult,
    CallbackEvent,
    CallbackRejected,
    CallbackRequest,
    CardSecret,
    NotFound,
    OrderState,
    OrderStatus,
    ProductInfo,
    QueryResult,
    Rejected,
    Statement,
    StatementLine,
    SubmitRequest,
    SubmitResult,
    SupplierAdapter,
    SupplierConfig,
    Unknown,
)
from fulfillment.suppliers.hmacjson import HmacJsonAdapter
from fulfillment.suppliers.md5form import Md5FormAdapter

if TYPE_CHECKING:
    from rights_catalog.models import Supplier, SupplierCall

DIALECTS: dict[str, type[SupplierAdapter]] = {
    Md5FormAdapter.dialect: Md5FormAdapter,
    HmacJsonAdapter.dialect: HmacJsonAdapter,
}

__all__ = [
    "DIALECTS",
    "Accepted",
    "BalanceResult",
    "CallbackEvent",
    "CallbackRejected",
    "CallbackRequest",
    "CardSecret",
    "NotFound",
    "OrderState",
    "OrderStatus",
    "ProductInfo",
    "QueryResult",
    "Rejected",
    "Statement",
    "StatementLine",
    "SubmitRequest",
    "SubmitResult",
    "SupplierAdapter",
    "SupplierConfig",
    "Unknown",
    "adapter_for",
    "dialect_choices",
    "verify_callback",
]


def dialect_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} · {adapter.label}") for name, adapter in DIALECTS.items()]


def supplier_config(supplier: Supplier) -> SupplierConfig:
    from rights_catalog.services import supplier_credentials

    return SupplierConfig(
        code=supplier.code,
        endpoint=supplier.endpoint,
        merchant_id=supplier.merchant_id,
        credentials=supplier_credentials(supplier=supplier),
        connect_timeout_s=supplier.connect_timeout_s,
        read_timeout_s=supplier.read_timeout_s,
        query_delay_s=float(supplier.query_delay_s),
    )


def adapter_for(supplier: Supplier, *, calls: list[SupplierCall] | None = None) -> SupplierAdapter:
    """The adapter of the supplier's dialect, with its decrypted credentials and timeouts (and, with
    `calls`, collecting its health rows there for the caller to write in bulk)."""
    try:
        adapter_class = DIALECTS[supplier.dialect]
    except KeyError:
        from platform.errors import ApplicationError

        raise ApplicationError("supplier.unknown_dialect", f"未知的接口协议：{supplier.dialect}") from None
    return adapter_class(config=supplier_config(supplier), supplier=supplier, calls=calls)


def verify_callback(supplier: Supplier, request_data: CallbackRequest, remote_ip: str) -> CallbackEvent:
    """Believe a callback only from an allowed address and with the supplier's signature.

    Pure apart from decrypting the credentials: returns the `CallbackEvent` (status + the exact
    acknowledgement to answer) or raises `CallbackRejected` (`callback.forbidden_ip`,
    `callback.bad_signature`, `callback.wrong_merchant`, `callback.stale`, `callback.malformed`).
    Idempotency (the same callback twice, a stale one after the final) is the caller's business:
    compare `event.status.state` with the order's state.
    """
    from rights_catalog.services import supplier_ip_allowed

    if not supplier_ip_allowed(supplier=supplier, remote_ip=remote_ip):
        raise CallbackRejected("callback.forbidden_ip", "回调来源地址不在白名单内")
    adapter = DIALECTS[supplier.dialect](config=supplier_config(supplier), supplier=None)
    return adapter.parse_callback(request_data)
