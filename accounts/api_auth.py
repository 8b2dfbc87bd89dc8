"""Authentication of bank systems on the REST API: API key + HMAC-SHA256 request signature.

A request carries `X-Quanyi-Key`, `X-Quanyi-Timestamp` (unix seconds), `X-Quanyi-Nonce` (16–64
characters, never reused within the skew window) and `X-Quanyi-Signature`, the hex HMAC-SHA256
with the key's secret of the canonical string built by `canonical_request`. Each way to fail has
its own stable error code (see docs/api.md).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from accounts.models import ApiKey
from accounts.services import api_secret_derive
from platform.errors import ApplicationError, error_response
from platform.redis import get_redis
from platform.tenancy import BankRequest, current_schema

NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def canonical_request(*, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    sorted_query = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    return "\n".join([method.upper(), path, sorted_query, timestamp, nonce, hashlib.sha256(body).hexdigest()])


def sign(*, secret: str, method: str, path: str, query: str = "", timestamp: str, nonce: str, body: bytes) -> str:
    message = canonical_request(method=method, path=path, query=query, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _fail(code: str, message: str, status: int = 401) -> ApplicationError:
    return ApplicationError(code, message, status=status)


def api_key_authenticate(request: BankRequest, *, scope: str) -> ApiKey:
    key_id = request.headers.get("X-Quanyi-Key", "")
    timestamp = request.headers.get("X-Quanyi-Timestamp", "")
    nonce = request.headers.get("X-Quanyi-Nonce", "")
    signature = request.headers.get("X-Quanyi-Signature", "")
    if not (key_id and timestamp and nonce and signature):
        raise _fail("auth.missing_headers", _("缺少签名请求头"))
    bank_slug = getattr(request.tenant, "slug", "")
    if not key_id.startswith(f"qk_{bank_slug}_"):
        # the key's own prefix names its bank: a key of another bank is never looked up here
        raise _fail("auth.key_wrong_bank", _("该密钥不属于本银行"))
    key = ApiKey.objects.filter(key_id=key_id).first()
    if key is None:
        raise _fail("auth.unknown_key", _("密钥不存在"))
    if key.revoked_at is not None:
        raise _fail("auth.key_revoked", _("密钥已停用"))
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > settings.API_SIGNATURE_MAX_SKEW_S:
        raise _fail("auth.stale_timestamp", _("请求时间戳超出允许范围"))
    if not NONCE_PATTERN.match(nonce):
        raise _fail("auth.bad_nonce", _("随机串格式不正确"))
    secret = api_secret_derive(key_id=key.key_id, salt=key.salt)
    if not hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(), key.secret_digest):
        raise _fail("auth.unknown_key", _("密钥不存在"))
    expected = sign(
        secret=secret,
        method=request.method or "GET",
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        timestamp=timestamp,
        nonce=nonce,
        body=request.body,
    )
    if not hmac.compare_digest(expected, signature.lower()):
        raise _fail("auth.bad_signature", _("签名不正确"))
    # a nonce is remembered for twice the skew window: any replay inside the window is refused
    nonce_key = f"api-nonce:{current_schema()}:{key.key_id}:{nonce}"
    if not get_redis().set(nonce_key, 1, nx=True, ex=2 * settings.API_SIGNATURE_MAX_SKEW_S):
        raise _fail("auth.replayed_nonce", _("请求已被使用（重放）"))
    if scope not in key.scopes:
        raise _fail("auth.scope_denied", _("该密钥无此权限"), status=403)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


def api_endpoint(*, scope: str) -> Callable[[Callable[..., Any]], Callable[..., HttpResponse]]:
    """Decorate a bank API view: authenticate, attach `request.api_key`, map errors to JSON."""

    def decorator(view: Callable[..., Any]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: BankRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                request.api_key = api_key_authenticate(request, scope=scope)
                result = view(request, *args, **kwargs)
            except ApplicationError as error:
                return error_response(request, error)
            if isinstance(result, HttpResponse):
                return result
            return JsonResponse(result, json_dumps_params={"ensure_ascii": False})

        return wrapper

    return decorator


def signed_headers(
    *,
    key_id: str,
    secret: str,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers a bank system sends; used by our tests, benchmarks and the API docs' example."""
    import secrets as _secrets

    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or _secrets.token_urlsafe(18)
    return {
        "X-Quanyi-Key": key_id,
        "X-Quanyi-Timestamp": stamp,
        "X-Quanyi-Nonce": nonce,
        "X-Quanyi-Signature": sign(
            secret=secret, method=method, path=path, query=query, timestamp=stamp, nonce=nonce, body=body
        ),
    }
