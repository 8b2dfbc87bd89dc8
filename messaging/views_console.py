"""Card-centre console pages for SMS: outbox and launch progress, templates with preview, provider."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.console import ALL_ROLES, MANAGERS, console_view
from accounts.models import Role
from messaging import selectors, services
from messaging.backends import BACKEND_LABELS, BACKENDS, backend_class
from messaging.models import SmsBatch, SmsMessage, SmsProviderAccount, SmsStatus, SmsTemplate
from messaging.texts import DEFAULT_TEMPLATES, text_segments
from platform.crypto import digest
from platform.errors import ApplicationError
from platform.tenancy import BankRequest


@console_view(roles=ALL_ROLES)
def overview(request: BankRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    phone = request.GET.get("phone", "").strip()
    phone_digest = ""
    if phone:
        try:
            phone_digest = digest(services.phone_normalize(phone), purpose="phone")
        except ApplicationError as error:
            messages.error(request, error.message)
    batches = [selectors.sms_batch_progress(batch=batch) for batch in SmsBatch.objects.all()[:20]]
    context = {
        "counts": selectors.sms_status_counts(),
        "statuses": SmsStatus.choices,
        "status": status,
        "phone": phone,
        "batches": batches,
        "messages_page": selectors.sms_messages(status=status, phone_digest=phone_digest)[:100],
        "can_manage": request.user.role in MANAGERS,
    }
    return render(request, "messaging/overview.html", context)


@require_POST
@console_view(roles=MANAGERS)
def batch_action(request: BankRequest, batch_id: int, action: str) -> HttpResponse:
    batch = get_object_or_404(SmsBatch, pk=batch_id)
    try:
        if action == "pause":
            services.sms_batch_pause(batch=batch, actor=request.user, request=request)
            messages.success(request, _("批次已暂停"))
        elif action == "resume":
            services.sms_batch_resume(batch=batch, actor=request.user, request=request)
            messages.success(request, _("批次已继续"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("sms_console:overview")


@require_POST
@console_view(roles=MANAGERS)
def message_decide(request: BankRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(SmsMessage, pk=message_id)
    try:
        services.sms_operator_decide(
            message=message, decision=request.POST.get("decision", ""), actor=request.user, request=request
        )
        messages.success(request, _("已处理"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("sms_console:overview")


@console_view(roles=ALL_ROLES)
def templates(request: BankRequest) -> HttpResponse:
    form = {
        "key": request.GET.get("key", ""),
        "name": "",
        "signature": request.tenant.name[:12],
        "text": "",
        "provider_template_code": "",
        "registered_text": "",
    }
    existing = SmsTemplate.objects.filter(key=form["key"]).first() if form["key"] else None
    if existing is not None:
        form.update(
            name=existing.name,
            signature=existing.signature,
            text=existing.text,
            provider_template_code=existing.provider_template_code,
            registered_text=existing.registered_text,
        )
    elif form["key"] in DEFAULT_TEMPLATES:
        form.update(name=DEFAULT_TEMPLATES[form["key"]][0], text=DEFAULT_TEMPLATES[form["key"]][1])
    preview = None
    if request.method == "POST":
        if request.user.role not in MANAGERS:
            raise ApplicationError("console.forbidden", _("您的角色无权进行此操作"), status=403)
        form = {name: request.POST.get(name, "") for name in form}
        try:
            preview = services.template_preview(
                signature=form["signature"],
                text=form["text"],
                provider_template_code=form["provider_template_code"],
                registered_text=form["registered_text"],
            )
            if request.POST.get("action") == "save":
                services.template_save(**form, actor=request.user, request=request)
                messages.success(request, _("模板已保存"))
                return redirect(f"/console/sms/templates/?key={form['key']}")
        except ApplicationError as error:
            messages.error(request, error.message)
    rows = []
    saved = {t.key: t for t in SmsTemplate.objects.all()}
    for key in sorted(set(saved) | set(DEFAULT_TEMPLATES)):
        spec = services.template_resolve(key=key)
        length, segments = text_segments(f"【{spec.signature}】{spec.text}")
        rows.append({"key": key, "spec": spec, "custom": key in saved, "length": length, "segments": segments})
    return render(
        request,
        "messaging/templates.html",
        {"rows": rows, "form": form, "preview": preview, "can_manage": request.user.role in MANAGERS},
    )


@console_view(roles=[Role.ADMIN])
def provider(request: BankRequest) -> HttpResponse:
    if request.method == "POST":
        backend = request.POST.get("backend", "")
        fields = backend_class(backend).credential_fields if backend in BACKENDS else ()
        credentials = {name: request.POST.get(f"cred_{name}", "").strip() for name in fields}
        try:
            services.provider_account_save(
                backend=backend,
                name=request.POST.get("name", ""),
                credentials={k: v for k, v in credentials.items() if v},
                rate_per_s=int(request.POST.get("rate_per_s") or 0),
                promotional_daily_max=int(request.POST.get("promotional_daily_max") or 3),
                quiet_start_hour=int(request.POST.get("quiet_start_hour") or 0),
                quiet_end_hour=int(request.POST.get("quiet_end_hour") or 0),
                actor=request.user,
                request=request,
            )
            messages.success(request, _("短信服务商已保存"))
            return redirect("sms_console:provider")
        except (ApplicationError, ValueError) as error:
            messages.error(request, getattr(error, "message", _("请输入有效的数字")))
    account = services.provider_account_active()
    backends = [
        {"name": name, "label": BACKEND_LABELS[name], "fields": backend_class(name).credential_fields}
        for name in BACKENDS
    ]
    receipt_url = (
        request.build_absolute_uri(f"/sms/receipts/{account.backend}/{account.receipt_token}/") if account else ""
    )
    return render(
        request,
        "messaging/provider.html",
        {
            "account": account,
            "backends": backends,
            "receipt_url": receipt_url,
            "history": SmsProviderAccount.objects.order_by("-created_at")[:10],
        },
    )
