"""Card-centre console pages of reports: the bank overview, a campaign's dashboard and the export
jobs. Every page reads rollups only; a branch manager's scope is forced to their branch here, on
the server, whatever the query string says."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.console import console_view
from accounts.models import Role
from campaigns.models import Campaign
from platform.errors import ApplicationError
from platform.tenancy import BankRequest
from reports import charts, exports, selectors
from reports.models import Export


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _scope(request: BankRequest) -> selectors.Scope:
    return selectors.scope_for(
        user=request.user,
        branch=request.GET.get("branch", ""),
        date_from=_date(request.GET.get("from", "")),
        date_to=_date(request.GET.get("to", "")),
    )


def _yuan(fen: int) -> float:
    return round(fen / 100, 2)


@console_view()
def overview(request: BankRequest) -> HttpResponse:
    from billing.models import BillingAccount
    from billing.selectors import credit_available

    scope = _scope(request)
    rows = selectors.campaigns_overview(scope=scope)
    trend = selectors.bank_trend(scope=scope)[-60:]
    labels = [row["day"].strftime("%m-%d") for row in trend]
    context: dict[str, Any] = {
        "scope": scope,
        "rows": rows,
        "trend": trend,
        "is_branch_manager": request.user.role == Role.BRANCH_MANAGER,
        "trend_chart": charts.columns(
            labels,
            [
                (_("已发放"), [r["granted"] for r in trend]),
                (_("兑换"), [r["redeemed"] for r in trend]),
                (_("到账"), [r["fulfilled"] for r in trend]),
            ],
        ),
        "spend_chart": charts.bars(
            [(r["campaign"].name[:12], _yuan(r["spent_fen"])) for r in rows if r["spent_fen"]][:15], unit=" 元"
        ),
        "branches": selectors.branches_known(),
        "query": request.GET.urlencode(),
    }
    if request.user.role in (Role.ADMIN, Role.AUDITOR):
        account = BillingAccount.objects.filter(bank=request.tenant).first()
        context["credit_limit_fen"] = account.credit_limit_fen if account else None
        context["credit_available_fen"] = credit_available(bank=request.tenant) if account else None
        context["spent_total_fen"] = sum(r["spent_fen"] for r in rows)
    return render(request, "reports/overview.html", context)


@console_view()
def campaign_dashboard(request: BankRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    scope = _scope(request)
    figures = selectors.campaign_figures(campaign=campaign, scope=scope)
    totals, days, products, branches = figures.totals, figures.by_day, figures.by_product, figures.by_branch
    funnel = selectors.funnel(totals)
    ttr = selectors.time_to_redeem(totals)
    labels = [row["day"].strftime("%m-%d") for row in days]
    context: dict[str, Any] = {
        "campaign": campaign,
        "scope": scope,
        "totals": totals,
        "days": days,
        "products": products,
        "branches": branches,
        "funnel": funnel,
        "ttr": ttr,
        "is_branch_manager": request.user.role == Role.BRANCH_MANAGER,
        "codes_issued": selectors.codes_issued(campaign=campaign),
        "budget_share": selectors._percent(campaign.spent_fen, campaign.budget_fen),
        "funnel_chart": charts.bars([(str(step["label"]), step["value"]) for step in funnel]),
        "ttr_chart": charts.bars(ttr, color=charts.PALETTE[1]),
        "day_chart": charts.columns(
            labels,
            [
                (_("已发放"), [r["granted"] for r in days]),
                (_("兑换"), [r["redeemed"] for r in days]),
                (_("到账"), [r["fulfilled"] for r in days]),
                (_("失败"), [r["failed"] for r in days]),
            ],
        ),
        "spend_chart": charts.columns(labels, [(_("花费（元）"), [_yuan(r["spent_fen"]) for r in days])]),
        "product_chart": charts.bars([(p["name"][:10], p["rights"]) for p in products], color=charts.PALETTE[3]),
        "branch_chart": charts.bars(
            [(b["branch_code"] or _("未指定"), b["redeemed"]) for b in branches], color=charts.PALETTE[4]
        ),
        "branch_choices": _branch_choices(request, campaign, scope, branches),
        "export_tables": [t for t in exports.TABLES.values() if t.needs_campaign],
        "query": request.GET.urlencode(),
    }
    return render(request, "reports/campaign.html", context)


def _branch_choices(
    request: BankRequest, campaign: Campaign, scope: selectors.Scope, branches: list[dict[str, Any]]
) -> list[str]:
    if request.user.role == Role.BRANCH_MANAGER:
        return []
    if scope.branch is None and scope.date_from is None and scope.date_to is None:
        # every branch the campaign has figures for is in the breakdown already
        quotas = set(campaign.branch_quotas.values_list("branch_code", flat=True))
        return sorted({row["branch_code"] for row in branches if row["branch_code"]} | quotas)
    return selectors.branches_known(campaign=campaign)


@console_view()
def export_list(request: BankRequest) -> HttpResponse:
    if request.method == "POST":
        campaign_id = _int(request.POST.get("campaign", ""))
        campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
        try:
            export, password = exports.export_request(
                actor=request.user,
                table=request.POST.get("table", ""),
                file_format=request.POST.get("format", "csv"),
                campaign=campaign,
                branch=request.POST.get("branch", ""),
                date_from=_date(request.POST.get("from", "")),
                date_to=_date(request.POST.get("to", "")),
                unmasked=request.POST.get("unmasked") == "1",
                request=request,
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("导出任务已提交，正在后台生成"))
            if password:
                messages.warning(
                    request, _("导出文件的解压密码（只显示这一次，请妥善保存）：%(password)s") % {"password": password}
                )
        return redirect(_next(request, "/console/reports/exports/"))
    rows = list(exports.exports_visible(actor=request.user)[:50])
    for export in rows:
        spec = exports.TABLES.get(export.table)
        export.label = str(spec.label) if spec else export.table  # type: ignore[attr-defined]
    context = {"exports": rows}
    return render(request, "reports/exports.html", context)


def _next(request: BankRequest, default: str) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/console/") and "//" not in target else default


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _visible_export(request: BankRequest, export_id: int) -> Export:
    return get_object_or_404(exports.exports_visible(actor=request.user), pk=export_id)


@console_view()
def export_progress(request: BankRequest, export_id: int) -> JsonResponse:
    return JsonResponse(exports.export_progress(_visible_export(request, export_id)))


@console_view()
def export_link(request: BankRequest, export_id: int) -> HttpResponse:
    export = _visible_export(request, export_id)
    token = exports.export_link_token(export=export, actor=request.user)
    return redirect(f"/console/reports/exports/download/?token={token}")


@console_view()
def export_download(request: BankRequest) -> FileResponse:
    export = exports.export_for_download(token=request.GET.get("token", ""), actor=request.user, request=request)
    return FileResponse(default_storage.open(export.stored_path, "rb"), as_attachment=True, filename=export.file_name)


@require_POST
@console_view(roles=[Role.ADMIN])
def fold_now(request: BankRequest) -> HttpResponse:
    """Refresh the figures now instead of within the minute (admins; the same fold the beat runs)."""
    from reports.fold import fold_run

    fold_run()
    messages.success(request, _("数据已刷新"))
    return redirect(_next(request, "/console/reports/"))
