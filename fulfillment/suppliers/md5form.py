"""Dialect `md5form`: the classic Chinese recharge-platform API (直充/卡密 aggregators).

Form-encoded POSTs, every request signed with `MD5(sorted k=v joined by & + "&key=<secret>")` in
upper-case hex, money in yuan strings, synchronous acceptance (`code=0000`), the result by an async
form-encoded callback that must be answered with the plain text `success`, and a status query that is
only allowed some time after the order (`code=1005` before that). See docs/suppliers.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

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
    fen_to_yuan,
    yuan_to_fen,
)

CHINA = ZoneInfo("Asia/Shanghai")

OK = "0000"
DUPLICATE = "3001"
NOT_FOUND = "1004"
TOO_EARLY = "1005"
# codes after which the supplier certainly did not take the order
DEFINITE_REJECTIONS = {
    "1001": "签名错误",
    "1002": "参数错误",
    "1003": "商户不存在或已停用",
    "2001": "余额不足",
    "2002": "商品不存在或已下架",
    "2003": "充值账号错误",
    "2004": "库存不足",
}
_STATES = {"processing": OrderState.PROCESSING, "success": OrderState.SUCCEEDED, "failed": OrderState.FAILED}


def md5_sign(params: Mapping[str, str], key: str) -> str:
    """Sorted non-empty parameters except `sign`, `k=v` joined by `&`, then `&key=<secret>`, MD5, upper hex."""
    pairs = [f"{name}={params[name]}" for name in sorted(params) if name != "sign" and params[name] != ""]
    return hashlib.md5(("&".join(pairs) + f"&key={key}").encode()).hexdigest().upper()  # noqa: S324 - the protocol's


def _timestamp() -> str:
    return datetime.now(CHINA).strftime("%Y%m%d%H%M%S")


def _cards(raw: Any) -> tuple[CardSecret, ...]:
    if isinstance(raw, str):
        raw = json.loads(raw) if raw else []
    return tuple(
        CardSecret(number=str(c.get("card_no", "")), pin=str(c.get("card_pwd", "")), expires=str(c.get("expire", "")))
        for c in raw or []
    )


class Md5FormAdapter(SupplierAdapter):
    dialect = "md5form"
    label = "MD5签名·表单协议（同步受理+异步回调）"
    credential_names = ("key",)

    @property
    def _key(self) -> str:
        return self.config.credentials.get("key", "")

    def _post(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        params = {**params, "merchant_id": self.config.merchant_id, "timestamp": _timestamp()}
        params["sign"] = md5_sign(params, self._key)
        response = self.client.request("POST", self.url(path), data=params)
        answer = response.json()
        if not isinstance(answer, dict) or "code" not in answer:
            raise ValueError("answer without code")
        return answer

    def _status(self, order_number: str, data: Mapping[str, Any]) -> OrderStatus:
        state = _STATES.get(str(data.get("status", "")))
        if state is None:
            raise ValueError("unknown order status")
        amount = data.get("amount")
        return OrderStatus(
            order_number=order_number,
            state=state,
            supplier_order_id=str(data.get("order_no", "")),
            amount_fen=yuan_to_fen(str(amount)) if amount not in (None, "") else None,
            card_secrets=_cards(data.get("cards")),
            code=str(data.get("fail_code", "")),
            reason=str(data.get("fail_reason", "")),
            finished_at=str(data.get("finish_time", "")),
        )

    def _do_submit(self, request: SubmitRequest) -> SubmitResult:
        answer = self._post(
            "/api/order/submit",
            {
                "out_order_no": request.order_number,
                "product_code": request.supplier_sku,
                "account": request.account,
                "quantity": str(request.quantity),
                "amount": fen_to_yuan(request.amount_fen * request.quantity),
                "notify_url": request.callback_url,
            },
        )
        code = str(answer["code"])
        if code in (OK, DUPLICATE):
            status = self._status(request.order_number, answer.get("data") or {})
            if status.state == OrderState.FAILED:
                return Rejected(code=status.code or "failed", reason=status.reason or "供应商受理失败")
            return Accepted(
                supplier_order_id=status.supplier_order_id,
                state=status.state,
                card_secrets=status.card_secrets,
                duplicate=code == DUPLICATE,
            )
        if code in DEFINITE_REJECTIONS:
            return Rejected(code=code, reason=str(answer.get("msg") or DEFINITE_REJECTIONS[code]))
        return Unknown(reason=f"supplier answered {code}: {answer.get('msg', '')}")

    def _do_query(self, order_number: str) -> QueryResult:
        answer = self._post("/api/order/query", {"out_order_no": order_number})
        code = str(answer["code"])
        if code == OK:
            return self._status(order_number, answer.get("data") or {})
        if code == NOT_FOUND:
            return NotFound(order_number=order_number)
        if code == TOO_EARLY:
            retry_after = float((answer.get("data") or {}).get("retry_after", self.config.query_delay_s or 1))
            return Unknown(reason="too early to query", retry_after_s=retry_after)
        return Unknown(reason=f"supplier answered {code}: {answer.get('msg', '')}")

    def _do_balance(self) -> BalanceResult | Unknown:
        answer = self._post("/api/account/balance", {})
        if str(answer["code"]) != OK:
            return Unknown(reason=f"supplier answered {answer['code']}")
        return BalanceResult(balance_fen=yuan_to_fen(answer["data"]["balance"]))

    def _do_product_check(self, supplier_sku: str) -> ProductInfo | Unknown:
        answer = self._post("/api/product/query", {"product_code": supplier_sku})
        code = str(answer["code"])
        if code == "2002":
            return ProductInfo(supplier_sku=supplier_sku, available=False)
        if code != OK:
            return Unknown(reason=f"supplier answered {code}")
        data = answer["data"]
        stock = int(data.get("stock", -1))
        return ProductInfo(
            supplier_sku=supplier_sku,
            available=data.get("status") == "on" and stock != 0,
            stock=None if stock < 0 else stock,
            cost_fen=yuan_to_fen(data["price"]) if data.get("price") else None,
        )

    def _do_statement(self, day: date) -> Statement | Unknown:
        answer = self._post("/api/bill/daily", {"bill_date": day.strftime("%Y%m%d")})
        if str(answer["code"]) != OK:
            return Unknown(reason=f"supplier answered {answer['code']}")
        lines = tuple(
            StatementLine(
                order_number=str(row["out_order_no"]),
                supplier_order_id=str(row.get("order_no", "")),
                state=_STATES[str(row["status"])],
                amount_fen=yuan_to_fen(row["amount"]),
                finished_at=str(row.get("finish_time", "")),
            )
            for row in answer["data"]["orders"]
        )
        return Statement(day=day, lines=lines)

    def parse_callback(self, request: CallbackRequest) -> CallbackEvent:
        try:
            params = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError as error:
            raise CallbackRejected("callback.malformed", "回调内容无法解析") from error
        signature = params.get("sign", "")
        if not signature or not hmac.compare_digest(signature.upper(), md5_sign(params, self._key)):
            raise CallbackRejected("callback.bad_signature", "回调签名错误")
        if params.get("merchant_id") != self.config.merchant_id:
            raise CallbackRejected("callback.wrong_merchant", "回调商户号不符")
        order_number = params.get("out_order_no", "")
        if not order_number:
            raise CallbackRejected("callback.malformed", "回调缺少订单号")
        try:
            status = self._status(order_number, params)
        except (ValueError, KeyError) as error:
            raise CallbackRejected("callback.malformed", "回调内容无法解析") from error
        return CallbackEvent(status=status, ack_body=b"success", ack_content_type="text/plain")
