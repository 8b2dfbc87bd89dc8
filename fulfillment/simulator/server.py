"""A supplier as seen over the wire: both dialects (`md5form` under `/api/…`, `hmacjson` under
`/v2/…`), in memory, with the faults real suppliers show.

Behaviour: merchant order numbers are idempotent (a repeated number answers the first order:
`code=3001` / HTTP 409 with the order), orders stay "processing" for a while and then resolve,
results are called back asynchronously and retried until acknowledged, the balance goes down with
every accepted order (and back up when it fails), card-secret SKUs (supplier SKU containing `CARD`)
issue card secrets, and a daily statement lists the finished orders with their amounts.

Fault knobs (`Knobs`) are set per run (`--knob name=value`) and at runtime (`POST /_sim/knobs`).
Admin and inspection endpoints live under `/_sim/` (see docs/suppliers.md). Signing is implemented
here independently of the adapters so that a signing bug on either side shows up in the tests.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import secrets
import string
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import requests

logger = logging.getLogger("quanyi.simulator")
CHINA = ZoneInfo("Asia/Shanghai")

# the merchant accounts the simulator knows (the demo seeds suppliers with these)
DEFAULT_CREDENTIALS: dict[str, dict[str, str]] = {
    "md5form": {"merchant_id": "QY10001", "key": "sim-md5-key-9f3a1c7e5b"},
    "hmacjson": {"merchant_id": "qy-app-20001", "secret": "sim-hmac-secret-4d8e2b6a0c"},
}
DIALECTS = ("md5form", "hmacjson")
LOG_LIMIT = 200_000  # request and callback log entries kept


@dataclass
class Knobs:
    """Fault and timing knobs. Rates are probabilities 0..1 drawn per order (or per callback)."""

    latency_ms_min: int = 5  # every answer is delayed by a uniform draw in [min, max]
    latency_ms_max: int = 30
    reject_rate: float = 0.0  # synchronous definite refusal (product unavailable)
    fail_rate: float = 0.0  # accepted, then fails asynchronously
    timeout_rate: float = 0.0  # submit: take the order, answer nothing (hold `hang_s`, then drop)
    timeout_creates_order: bool = True
    hang_s: float = 15.0
    server_error_rate: float = 0.0  # submit answers HTTP 500 (the order is not taken)
    processing_ms_min: int = 200  # how long an accepted order stays "processing"
    processing_ms_max: int = 400
    query_min_delay_s: float = 1.0  # md5form: a query this soon after the order answers 1005
    callback_loss_rate: float = 0.0  # never send the result
    callback_duplicates: int = 0  # send the final callback this many extra times after the ack
    callback_out_of_order: bool = False  # after the final callback, send a stale "processing" one
    callback_bad_signature_rate: float = 0.0  # first attempt signed with a wrong key, retries correct
    callback_retry_s: list[float] = field(default_factory=lambda: [0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])
    callback_timeout_s: float = 5.0
    reject_accounts: list[str] = field(default_factory=list)  # these accounts are refused at once
    fail_accounts: list[str] = field(default_factory=list)  # orders for these accounts fail later
    offline_skus: list[str] = field(default_factory=list)

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown knob {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool):
                value = value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
            elif isinstance(current, int):
                value = int(value)
            elif isinstance(current, float):
                value = float(value)
            elif isinstance(current, list) and not isinstance(value, list):
                raise ValueError(f"knob {name!r} takes a list")
            setattr(self, name, value)


@dataclass
class SimOrder:
    dialect: str
    order_no: str  # the merchant's (our) order number
    supplier_order_id: str
    sku: str
    account: str
    amount_fen: int
    quantity: int
    notify_url: str
    created: float  # time.time()
    resolves_at: float
    will_fail: bool
    state: str = "processing"  # processing | success | failed
    finished_at: float | None = None
    cards: list[dict[str, str]] = field(default_factory=list)
    fail_code: str = ""
    fail_reason: str = ""
    acked: bool = False


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def _china_time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, CHINA).strftime("%Y%m%d%H%M%S") if ts else ""


def md5_sign(params: dict[str, str], key: str) -> str:
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hashlib.md5(f"{text}&key={key}".encode()).hexdigest().upper()  # noqa: S324 - the protocol's


def hmac_sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    canonical = f"{method}\n{path}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


class SupplierSimulator:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int,
        dialects: tuple[str, ...] = DIALECTS,
        credentials: dict[str, dict[str, str]] | None = None,
        knobs: dict[str, Any] | None = None,
        balance_fen: int = 100_000_000,
        seed: int | None = None,
    ):
        self.host = host
        self.port = port
        self.dialects = dialects
        self.credentials = credentials or DEFAULT_CREDENTIALS
        self.base_knobs = dict(knobs or {})
        self.knobs = Knobs()
        self.knobs.update(self.base_knobs)
        self.initial_balance_fen = balance_fen
        self.balance_fen = dict.fromkeys(DIALECTS, balance_fen)
        self.stock: dict[str, int] = {}
        self.prices: dict[str, int] = {}
        self.orders: dict[tuple[str, str], SimOrder] = {}
        self.request_log: list[dict[str, Any]] = []
        self.callback_log: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self.random = random.Random(seed)  # noqa: S311 - simulated faults, not security
        self._seq = itertools.count(1)
        self._timers: list[tuple[float, int, str, Any]] = []
        self._wake = threading.Condition(self.lock)
        self._senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sim-callback")
        self._stopping = False
        self._http = requests.Session()
        self._http.trust_env = False
        self.server = _Server((host, port), self._handler_class())

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def serve_forever(self) -> None:
        threading.Thread(target=self._timer_loop, name="sim-timers", daemon=True).start()
        self.server.serve_forever(poll_interval=0.2)

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sim-http", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        with self.lock:
            self._stopping = True
            self._wake.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self._senders.shutdown(wait=False, cancel_futures=True)

    def reset(self, *, clear: bool) -> None:
        with self.lock:
            self.knobs = Knobs()
            self.knobs.update(self.base_knobs)
            if clear:
                self.orders.clear()
                self.request_log.clear()
                self.callback_log.clear()
                self.stock.clear()
                self.prices.clear()
                self._timers.clear()
                self.balance_fen = dict.fromkeys(DIALECTS, self.initial_balance_fen)

    # --- timers: order resolution and callback attempts -----------------------------------------

    def _schedule(self, due: float, kind: str, payload: Any) -> None:
        with self.lock:
            heapq.heappush(self._timers, (due, next(self._seq), kind, payload))
            self._wake.notify_all()

    def _timer_loop(self) -> None:
        while True:
            with self.lock:
                if self._stopping:
                    return
                now = time.time()
                if not self._timers or self._timers[0][0] > now:
                    timeout = (self._timers[0][0] - now) if self._timers else 0.5
                    self._wake.wait(timeout=min(timeout, 0.5))
                    continue
                _, _, kind, payload = heapq.heappop(self._timers)
            try:
                if kind == "resolve":
                    self._resolve(payload)
                elif kind == "callback":
                    self._senders.submit(self._send_callback, payload)
            except Exception:
                logger.exception("simulator timer %s failed", kind)

    def _resolve(self, key: tuple[str, str], *, forced: str | None = None) -> None:
        """Finish a processing order (idempotent) and start its callbacks."""
        with self.lock:
            order = self.orders.get(key)
            if order is None or order.state != "processing":
                return
            fail = forced == "failed" if forced else order.will_fail
            order.finished_at = time.time()
            if fail:
                order.state = "failed"
                order.fail_code = "5001"
                order.fail_reason = "充值失败：运营商系统繁忙"
                self.balance_fen[order.dialect] += order.amount_fen  # refunded
            else:
                order.state = "success"
                if "CARD" in order.sku.upper():
                    order.cards = [self._card() for _ in range(order.quantity)]
            knobs = self.knobs
            if not order.notify_url:
                return
            if self.random.random() < knobs.callback_loss_rate:
                self._log_callback(order, attempt=0, outcome="lost", state=order.state)
                return
            bad_first = self.random.random() < knobs.callback_bad_signature_rate
            self._schedule(
                time.time(),
                "callback",
                {"key": key, "attempt": 1, "state": order.state, "bad_signature": bad_first, "kind": "final"},
            )

    def _card(self) -> dict[str, str]:
        alphabet = string.ascii_uppercase + string.digits
        return {
            "card_no": "".join(secrets.choice(string.digits) for _ in range(16)),
            "card_pwd": "".join(secrets.choice(alphabet) for _ in range(12)),
            "expire": "2027-12-31",
        }

    def _log_callback(self, order: SimOrder, *, attempt: int, outcome: str, state: str, **extra: Any) -> None:
        with self.lock:
            self.callback_log.append(
                {
                    "time": time.time(),
                    "dialect": order.dialect,
                    "order_no": order.order_no,
                    "attempt": attempt,
                    "state": state,
                    "outcome": outcome,
                    **extra,
                }
            )
            if len(self.callback_log) > LOG_LIMIT:
                del self.callback_log[: LOG_LIMIT // 10]

    def _send_callback(self, job: dict[str, Any]) -> None:
        with self.lock:
            order = self.orders.get(job["key"])
            if order is None:
                return
            knobs = self.knobs
            state = job["state"]
        try:
            request = self._callback_request(order, state=state, bad_signature=job["bad_signature"])
            response = self._http.post(
                order.notify_url, data=request["body"], headers=request["headers"], timeout=knobs.callback_timeout_s
            )
            if order.dialect == "md5form":
                acked = response.status_code == 200 and response.text.strip() == "success"
            else:
                try:
                    acked = response.status_code == 200 and response.json().get("code") == "OK"
                except ValueError:
                    acked = False
            status: int | str = response.status_code
        except requests.RequestException as error:
            acked, status = False, f"error:{type(error).__name__}"
        self._log_callback(
            order,
            attempt=job["attempt"],
            outcome="acked" if acked else "not_acked",
            state=state,
            kind=job["kind"],
            http_status=status,
            bad_signature=job["bad_signature"],
        )
        if job["kind"] != "final":
            return
        with self.lock:
            if acked:
                first_ack = not order.acked
                order.acked = True
                if first_ack:
                    self._after_ack(job["key"], order)
                return
            retries = knobs.callback_retry_s
            if job["attempt"] <= len(retries):
                delay = retries[job["attempt"] - 1]
                self._schedule(
                    time.time() + delay,
                    "callback",
                    {**job, "attempt": job["attempt"] + 1, "bad_signature": False},
                )

    def _after_ack(self, key: tuple[str, str], order: SimOrder) -> None:
        knobs = self.knobs
        due = time.time() + 0.05
        if knobs.callback_out_of_order:
            self._schedule(
                due,
                "callback",
                {"key": key, "attempt": 1, "state": "processing", "bad_signature": False, "kind": "stale"},
            )
            due += 0.05
        for n in range(knobs.callback_duplicates):
            self._schedule(
                due + 0.05 * n,
                "callback",
                {"key": key, "attempt": 1, "state": order.state, "bad_signature": False, "kind": "duplicate"},
            )

    def _callback_request(self, order: SimOrder, *, state: str, bad_signature: bool) -> dict[str, Any]:
        creds = self.credentials[order.dialect]
        if order.dialect == "md5form":
            params = {
                "merchant_id": creds["merchant_id"],
                "out_order_no": order.order_no,
                "order_no": order.supplier_order_id,
                "status": state,
                "amount": _yuan(order.amount_fen),
                "finish_time": _china_time(order.finished_at) if state != "processing" else "",
                "cards": json.dumps(order.cards, separators=(",", ":")) if state == "success" and order.cards else "",
                "fail_code": order.fail_code if state == "failed" else "",
                "fail_reason": order.fail_reason if state == "failed" else "",
                "timestamp": _china_time(time.time()),
            }
            params["sign"] = md5_sign(params, "wrong-key" if bad_signature else creds["key"])
            return {
                "body": urlencode(params).encode(),
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            }
        data = self._hmac_order(order, state=state)
        body = json.dumps({"event": "order.updated", "data": data}, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
        secret = "wrong-secret" if bad_signature else creds["secret"]
        path = urlsplit(order.notify_url).path
        return {
            "body": body,
            "headers": {
                "Content-Type": "application/json",
                "X-App-Id": creds["merchant_id"],
                "X-Timestamp": timestamp,
                "X-Nonce": nonce,
                "X-Signature": hmac_sign(secret, "POST", path, timestamp, nonce, body),
            },
        }

    # --- order logic shared by the dialects -------------------------------------------------------

    def _submit(
        self, dialect: str, *, order_no: str, sku: str, account: str, amount_fen: int, quantity: int, notify_url: str
    ) -> tuple[str, SimOrder | None]:
        """Outcome code: ok | duplicate | offline | balance | stock | account | reject | error | hang."""
        knobs = self.knobs
        with self.lock:
            existing = self.orders.get((dialect, order_no))
            if existing is not None:
                return "duplicate", existing
            draw = self.random.random()
            if draw < knobs.server_error_rate:
                return "error", None
            hang = self.random.random() < knobs.timeout_rate
            if not hang:
                if sku in knobs.offline_skus or self.random.random() < knobs.reject_rate:
                    return "offline", None
                if account in knobs.reject_accounts:
                    return "account", None
                if self.stock.get(sku, -1) == 0:
                    return "stock", None
                if self.balance_fen[dialect] < amount_fen:
                    return "balance", None
            elif not knobs.timeout_creates_order:
                return "hang", None
            now = time.time()
            processing_s = self.random.uniform(knobs.processing_ms_min, knobs.processing_ms_max) / 1000
            order = SimOrder(
                dialect=dialect,
                order_no=order_no,
                supplier_order_id=f"S{int(now * 1000)}{next(self._seq):06d}",
                sku=sku,
                account=account,
                amount_fen=amount_fen,
                quantity=quantity,
                notify_url=notify_url,
                created=now,
                resolves_at=now + processing_s,
                will_fail=account in knobs.fail_accounts or self.random.random() < knobs.fail_rate,
            )
            self.orders[(dialect, order_no)] = order
            self.balance_fen[dialect] -= amount_fen
            if sku in self.stock and self.stock[sku] > 0:
                self.stock[sku] = max(0, self.stock[sku] - quantity)
            if processing_s <= 0:
                self._resolve((dialect, order_no))
            else:
                self._schedule(order.resolves_at, "resolve", (dialect, order_no))
            return ("hang" if hang else "ok"), order

    def _statement(self, dialect: str, day: str) -> list[SimOrder]:
        with self.lock:
            return sorted(
                (
                    o
                    for o in self.orders.values()
                    if o.dialect == dialect
                    and o.finished_at is not None
                    and datetime.fromtimestamp(o.finished_at, CHINA).strftime("%Y-%m-%d") == day
                ),
                key=lambda o: o.finished_at or 0,
            )

    @staticmethod
    def _hmac_order(order: SimOrder, *, state: str | None = None) -> dict[str, Any]:
        state = state or order.state
        return {
            "order_id": order.supplier_order_id,
            "out_trade_no": order.order_no,
            "sku": order.sku,
            "state": {"processing": "PROCESSING", "success": "SUCCESS", "failed": "FAILED"}[state],
            "amount": order.amount_fen,
            "cards": [{"number": c["card_no"], "pin": c["card_pwd"], "expires_at": c["expire"]} for c in order.cards]
            if state == "success"
            else [],
            "error_code": order.fail_code if state == "failed" else None,
            "error_message": order.fail_reason if state == "failed" else None,
            "finished_at": datetime.fromtimestamp(order.finished_at, CHINA).isoformat()
            if order.finished_at and state != "processing"
            else None,
        }

    @staticmethod
    def _md5_order(order: SimOrder) -> dict[str, Any]:
        return {
            "out_order_no": order.order_no,
            "order_no": order.supplier_order_id,
            "status": order.state,
            "amount": _yuan(order.amount_fen),
            "finish_time": _china_time(order.finished_at),
            "cards": order.cards if order.state == "success" else [],
            "fail_code": order.fail_code,
            "fail_reason": order.fail_reason,
        }

    def log_request(self, **entry: Any) -> None:
        with self.lock:
            self.request_log.append({"seq": next(self._seq), "time": time.time(), **entry})
            if len(self.request_log) > LOG_LIMIT:  # a long demo must not grow without bound
                del self.request_log[: LOG_LIMIT // 10]

    # --- HTTP -------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(_Handler):
            sim = simulator

        return Handler


class _Server(ThreadingHTTPServer):
    """A thread per connection, and a listen queue deep enough for a platform sending a batch of
    orders side by side (socketserver's default of 5 would drop the rest of a burst's connections)."""

    daemon_threads = True
    request_queue_size = 256


class _Hang(Exception):  # noqa: N818 - control flow, not an error
    """Drop the connection without an answer."""


class _Handler(BaseHTTPRequestHandler):
    sim: SupplierSimulator
    server_version = "SupplierSimulator/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive, as suppliers' gateways do: every answer has a length

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # plumbing
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _latency(self) -> None:
        knobs = self.sim.knobs
        low, high = knobs.latency_ms_min, max(knobs.latency_ms_min, knobs.latency_ms_max)
        time.sleep(self.sim.random.uniform(low, high) / 1000)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        try:
            if path.startswith("/_sim/"):
                self._admin(method, path, body)
            elif path.startswith("/api/") and "md5form" in self.sim.dialects:
                self._latency()
                self._md5(path, body)
            elif path.startswith("/v2/") and "hmacjson" in self.sim.dialects:
                self._latency()
                self._hmacjson(method, path, body)
            else:
                self._send(404, {"code": "NOT_FOUND", "message": "no such endpoint"})
        except _Hang:
            time.sleep(self.sim.knobs.hang_s)
            self.close_connection = True
        except (ValueError, KeyError) as error:
            self._send(400, {"code": "BAD_REQUEST", "message": str(error)})

    # --- admin --------------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: bytes) -> None:
        sim = self.sim
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        payload = json.loads(body) if body else {}
        if path == "/_sim/health":
            self._send(200, {"ok": True, "dialects": list(sim.dialects)})
        elif path == "/_sim/knobs":
            if method == "POST":
                with sim.lock:
                    sim.knobs.update(payload)
            self._send(200, asdict(sim.knobs))
        elif path == "/_sim/reset" and method == "POST":
            sim.reset(clear=bool(payload.get("clear", True)))
            self._send(200, {"ok": True})
        elif path == "/_sim/requests":
            with sim.lock:
                rows = [
                    r
                    for r in sim.request_log
                    if all(str(r.get(k, "")) == v for k, v in query.items() if k in {"order_no", "op", "dialect"})
                ]
            self._send(200, {"count": len(rows), "requests": rows})
        elif path == "/_sim/callbacks":
            with sim.lock:
                rows = [r for r in sim.callback_log if not query.get("order_no") or r["order_no"] == query["order_no"]]
            self._send(200, {"count": len(rows), "callbacks": rows})
        elif path.startswith("/_sim/orders/"):
            parts = path.split("/")
            order_no = parts[3]
            dialect = query.get("dialect", "md5form" if "md5form" in sim.dialects else "hmacjson")
            key = (dialect, order_no)
            if len(parts) > 4 and parts[4] == "complete" and method == "POST":
                sim._resolve(key, forced=payload.get("state", "success"))
            with sim.lock:
                order = sim.orders.get(key)
                found = asdict(order) if order else None
            self._send(200 if found else 404, {"order": found})
        elif path == "/_sim/balance":
            with sim.lock:
                if method == "POST":
                    sim.balance_fen[payload["dialect"]] = int(payload["balance_fen"])
                self._send(200, {"balance_fen": sim.balance_fen})
        elif path == "/_sim/stock" and method == "POST":
            with sim.lock:
                sim.stock[payload["sku"]] = int(payload["stock"])
                if "price_fen" in payload:
                    sim.prices[payload["sku"]] = int(payload["price_fen"])
            self._send(200, {"ok": True})
        else:
            self._send(404, {"code": "NOT_FOUND"})

    # --- dialect md5form ----------------------------------------------------------------------

    def _md5(self, path: str, body: bytes) -> None:
        sim = self.sim
        creds = sim.credentials["md5form"]
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        op = {
            "/api/order/submit": "submit",
            "/api/order/query": "query",
            "/api/account/balance": "balance",
            "/api/product/query": "product",
            "/api/bill/daily": "statement",
        }.get(path)
        order_no = params.get("out_order_no", "")

        def answer(code: str, msg: str, data: Any = None) -> None:
            sim.log_request(dialect="md5form", op=op or path, order_no=order_no, code=code, http_status=200)
            self._send(200, {"code": code, "msg": msg, "data": data})

        if op is None:
            self._send(404, {"code": "9404", "msg": "接口不存在"})
            return
        if params.get("merchant_id") != creds["merchant_id"]:
            answer("1003", "商户不存在或已停用")
            return
        if not hmac.compare_digest(params.get("sign", ""), md5_sign(params, creds["key"])):
            answer("1001", "签名错误")
            return
        if op == "submit":
            missing = [name for name in ("out_order_no", "product_code", "amount") if not params.get(name)]
            if missing:
                answer("1002", f"参数错误：缺少 {','.join(missing)}")
                return
            outcome, order = sim._submit(
                "md5form",
                order_no=order_no,
                sku=params["product_code"],
                account=params.get("account", ""),
                amount_fen=_fen(params["amount"]),
                quantity=int(params.get("quantity") or 1),
                notify_url=params.get("notify_url", ""),
            )
            self._md5_submit_answer(outcome, order, answer, order_no)
        elif op == "query":
            with sim.lock:
                order = sim.orders.get(("md5form", order_no))
                if order is None:
                    answer("1004", "订单不存在")
                    return
                waited = time.time() - order.created
                if waited < sim.knobs.query_min_delay_s:
                    answer(
                        "1005",
                        "查询过于频繁，请稍后再查",
                        {"retry_after": round(sim.knobs.query_min_delay_s - waited, 2)},
                    )
                    return
                if order.state == "processing" and time.time() >= order.resolves_at:
                    sim._resolve(("md5form", order_no))
                answer("0000", "查询成功", SupplierSimulator._md5_order(order))
        elif op == "balance":
            with sim.lock:
                answer("0000", "查询成功", {"balance": _yuan(sim.balance_fen["md5form"])})
        elif op == "product":
            sku = params.get("product_code", "")
            with sim.lock:
                if sku in sim.knobs.offline_skus:
                    answer("2002", "商品不存在或已下架")
                    return
                price = sim.prices.get(sku)
                answer(
                    "0000",
                    "查询成功",
                    {
                        "product_code": sku,
                        "status": "on",
                        "price": _yuan(price) if price is not None else "",
                        "stock": sim.stock.get(sku, -1),
                    },
                )
        elif op == "statement":
            bill_date = params.get("bill_date", "")
            day = f"{bill_date[:4]}-{bill_date[4:6]}-{bill_date[6:8]}"
            orders = [SupplierSimulator._md5_order(o) for o in sim._statement("md5form", day)]
            for row in orders:
                row.pop("cards", None)
            answer("0000", "查询成功", {"bill_date": bill_date, "orders": orders})

    def _md5_submit_answer(self, outcome: str, order: SimOrder | None, answer: Any, order_no: str) -> None:
        if outcome == "hang":
            self.sim.log_request(dialect="md5form", op="submit", order_no=order_no, code="hang", http_status=None)
            raise _Hang
        if outcome == "error":
            self.sim.log_request(dialect="md5form", op="submit", order_no=order_no, code="500", http_status=500)
            self._send(500, b"<html>502 Bad Gateway</html>", "text/html")
            return
        refusals = {
            "offline": ("2002", "商品不存在或已下架"),
            "account": ("2003", "充值账号错误"),
            "stock": ("2004", "库存不足"),
            "balance": ("2001", "余额不足"),
        }
        if outcome in refusals:
            answer(*refusals[outcome])
            return
        assert order is not None
        data = SupplierSimulator._md5_order(order)
        if outcome == "duplicate":
            answer("3001", "订单号重复", data)
        else:
            answer("0000", "下单成功", data)

    # --- dialect hmacjson ---------------------------------------------------------------------

    def _hmacjson(self, method: str, path: str, body: bytes) -> None:
        sim = self.sim
        creds = sim.credentials["hmacjson"]
        parts = [p for p in path.split("/") if p]
        if method == "POST" and parts == ["v2", "orders"]:
            op = "submit"
        elif method == "GET" and parts[:2] == ["v2", "orders"] and len(parts) == 3:
            op = "query"
        elif method == "GET" and parts == ["v2", "account", "balance"]:
            op = "balance"
        elif method == "GET" and parts[:2] == ["v2", "products"] and len(parts) == 3:
            op = "product"
        elif method == "GET" and parts[:2] == ["v2", "statements"] and len(parts) == 3:
            op = "statement"
        else:
            self._send(404, {"code": "NOT_FOUND", "message": "no such endpoint"})
            return
        payload = json.loads(body) if body else {}
        order_no = str(payload.get("out_trade_no", "")) if op == "submit" else parts[2] if op == "query" else ""

        def answer(status: int, code: str, data: Any = None, message: str = "") -> None:
            sim.log_request(dialect="hmacjson", op=op, order_no=order_no, code=code, http_status=status)
            self._send(status, {"code": code, "message": message, "data": data})

        timestamp = self.headers.get("X-Timestamp", "")
        nonce = self.headers.get("X-Nonce", "")
        expected = hmac_sign(creds["secret"], method, path, timestamp, nonce, body)
        if self.headers.get("X-App-Id") != creds["merchant_id"]:
            answer(401, "INVALID_APP", message="unknown app id")
            return
        if not hmac.compare_digest(self.headers.get("X-Signature", ""), expected):
            answer(401, "INVALID_SIGNATURE", message="signature mismatch")
            return
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            answer(401, "TIMESTAMP_EXPIRED", message="timestamp out of window")
            return
        if op == "submit":
            outcome, order = sim._submit(
                "hmacjson",
                order_no=order_no,
                sku=str(payload["sku"]),
                account=str(payload.get("account", "")),
                amount_fen=int(payload["face_value"]) * int(payload.get("quantity") or 1),
                quantity=int(payload.get("quantity") or 1),
                notify_url=str(payload.get("notify_url", "")),
            )
            if outcome == "hang":
                sim.log_request(dialect="hmacjson", op="submit", order_no=order_no, code="hang", http_status=None)
                raise _Hang
            if outcome == "error":
                answer(503, "SERVICE_UNAVAILABLE", message="upstream busy")
                return
            refusals = {
                "offline": (422, "SKU_UNAVAILABLE", "sku is not available"),
                "account": (400, "INVALID_ACCOUNT", "recharge account is invalid"),
                "stock": (422, "OUT_OF_STOCK", "out of stock"),
                "balance": (422, "INSUFFICIENT_BALANCE", "merchant balance is insufficient"),
            }
            if outcome in refusals:
                status, code, message = refusals[outcome]
                answer(status, code, message=message)
                return
            assert order is not None
            with sim.lock:
                data = SupplierSimulator._hmac_order(order)
            if outcome == "duplicate":
                answer(409, "DUPLICATE_OUT_TRADE_NO", data, "out_trade_no already used")
            else:
                answer(200, "OK", data)
        elif op == "query":
            with sim.lock:
                order = sim.orders.get(("hmacjson", order_no))
                if order is None:
                    answer(404, "ORDER_NOT_FOUND", message="no such order")
                    return
                if order.state == "processing" and time.time() >= order.resolves_at:
                    sim._resolve(("hmacjson", order_no))
                answer(200, "OK", SupplierSimulator._hmac_order(order))
        elif op == "balance":
            with sim.lock:
                answer(200, "OK", {"balance": sim.balance_fen["hmacjson"], "currency": "CNY"})
        elif op == "product":
            sku = parts[2]
            with sim.lock:
                if sku in sim.knobs.offline_skus:
                    answer(404, "SKU_NOT_FOUND", message="no such sku")
                    return
                stock = sim.stock.get(sku)
                answer(200, "OK", {"sku": sku, "available": True, "stock": stock, "price": sim.prices.get(sku)})
        elif op == "statement":
            rows = [SupplierSimulator._hmac_order(o) for o in sim._statement("hmacjson", parts[2])]
            for row in rows:
                row.pop("cards", None)
            answer(200, "OK", {"date": parts[2], "orders": rows})
