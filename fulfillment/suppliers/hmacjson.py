"""Dialect `hmacjson`: the newer "open platform" style of rights suppliers (memberships, e-cards).

JSON bodies, money in integer fen, REST paths, every request and callback signed in headers:
`X-App-Id`, `X-Timestamp` (unix seconds), `X-Nonce` and `X-Signature` =
hex HMAC-SHA256(secret, METHOD \\n path \\n timestamp \\n nonce \\n sha256-hex(body)).
Errors are HTTP 4xx with `{"code": "...", "message": "..."}`; callbacks are answered with HTTP 200
and `{"code": "OK"}`. See docs/suppliers.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit

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
    Unknown,
)
from platform.http import HttpResponse

_STATES = {"PROCESSING": OrderState.PROCESSING, "SUCCESS": OrderState.SUCCEEDED, "FAILED": OrderState.FAILED}
CALLBACK_MAX_SKEW_S = 300


def hmac_signature(*, secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    canonical = "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def _order_status(order_number: str, data: Mapping[str, Any]) -> OrderStatus:
    state = _STATES.get(str(data.get("state", "")))
    if state is None:
        raise ValueError("unknown order state")
    return OrderStatus(
        order_number=order_number,
        state=state,
        supplier_order_id=str(data.get("order_id", "")),
        amount_fen=int(data["amount"]) if data.get("amount") is not None else None,
        card_secrets=tuple(
            CardSecret(number=str(c.get("number", "")), pin=str(c.get("pin", "")), expires=str(c.get("expires_at", "")))
            for c in data.get("cards") or []
        ),
        code=str(data.get("error_code") or ""),
        reason=str(data.get("error_message") or ""),
        finished_at=str(data.get("finished_at") or ""),
    )


class HmacJsonAdapter(SupplierAdapter):
    dialect = "hmacjson"
    label = "HMAC-SHA256签名·JSON协议"
    credential_names = ("secret",)

    @property
    def _secret(self) -> str:
        return self.config.credentials.get("secret", "")

    def _call(self, method: str, path: str, payload: Any = None) -> tuple[HttpResponse, dict[str, Any]]:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() if payload is not None else b""
        timestamp = str(int(time.time()))
        nonce = uuid.uuid4().hex
        signed_path = urlsplit(self.url(path)).path
        headers = {
            "Content-Type": "application/json",
            "X-App-Id": self.config.merchant_id,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": hmac_signature(
                secret=self._secret, method=method, path=signed_path, timestamp=timestamp, nonce=nonce, body=body
            ),
        }
        response = self.client.request(method, self.url(path), data=body or None, headers=headers)
        answer = response.json() if response.body else {}
        if not isinstance(answer, dict):
            raise ValueError("answer is not an object")
        return response, answer

    def _do_submit(self, request: SubmitRequest) -> SubmitResult:
        response, answer = self._call(
            "POST",
            "/v2/orders",
            {
                "out_trade_no": request.order_number,
                "sku": request.supplier_sku,
                "account": request.account,
                "quantity": request.quantity,
                "face_value": request.amount_fen,
                "notify_url": request.callback_url,
            },
        )
        code = str(answer.get("code", ""))
        if (response.status in (200, 201) and code == "OK") or (response.status == 409 and answer.get("data")):
            status = _order_status(request.order_number, answer["data"])
            if status.state == OrderState.FAILED:
                return Rejected(code=status.code or "FAILED", reason=status.reason or "供应商受理失败")
            return Accepted(
                supplier_order_id=status.supplier_order_id,
                state=status.state,
                card_secrets=status.card_secrets,
                duplicate=response.status == 409,
            )
        if 400 <= response.status < 500 and response.status not in (408,):
            # a 4xx is the supplier refusing the request as a whole: it did not take the order
            return Rejected(code=code or f"HTTP_{response.status}", reason=str(answer.get("message", "")))
        return Unknown(reason=f"unexpected answer {response.status} {code}")

    def _do_query(self, order_number: str) -> QueryResult:
        response, answer = self._call("GET", f"/v2/orders/{order_number}")
        if response.status == 404:
            return NotFound(order_number=order_number)
        if response.status == 200 and answer.get("code") == "OK":
            return _order_status(order_number, answer["data"])
        return Unknown(reason=f"unexpected answer {response.status} {answer.get('code', '')}")

    def _do_balance(self) -> BalanceResult | Unknown:
        response, answer = self._call("GET", "/v2/account/balance")
        if response.status != 200 or answer.get("code") != "OK":
            return Unknown(reason=f"unexpected answer {response.status}")
        return BalanceResult(balance_fen=int(answer["data"]["balance"]))

    def _do_product_check(self, supplier_sku: str) -> ProductInfo | Unknown:
        response, answer = self._call("GET", f"/v2/products/{supplier_sku}")
        if response.status == 404:
            return ProductInfo(supplier_sku=supplier_sku, available=False)
        if response.status != 200 or answer.get("code") != "OK":
            return Unknown(reason=f"unexpected answer {response.status}")
        data = answer["data"]
        stock = data.get("stock")
        return ProductInfo(
            supplier_sku=supplier_sku,
            available=bool(data.get("available")) and stock != 0,
            stock=None if stock is None else int(stock),
            cost_fen=int(data["price"]) if data.get("price") is not None else None,
        )

    def _do_statement(self, day: date) -> Statement | Unknown:
        response, answer = self._call("GET", f"/v2/statements/{day.isoformat()}")
        if response.status != 200 or answer.get("code") != "OK":
            return Unknown(reason=f"unexpected answer {response.status}")
        lines = tuple(
            StatementLine(
                order_number=str(row["out_trade_no"]),
                supplier_order_id=str(row.get("order_id", "")),
                state=_STATES[str(row["state"])],
                amount_fen=int(row["amount"]),
                finished_at=str(row.get("finished_at") or ""),
            )
            for row in answer["data"]["orders"]
        )
        return Statement(day=day, lines=lines)

    def parse_callback(self, request: CallbackRequest) -> CallbackEvent:
        headers = {key.lower(): value for key, value in request.headers.items()}
        timestamp = headers.get("x-timestamp", "")
        nonce = headers.get("x-nonce", "")
        expected = hmac_signature(
            secret=self._secret,
            method="POST",
            path=urlsplit(request.path).path,
            timestamp=timestamp,
            nonce=nonce,
            body=request.body,
        )
        if not hmac.compare_digest(headers.get("x-signature", ""), expected):
            raise CallbackRejected("callback.bad_signature", "回调签名错误")
        if headers.get("x-app-id") != self.config.merchant_id:
            raise CallbackRejected("callback.wrong_merchant", "回调商户号不符")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > CALLBACK_MAX_SKEW_S:
            raise CallbackRejected("callback.stale", "回调时间戳过期")
        try:
            payload = json.loads(request.body.decode("utf-8"))
            data = payload["data"]
            status = _order_status(str(data["out_trade_no"]), data)
        except (ValueError, KeyError, TypeError) as error:
            raise CallbackRejected("callback.malformed", "回调内容无法解析") from error
        return CallbackEvent(status=status, ack_body=b'{"code":"OK"}', ack_content_type="application/json")
