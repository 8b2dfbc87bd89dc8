"""The platform's outbound HTTP client tells "definitely not sent" from "outcome unknown"."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from platform.http import HttpClient, NotSent, OutcomeUnknown

PORT = 18130


@contextmanager
def raw_server(behaviour: str) -> Iterator[list[bytes]]:
    """A TCP server that reads one request, then: `drop` (close without answer), `hang` (say
    nothing for 3 s), `503`, `404`."""
    received: list[bytes] = []
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PORT))
    listener.listen()
    listener.settimeout(5)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            received.append(connection.recv(65536))
            if behaviour == "hang":
                time.sleep(3)
            elif behaviour in ("503", "404"):
                body = b"{}"
                connection.sendall(
                    f"HTTP/1.1 {behaviour} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        listener.close()
        thread.join(timeout=5)


def test_refused_connection_is_not_sent() -> None:
    with pytest.raises(NotSent):
        HttpClient(connect_timeout_s=0.5, connect_retries=1).request(
            "POST", f"http://127.0.0.1:{PORT}/x", data={"a": "1"}
        )


def test_connection_dropped_after_sending_is_unknown() -> None:
    with raw_server("drop") as received, pytest.raises(OutcomeUnknown):
        HttpClient(read_timeout_s=2).request("POST", f"http://127.0.0.1:{PORT}/x", data={"a": "1"})
    assert len(received) == 1  # not retried


def test_read_timeout_is_unknown_and_not_retried() -> None:
    with raw_server("hang") as received:
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown):
            HttpClient(read_timeout_s=0.5).request("POST", f"http://127.0.0.1:{PORT}/x", data={"a": "1"})
        assert time.monotonic() - started < 2
    assert len(received) == 1


def test_server_error_is_unknown_and_client_error_is_an_answer() -> None:
    with raw_server("503"), pytest.raises(OutcomeUnknown) as raised:
        HttpClient().request("GET", f"http://127.0.0.1:{PORT}/x")
    assert raised.value.status == 503
    with raw_server("404"):
        assert HttpClient().request("GET", f"http://127.0.0.1:{PORT}/x").status == 404
