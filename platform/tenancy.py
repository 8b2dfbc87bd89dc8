"""Typed access to django-tenants' additions to the connection and the request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.db import connection
from django.http import HttpRequest

if TYPE_CHECKING:
    from accounts.models import ApiKey, User
    from tenants.models import Bank


class BankRequest(HttpRequest):
    """A request on a bank's host: the middleware has set `tenant`; the API layer sets `api_key`."""

    tenant: Bank
    api_key: ApiKey
    user: User  # type: ignore[assignment]
    urlconf: str


def current_schema() -> str:
    return cast(str, cast(Any, connection).schema_name)


def use_public_schema() -> None:
    cast(Any, connection).set_schema_to_public()
