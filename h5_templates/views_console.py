"""The card-centre page where a bank sets its white-label branding, with a live phone preview."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.console import console_view
from accounts.models import Role
from platform.errors import ApplicationError
from platform.tenancy import BankRequest
from tenants.branding import BRANDING_FIELDS, bank_branding_update


@console_view(roles=[Role.ADMIN])
def branding(request: BankRequest) -> HttpResponse:
    values = {name: getattr(request.tenant, name) for name in BRANDING_FIELDS}
    error = None
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in BRANDING_FIELDS}
        try:
            bank_branding_update(bank=request.tenant, data=values, actor=request.user)
        except ApplicationError as failure:
            error = failure.message
        else:
            messages.success(request, _("品牌设置已保存，持卡人页面已更新"))
            return redirect("/console/branding/")
    return render(request, "console/branding.html", {"values": values, "error": error}, status=400 if error else 200)
