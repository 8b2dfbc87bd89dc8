"""Warn a bank's console users, on every page, once the bank's bill has been past due too long."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from tenants.models import PUBLIC_SCHEMA


class PastDueWarningMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            request.method == "GET"
            and request.path.startswith("/console/")
            and tenant is not None
            and tenant.schema_name != PUBLIC_SCHEMA
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            from billing.selectors import past_due_warning

            warning = past_due_warning(bank=tenant)
            if warning:
                messages.warning(request, warning)
        return self.get_response(request)
