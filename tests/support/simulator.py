"""The supplier simulator for tests: start it as a real subprocess on a port the test module picks,
steer its fault knobs, read its request and callback logs; and a tiny callback receiver that
verifies callbacks with the adapter layer and acknowledges them (or refuses, to force retries)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from fulfillment.simulator.server import DEFAULT_CREDENTIALS
from fulfillment.suppliers import CallbackEvent, CallbackRejected, CallbackRequest
from tests.support.processes import ROOT, process_env, process_stop, wait_for


@dataclass
class SimulatorHandle:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _admin(self, method: str, path: str, payload: Any = None, **params: str) -> Any:
        response = requests.request(method, self.url + path, json=payload, params=params, timeout=5)
        return response.json()

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        return dict(self._admin("POST", "/_sim/knobs", knobs))

    def reset(self, *, clear: bool = False) -> None:
        self._admin("POST", "/_sim/reset", {"clear": clear})

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        """Logged supplier API requests, filtered by order_no / op / dialect."""
        return list(self._admin("GET", "/_sim/requests", **filters)["requests"])

    def callbacks(self, order_no: str) -> list[dict[str, Any]]:
        return list(self._admin("GET", "/_sim/callbacks", order_no=order_no)["callbacks"])

    def order(self, order_no: str, *, dialect: str) -> dict[str, Any] | None:
        return self._admin("GET", f"/_sim/orders/{order_no}", dialect=dialect)["order"]

    def complete(self, order_no: str, *, dialect: str, state: str = "success") -> dict[str, Any] | None:
        return self._admin("POST", f"/_sim/orders/{order_no}/complete?dialect={dialect}", {"state": state})["order"]

    def set_balance(self, *, dialect: str, balance_fen: int) -> None:
        self._admin("POST", "/_sim/balance", {"dialect": dialect, "balance_fen": balance_fen})

    def set_stock(self, *, sku: str, stock: int, price_fen: int | None = None) -> None:
        payload: dict[str, Any] = {"sku": sku, "stock": stock}
        if price_fen is not None:
            payload["price_fen"] = price_fen
        self._admin("POST", "/_sim/stock", payload)


@contextmanager
def supplier_simulator(
    *, port: int, dialect: str = "both", knobs: dict[str, Any] | None = None, seed: int | None = 7
) -> Iterator[SimulatorHandle]:
    """`python manage.py run_supplier_simulator` on `port` (pick one in your own range)."""
    command = [sys.executable, "manage.py", "run_supplier_simulator", "--port", str(port), "--dialect", dialect]
    for name, value in (knobs or {}).items():
        command += ["--knob", f"{name}={json.dumps(value)}"]
    if seed is not None:
        command += ["--seed", str(seed)]
    process = subprocess.Popen(command, cwd=ROOT, env=process_env(), stdout=subprocess.DEVNULL)
    handle = SimulatorHandle(port=port, process=process)

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited with {process.returncode}")
        try:
            return requests.get(handle.url + "/_sim/health", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=30, interval=0.1)
        yield handle
    finally:
        process_stop(process)


def simulator_credentials(dialect: str) -> dict[str, str]:
    """The merchant id and secrets the simulator knows for a dialect."""
    return dict(DEFAULT_CREDENTIALS[dialect])


@dataclass
class ReceivedCallback:
    path: str
    event: CallbackEvent | None
    rejected: str = ""  # the CallbackRejected code, when verification failed


@dataclass
class CallbackReceiver:
    """Our side of the callbacks: verifies with `verify` and answers the supplier's acknowledgement;
    `refuse_next` answers that many callbacks with an error first (the supplier must retry)."""

    port: int
    verify: Callable[[CallbackRequest, str], CallbackEvent]
    received: list[ReceivedCallback] = field(default_factory=list)
    refuse_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/callbacks/test") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def for_order(self, order_no: str) -> list[ReceivedCallback]:
        with self.lock:
            return [c for c in self.received if c.event is not None and c.event.status.order_number == order_no]

    def all_for(self, order_no: str) -> list[ReceivedCallback]:
        """Verified or not: rejected ones are matched by the order number in the raw body."""
        with self.lock:
            return [
                c
                for c in self.received
                if (c.event is not None and c.event.status.order_number == order_no)
                or (c.event is None and order_no in c.path)
            ]


@contextmanager
def callback_receiver(
    *, port: int, verify: Callable[[CallbackRequest, str], CallbackEvent]
) -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver(port=port, verify=verify)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = CallbackRequest(
                body=body,
                content_type=self.headers.get("Content-Type", ""),
                headers={k.lower(): v for k, v in self.headers.items()},
                path=self.path,
            )
            with receiver.lock:
                refuse = receiver.refuse_next > 0
                if refuse:
                    receiver.refuse_next -= 1
            try:
                event = receiver.verify(request, self.client_address[0])
            except CallbackRejected as error:
                with receiver.lock:
                    receiver.received.append(ReceivedCallback(path=self.path, event=None, rejected=error.code))
                self._answer(403, b"rejected", "text/plain")
                return
            with receiver.lock:
                receiver.received.append(ReceivedCallback(path=self.path, event=event))
            if refuse:
                self._answer(500, b"busy", "text/plain")
            else:
                self._answer(200, event.ack_body, event.ack_content_type)

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
