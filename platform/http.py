"""The one outbound HTTP client of the platform: every call to a supplier, SMS provider or webhook
receiver goes through `HttpClient`, with connect/read timeouts, retries only where nothing can have
been sent, and failures mapped to two typed exceptions the callers must tell apart:

- `NotSent`: the request provably never reached the other side (DNS failure, connection refused,
  connect timeout, TLS handshake failure). Safe to treat as "did not happen" and try elsewhere.
- `OutcomeUnknown`: the request may have been received and acted upon (read timeout after sending,
  connection dropped while waiting for the answer, HTTP 5xx). Never resubmit elsewhere; ask first.

Log lines name the method, host, path, status and time only: never query strings, headers or bodies,
which carry signatures, accounts and credentials.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry

logger = logging.getLogger("quanyi.http")

DEFAULT_CONNECT_TIMEOUT_S = 3.05
DEFAULT_READ_TIMEOUT_S = 10.0
DEFAULT_CONNECT_RETRIES = 2


class OutboundError(Exception):
    """An outbound HTTP call did not produce a usable answer."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class NotSent(OutboundError):  # noqa: N818 - reads as the fact it states
    """The request certainly did not reach the server: nothing happened there."""


class OutcomeUnknown(OutboundError):  # noqa: N818 - reads as the fact it states
    """The server may have received and processed the request: its outcome must be asked for."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]
    elapsed_ms: int

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _safe_target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _never_sent(error: BaseException) -> bool:
    """True when the exception (or the one it wraps) happened before a byte of the request left."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ReadTimeoutError):
            return False
        if isinstance(current, NewConnectionError | ConnectTimeoutError | NameResolutionError | SSLError):
            return True
        if isinstance(current, MaxRetryError):
            current = current.reason
            continue
        current = current.__cause__ or current.__context__
    return False


class HttpClient:
    """A pooled urllib3 client with our timeouts and retry policy. Thread-safe: one process's workers
    share one client per target (connections are pooled and kept alive per host)."""

    def __init__(
        self,
        *,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        connect_retries: int = DEFAULT_CONNECT_RETRIES,
        user_agent: str = "Quanyi/1.0",
    ):
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        # Only connection set-up is retried: a read error or a 5xx may mean the server acted.
        retry = Retry(
            total=None,
            connect=connect_retries,
            read=False,
            status=0,
            other=0,
            redirect=False,
            allowed_methods=None,  # read errors and statuses are never retried (read=False, status=0)
            backoff_factor=0.1,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        # no proxies from the environment: a supplier's address is called as configured
        self.pool = urllib3.PoolManager(num_pools=8, maxsize=32, retries=retry, headers={"User-Agent": user_agent})

    def request(
        self,
        method: str,
        url: str,
        *,
        data: Mapping[str, str] | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout_s: float | None = None,
        unknown_on_5xx: bool = True,
    ) -> HttpResponse:
        """Send one request (`data`: a form as a mapping, or the body's bytes). Answers any status
        below 500 (and 5xx with `unknown_on_5xx=False`) as an `HttpResponse`; raises `NotSent` or
        `OutcomeUnknown` otherwise."""
        target = _safe_target(url)
        sent_headers = dict(headers or {})
        body: bytes | None
        if isinstance(data, Mapping):
            body = urlencode(data).encode()
            sent_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            body = data
        timeout = urllib3.Timeout(
            connect=self.connect_timeout_s, read=read_timeout_s if read_timeout_s is not None else self.read_timeout_s
        )
        started = time.monotonic()
        try:
            response = self.pool.request(
                method, url, body=body, headers=sent_headers, timeout=timeout, redirect=False, preload_content=True
            )
        except HTTPError as error:
            elapsed_ms = int((time.monotonic() - started) * 1000)
            if _never_sent(error):
                logger.warning("http %s %s not sent after %d ms: %s", method, target, elapsed_ms, type(error).__name__)
                raise NotSent(f"not sent: {type(error).__name__}", url=target) from error
            logger.warning(
                "http %s %s outcome unknown after %d ms: %s", method, target, elapsed_ms, type(error).__name__
            )
            raise OutcomeUnknown(f"outcome unknown: {type(error).__name__}", url=target) from error
        elapsed_ms = int((time.monotonic() - started) * 1000)
        logger.info("http %s %s -> %d in %d ms", method, target, response.status, elapsed_ms)
        if response.status >= 500 and unknown_on_5xx:
            raise OutcomeUnknown(f"server error {response.status}", url=target, status=response.status)
        return HttpResponse(
            status=response.status, body=response.data, headers=dict(response.headers), elapsed_ms=elapsed_ms
        )


_default_client: HttpClient | None = None


def default_client() -> HttpClient:
    """The process-wide client with default timeouts."""
    global _default_client
    if _default_client is None:
        _default_client = HttpClient()
    return _default_client
