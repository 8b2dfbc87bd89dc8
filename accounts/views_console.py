"""Card-centre console pages owned by accounts: sign in and out, home, API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.console import console_view
from accounts.forms import ConsoleLoginForm
from accounts.models import ApiKey, ApiScope, AuditEntry, Role
from accounts.services import api_key_create, api_key_revoke
from platform.errors import ApplicationError
from platform.tenancy import BankRequest


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = ConsoleLoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return "/console/"


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "/console/login/"


@console_view()
def home(request: BankRequest) -> HttpResponse:
    return render(request, "console/home.html", {"bank": request.tenant})


@console_view(roles=[Role.ADMIN])
def api_keys(request: BankRequest) -> HttpResponse:
    new_secret = None
    new_key = None
    if request.method == "POST":
        try:
            new_key, new_secret = api_key_create(
                name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"),
                actor=request.user,
                request=request,
                bank_slug=request.tenant.slug,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
    context = {
        "keys": ApiKey.objects.order_by("-created_at"),
        "scopes": ApiScope.choices,
        "new_key": new_key,
        "new_secret": new_secret,
    }
    return render(request, "console/api_keys.html", context)


@require_POST
@console_view(roles=[Role.ADMIN])
def api_key_revoke_view(request: BankRequest, key_id: str) -> HttpResponse:
    key = get_object_or_404(ApiKey, key_id=key_id)
    api_key_revoke(key=key, actor=request.user, request=request)
    messages.success(request, _("密钥已停用"))
    return redirect("console:api_keys")


@console_view(roles=[Role.ADMIN, Role.AUDITOR])
def audit_log(request: BankRequest) -> HttpResponse:
    entries = AuditEntry.objects.all()
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action__startswith=action)
    return render(request, "console/audit_log.html", {"entries": entries[:200], "action": action})
