"""The platform console's manual-review queue (platform host, staff only): orders in `manual_review`
across every active bank, with the actions mark succeeded (with evidence), fail and restore, retry.

Orders live in each bank's schema; this view iterates the active banks' schemas rather than keeping a
public index (docs/decisions/0400-manual-review-across-bank-schemas.md)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django_tenants.utils import schema_context

from fulfillment import engine
from platform.errors import ApplicationError
from tenants.models import Bank

ACTIONS = {"succeeded": "标记成功", "fail": "失败并退回", "retry": "重新发放"}


def review_queue(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        bank = Bank.objects.active().filter(slug=request.POST.get("bank", "")).first()
        action = request.POST.get("action", "")
        evidence = request.POST.get("evidence", "").strip()
        try:
            order_id = int(request.POST.get("order", "0"))
        except ValueError:
            order_id = 0
        if bank is None or action not in ACTIONS or not order_id:
            messages.error(request, "请求无效")
            return HttpResponseRedirect(request.path)
        try:
            with schema_context(bank.schema_name):
                engine.manual_review_resolve(
                    order_id=order_id, action=action, actor=request.user.get_username(), evidence=evidence
                )
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(request.path)
        from accounts.services import audit_record

        audit_record(
            action=f"fulfilment.review.{action}",
            request=request,
            after={"bank": bank.slug, "order": order_id, "evidence": evidence[:200]},
        )
        messages.success(request, f"{bank.name} 订单 {order_id}：{ACTIONS[action]}")
        return HttpResponseRedirect(request.path)
    rows: list[dict[str, Any]] = []
    for bank in Bank.objects.active().order_by("slug"):
        with schema_context(bank.schema_name):
            for order in engine.manual_review_orders():
                last = order.events.filter(kind="manual_review").order_by("-id").first()  # type: ignore[attr-defined]
                attempt = order.attempts.order_by("-number").first()  # type: ignore[attr-defined]
                reason = (last.data or {}).get("reason", "") if last else ""
                rows.append({"bank": bank, "order": order, "reason": reason, "attempt": attempt})
    context = {**admin.site.each_context(request), "title": "人工处理队列", "rows": rows, "actions": ACTIONS}
    return render(request, "fulfillment/review.html", context)


urlpatterns = [path("review/", admin.site.admin_view(review_queue), name="fulfilment-review")]
