"""The platform console's operations page (platform host, staff only)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from reports.operations import WINDOW_DAYS, operations_overview


def operations(request: HttpRequest) -> HttpResponse:
    from reports import charts

    data = operations_overview()
    context = {
        **admin.site.each_context(request),
        "title": "运营总览",
        "data": data,
        "window_days": WINDOW_DAYS,
        "bank_chart": charts.bars(
            [(row["bank"].name[:10], row["recent"]["rights"]) for row in data.banks], color=charts.PALETTE[0]
        ),
        "supplier_chart": charts.bars(
            [(row["supplier"].name[:10], row["success_rate"] or 0) for row in data.suppliers],
            color=charts.PALETTE[1],
            unit="%",
        ),
    }
    return render(request, "reports/operations.html", context)


urlpatterns = [path("", admin.site.admin_view(operations), name="operations")]
