"""Card-centre console pages for campaigns, the price list, users and the audit export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import chain
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.console import ALL_ROLES, MANAGERS, console_view
from accounts.models import AuditEntry, Role, User
from accounts.services import audit_record, staff_user_create, staff_user_set_active
from campaigns import services, whitelist
from campaigns.forms import BranchQuotaForm, CampaignForm, CodeBatchForm, StaffUserForm, WhitelistForm
from campaigns.models import Campaign, CampaignStatus
from campaigns.progress import progress_get
from campaigns.selectors import campaigns_for_console
from platform.errors import ApplicationError
from platform.tenancy import BankRequest
from reports.exports import export_request
from reports.models import Export


@console_view()
def campaign_list(request: BankRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    context = {
        "campaigns": campaigns_for_console(status=status)[:200],
        "status": status,
        "statuses": CampaignStatus.choices,
    }
    return render(request, "console/campaigns/list.html", context)


@console_view(roles=MANAGERS)
def campaign_new(request: BankRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(actor=request.user, data=form.service_data())
        except ApplicationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("活动已创建（草稿）"))
            return redirect("console:campaign_detail", campaign_id=campaign.pk)
    return render(request, "console/campaigns/form.html", {"form": form, "campaign": None})


@console_view(roles=MANAGERS)
def campaign_edit(request: BankRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = CampaignForm(request.POST or None, instance=Campaign.objects.get(pk=campaign.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign=campaign, actor=request.user, data=form.service_data())
        except ApplicationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("已保存"))
            return redirect("console:campaign_detail", campaign_id=campaign.pk)
    return render(request, "console/campaigns/form.html", {"form": form, "campaign": campaign})


def _form_errors(form: CampaignForm, error: ApplicationError) -> None:
    fields = error.extra.get("fields") or {}
    for name, message in fields.items():
        form.add_error(name if name in form.fields else None, message)
    if not fields:
        form.add_error(None, error.message)


@console_view()
def campaign_detail(request: BankRequest, campaign_id: int) -> HttpResponse:
    from rights_catalog.selectors import bank_price_list

    campaign = get_object_or_404(Campaign, pk=campaign_id)
    chosen = set(campaign.items.values_list("product_id", flat=True))
    context: dict[str, Any] = {
        "campaign": campaign,
        "items": campaign.items.select_related("product"),
        "problems": services.campaign_problems(campaign=campaign, bank=request.tenant),
        "price_list": bank_price_list(bank=request.tenant),
        "chosen": chosen,
        "quotas": campaign.branch_quotas.order_by("branch_code"),
        "quota_form": BranchQuotaForm(
            initial={
                "quotas": "\n".join(
                    f"{q.branch_code}={q.quota}" for q in campaign.branch_quotas.order_by("branch_code")
                )
            }
        ),
        "whitelist_form": WhitelistForm(),
        "imports": campaign.whitelist_imports.order_by("-created_at")[:10],
        "batch_form": CodeBatchForm(),
        "batches": campaign.code_batches.filter(source="pool").order_by("-created_at")[:10],
        "exports": Export.objects.filter(table="codes", params__campaign=campaign.pk)[:5],
        "events": campaign.events.order_by("-created_at")[:30],
        "value_per_grant": services.value_per_grant(campaign),
        "actions": [
            name
            for name, (sources, _target, roles) in services.TRANSITIONS.items()
            if campaign.status in sources and request.user.role in roles
        ],
        "can_edit": request.user.role in MANAGERS,
    }
    return render(request, "console/campaigns/detail.html", context)


@require_POST
@console_view(roles=MANAGERS)
def campaign_items(request: BankRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        ids = [int(value) for value in request.POST.getlist("products")]
        services.campaign_set_items(campaign=campaign, bank=request.tenant, product_ids=ids, actor=request.user)
        messages.success(request, _("权益包已更新"))
    except ValueError:
        messages.error(request, _("请选择有效的权益"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("console:campaign_detail", campaign_id=campaign.pk)


@require_POST
@console_view(roles=MANAGERS)
def campaign_quotas(request: BankRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = BranchQuotaForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for e in form.errors.get("quotas", [])))
    else:
        try:
            services.campaign_set_branch_quotas(
                campaign=campaign, quotas=form.cleaned_data["quotas"], actor=request.user
            )
            messages.success(request, _("网点名额已更新"))
        except ApplicationError as error:
            messages.error(request, error.message)
    return redirect("console:campaign_detail", campaign_id=campaign.pk)


@require_POST
@console_view(roles=ALL_ROLES)
def campaign_transition(request: BankRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        campaign = services.campaign_transition(
            campaign=campaign, bank=request.tenant, action=request.POST.get("action", ""), actor=request.user
        )
        messages.success(request, _("活动状态：%(status)s") % {"status": campaign.get_status_display()})
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("console:campaign_detail", campaign_id=campaign.pk)


@require_POST
@console_view(roles=MANAGERS)
def campaign_whitelist(request: BankRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = WhitelistForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择文件"))
    else:
        upload = form.cleaned_data["file"]
        try:
            whitelist.whitelist_import_create(
                campaign=campaign, file_name=upload.name, content=upload, actor=request.user
            )
            messages.success(request, _("文件已上传，正在后台校验与导入"))
        except ApplicationError as error:
            messages.error(request, error.message)
    return redirect("console:campaign_detail", campaign_id=campaign.pk)


@require_POST
@console_view(roles=MANAGERS)
def campaign_code_batch(request: BankRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = CodeBatchForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("数量须在 1 到 10,000,000 之间"))
    else:
        try:
            services.code_batch_create(campaign=campaign, count=form.cleaned_data["count"], actor=request.user)
            messages.success(request, _("正在后台生成兑换码"))
        except ApplicationError as error:
            messages.error(request, error.message)
    return redirect("console:campaign_detail", campaign_id=campaign.pk)


@require_POST
@console_view(roles=[Role.ADMIN])
def campaign_export(request: BankRequest, campaign_id: int) -> HttpResponse:
    """The offline code pool in plain text: the reports export of table `codes` (encrypted ZIP)."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    _export, password = export_request(actor=request.user, table="codes", campaign=campaign, request=request)
    messages.warning(
        request, _("导出文件的解压密码（只显示这一次，请妥善保存）：%(password)s") % {"password": password}
    )
    return redirect("console:campaign_detail", campaign_id=campaign.pk)


