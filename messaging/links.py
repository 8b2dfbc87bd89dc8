"""Signed, expiring tokens for the H5 link in a text, bound to the bank's schema (a token of one
bank is invalid on another), and absolute short links on the bank's primary host."""

from __future__ import annotations

import time
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from platform.errors import ApplicationError
from platform.tenancy import current_schema
from tenants.models import Domain


def _salt() -> str:
    return f"quanyi.sms-link:{current_schema()}"


def signed_token_create(*, payload: dict[str, Any], ttl_s: int) -> str:
    return signing.dumps({"p": payload, "e": int(time.time()) + int(ttl_s)}, salt=_salt(), compress=True)


def signed_token_read(*, token: str) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=_salt())
    except signing.BadSignature as error:
        raise ApplicationError("link.invalid", _("链接无效")) from error
    if not isinstance(data, dict) or "p" not in data:
        raise ApplicationError("link.invalid", _("链接无效"))
    if int(data.get("e", 0)) < time.time():
        raise ApplicationError("link.expired", _("链接已过期"), status=410)
    return cast(dict[str, Any], data["p"])


def bank_primary_host() -> str:
    schema = current_schema()
    domain = Domain.objects.filter(tenant__schema_name=schema, is_primary=True).values_list("domain", flat=True).first()
    if domain is None:
        raise ApplicationError("link.no_host", _("银行未配置访问域名"))
    return str(domain)


def short_link(*, path: str, token: str) -> str:
    """`https://<bank host><path>/<token>`; `path` may instead contain `{token}`."""
    scheme = "https" if settings.PRODUCTION else "http"
    tail = path.replace("{token}", token) if "{token}" in path else path.rstrip("/") + "/" + token
    if not tail.startswith("/"):
        tail = "/" + tail
    return f"{scheme}://{bank_primary_host()}{tail}"
