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
    attention = list(FulfilmentOrder.objects.filter(status__in=[OrderStatus.MANUAL_REVIEW, OrderStatus.FAILED])
                     .select_related("product").order_by("-updated_at")[:50])
    flags = list(ReconciliationFlag.objects.filter(resolved_at__isnull=True).select_related("supplier")[:200])
    return render(request, "console/fulfilment.html", {"rows": rows, "attention": attention, "flags": flags})


urlpatterns = [path("fulfilment/", fulfilment_overview, name="fulfilment")]
