"""The card-centre console's fulfilment page: orders by status, the latest failed and in-review orders,
and open reconciliation differences (`/console/fulfilment/`)."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from accounts.console import console_view
from fulfillment.models import FulfilmentOrder, OrderStatus, ReconciliationFlag


@console_view()
def fulfilment_overview(request: HttpRequest) -> HttpResponse:
    counts = dict(FulfilmentOrder.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    rows = [(label, counts.get(value, 0)) for value, label in OrderStatus.choices]
    attention = list(
        FulfilmentOrder.objects.filter(status__in=[OrderStatus.MANUAL_REVIEW, OrderStatus.FAILED])
        .select_related("product")
        .order_by("-updated_at")[:50]
    )
    flags = list(ReconciliationFlag.objects.filter(resolved_at__isnull=True).select_related("supplier")[:200])
    return render(request, "console/fulfilment.html", {"rows": rows, "attention": attention, "flags": flags})


@console_view()
def webhooks_page(request: HttpRequest) -> HttpResponse:
    """The delivery log of the bank's notifications; admins set the URL (the secret is shown once)
    and resend a delivery by hand."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from accounts.models import Role
    from accounts.services import audit_record
    from fulfillment.models import WebhookDelivery, WebhookEndpoint
    from fulfillment.webhooks import webhook_endpoint_set, webhook_resend
    from platform.errors import ApplicationError

    new_secret = ""
    if request.method == "POST":
        if getattr(request.user, "role", "") != Role.ADMIN:
            raise ApplicationError("console.forbidden", "您的角色无权进行此操作", status=403)
        if request.POST.get("resend"):
            delivery_id = int(request.POST["resend"])
            webhook_resend(delivery_id=delivery_id)
            audit_record(action="webhook.resend", request=request, after={"delivery": delivery_id})
            messages.success(request, "已重新发送")
            return redirect("/console/webhooks/")
        url = request.POST.get("url", "").strip()
        if not url.startswith(("https://", "http://")):
            messages.error(request, "请填写以 https:// 开头的通知地址")
            return redirect("/console/webhooks/")
        new_secret = webhook_endpoint_set(url=url)
        audit_record(action="webhook.endpoint_set", request=request, after={"url": url})
    endpoint = WebhookEndpoint.objects.filter(active=True).order_by("-id").first()
    deliveries = list(WebhookDelivery.objects.all()[:200])
    return render(
        request, "console/webhooks.html", {"endpoint": endpoint, "deliveries": deliveries, "new_secret": new_secret}
    )


urlpatterns = [
    path("fulfilment/", fulfilment_overview, name="fulfilment"),
    path("webhooks/", webhooks_page, name="webhooks"),
]
