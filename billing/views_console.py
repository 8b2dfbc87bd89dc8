"""Bank console: the bank's billing status, credit, and its monthly statements (admins, auditors)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render

from accounts.console import console_view
from accounts.models import Role
from billing.models import Statement, StatementStatus
from billing.selectors import UNLIMITED_FEN, account_for_bank, credit_available, statements_for_bank
from billing.statements import statement_open
from platform.tenancy import BankRequest


@console_view(roles=[Role.ADMIN, Role.AUDITOR])
def billing_home(request: BankRequest) -> HttpResponse:
    bank = request.tenant
    available = credit_available(bank=bank)
    context = {
        "account": account_for_bank(bank=bank),
        "credit_available": None if available >= UNLIMITED_FEN else available,
        "statements": statements_for_bank(bank=bank),
    }
    return render(request, "billing/console_billing.html", context)


@console_view(roles=[Role.ADMIN, Role.AUDITOR])
def statement_download(request: BankRequest, statement_id: int) -> HttpResponse:
    # statements live in the public schema: always filter by the bank of this host
    statement = Statement.objects.filter(pk=statement_id, bank=request.tenant, status=StatementStatus.READY).first()
    if statement is None:
        raise Http404
    response = HttpResponse(statement_open(statement=statement), content_type="application/pdf")
    filename = f"statement-{statement.bank.slug}-{statement.month:%Y-%m}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