@console_view()
def job_progress(request: BankRequest, kind: str, job_id: int) -> JsonResponse:
    from campaigns.models import CodeBatch, WhitelistImport

    progress = progress_get(kind, job_id) or {}
    if kind == "whitelist":
        job = get_object_or_404(WhitelistImport, pk=job_id)
        progress |= {
            "status": job.status,
            "status_label": job.get_status_display(),
            "imported": job.imported_rows,
            "errors": job.error_count,
        }
    elif kind == "codes":
        batch = get_object_or_404(CodeBatch, pk=job_id)
        progress |= {"status": batch.status, "status_label": batch.get_status_display(), "created": batch.created_count}
    return JsonResponse(progress)


@console_view()
def price_list(request: BankRequest) -> HttpResponse:
    from rights_catalog.selectors import bank_price_list

    return render(request, "console/price_list.html", {"prices": bank_price_list(bank=request.tenant)})


@console_view(roles=[Role.ADMIN])
def users(request: BankRequest) -> HttpResponse:
    form = StaffUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff_user_create(actor=request.user, request=request, **form.cleaned_data)
            messages.success(request, _("用户已创建"))
            return redirect("console:users")
        except ApplicationError as error:
            form.add_error(None, error.message)
    return render(request, "console/users.html", {"form": form, "users": User.objects.order_by("username")})


@require_POST
@console_view(roles=[Role.ADMIN])
def user_active(request: BankRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    try:
        staff_user_set_active(user=user, active=request.POST.get("active") == "1", actor=request.user, request=request)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("console:users")


class _Echo:
    def write(self, value: str) -> str:  # csv.writer's file: hand the line back
        return value


@console_view(roles=[Role.ADMIN, Role.AUDITOR])
def audit_export(request: BankRequest) -> StreamingHttpResponse:
    entries = AuditEntry.objects.order_by("-created_at")
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action__startswith=action)
    audit_record(action="audit.export", actor=request.user, request=request, after={"filter": action})
    writer = csv.writer(_Echo())  # type: ignore[arg-type]
    header = ["时间", "操作者", "操作", "对象类型", "对象", "修改前", "修改后", "来源地址"]
    rows: Iterator[list[Any]] = (
        [e.created_at.isoformat(), e.actor_label, e.action, e.target_type, e.target_id, e.before, e.after, e.ip_address]
        for e in entries.iterator(chunk_size=2000)
    )
    lines = chain(["\ufeff"], (writer.writerow(row) for row in chain([list(header)], rows)))
    response = StreamingHttpResponse(lines)
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
