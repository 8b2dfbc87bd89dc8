"""Resolve the bank from the host, and keep a suspended bank's doors closed politely."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django.urls import set_urlconf
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware

from platform.errors import ApplicationError, error_response
from platform.tenancy import use_public_schema

# answered on any host, before a bank is looked up, so a load balancer can probe by address
HOST_INDEPENDENT_PATHS = ("/healthz", "/readyz")


class BankMiddleware(TenantMainMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if request.path in HOST_INDEPENDENT_PATHS:
            use_public_schema()
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
            set_urlconf(settings.PUBLIC_SCHEMA_URLCONF)
            return None
        result: HttpResponse | None = super().process_request(request)
        return result

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        return HttpResponseNotFound(_("未知的站点地址").encode(), content_type="text/plain; charset=utf-8")


class SuspendedBankMiddleware:
    """A suspended bank: cardholder pages show a notice in the bank's colours, the API and the
    console refuse with a clear error. Static files and health checks still answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bank = getattr(request, "tenant", None)
        if bank is not None and bank.is_suspended and not request.path.startswith(("/static/", "/healthz", "/readyz")):
            if request.path.startswith(("/api/", "/console/")):
                error = ApplicationError("bank.suspended", _("该银行的服务已暂停"), status=403)
                return error_response(request, error)
            return render(request, "h5/suspended.html", {"bank": bank}, status=503)
        return self.get_response(request)
