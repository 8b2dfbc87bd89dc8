"""Platform operations at a glance (platform staff): per bank volumes and spend, per supplier
success rate, latency, balance and orders in manual review, SMS delivery per provider, open alerts.
Figures come from each bank's rollups (one small query per bank and table), never raw rows;
orders in manual review are read through the partial index on open orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from reports.models import CampaignRollup, SmsRollup, SupplierRollup

WINDOW_DAYS = 7


@dataclass
class Operations:
    banks: list[dict[str, Any]] = field(default_factory=list)
    suppliers: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[Any] = field(default_factory=list)
    since: Any = None


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def operations_overview() -> Operations:
    from fulfillment.models import FulfilmentAttempt, FulfilmentOrder, OrderStatus
    from rights_catalog.models import Supplier, SupplierAlert
    from tenants.models import Bank

    since = timezone.localdate() - timedelta(days=WINDOW_DAYS - 1)
    result = Operations(since=since)
    per_supplier: dict[int, dict[str, int]] = {}
    per_backend: dict[str, dict[str, int]] = {}
    review_by_supplier: dict[int, int] = {}
    metrics = ("granted", "redeemed", "rights", "fulfilled", "failed", "in_review", "spent_fen")
    for bank in Bank.objects.active().order_by("slug"):
        with schema_context(bank.schema_name):
            total = CampaignRollup.objects.aggregate(**{m: Sum(m) for m in metrics})
            recent = CampaignRollup.objects.filter(day__gte=since).aggregate(**{m: Sum(m) for m in metrics})
            result.banks.append(
                {
                    "bank": bank,
                    "total": {m: total[m] or 0 for m in metrics},
                    "recent": {m: recent[m] or 0 for m in metrics},
                    "fulfilment_rate": _rate(total["fulfilled"] or 0, total["rights"] or 0),
                }
            )
            for row in (
                SupplierRollup.objects.filter(day__gte=since)
                .values("supplier_id")
                .annotate(
                    succeeded=Sum("succeeded"),
                    failed=Sum("failed"),
                    unknown=Sum("unknown"),
                    latency_ms_sum=Sum("latency_ms_sum"),
                    latency_count=Sum("latency_count"),
                )
            ):
                into = per_supplier.setdefault(row["supplier_id"], {})
                for key in ("succeeded", "failed", "unknown", "latency_ms_sum", "latency_count"):
                    into[key] = into.get(key, 0) + (row[key] or 0)
            for row in (
                SmsRollup.objects.filter(day__gte=since)
                .values("backend")
                .annotate(sent=Sum("sent"), delivered=Sum("delivered"), failed=Sum("failed"))
            ):
                into = per_backend.setdefault(row["backend"], {})
                for key in ("sent", "delivered", "failed"):
                    into[key] = into.get(key, 0) + (row[key] or 0)
            in_review = list(
                FulfilmentOrder.objects.filter(status=OrderStatus.MANUAL_REVIEW).values_list("pk", flat=True)[:1000]
            )
            if in_review:
                latest: dict[int, int] = {}
                for order_id, supplier_id in (
                    FulfilmentAttempt.objects.filter(order_id__in=in_review)
                    .order_by("order_id", "number")
                    .values_list("order_id", "supplier_id")
                ):
                    latest[order_id] = supplier_id
                for supplier_id in latest.values():
                    review_by_supplier[supplier_id] = review_by_supplier.get(supplier_id, 0) + 1
    for supplier in Supplier.objects.order_by("code"):
        stats = per_supplier.get(supplier.pk, {})
        succeeded, failed = stats.get("succeeded", 0), stats.get("failed", 0)
        result.suppliers.append(
            {
                "supplier": supplier,
                "succeeded": succeeded,
                "failed": failed,
                "unknown": stats.get("unknown", 0),
                "success_rate": _rate(succeeded, succeeded + failed),
                "latency_ms": round(stats["latency_ms_sum"] / stats["latency_count"])
                if stats.get("latency_count")
                else None,
                "in_review": review_by_supplier.get(supplier.pk, 0),
            }
        )
    for backend, stats in sorted(per_backend.items()):
        result.sms.append({"backend": backend, **stats, "delivery_rate": _rate(stats["delivered"], stats["sent"])})
    result.alerts = list(SupplierAlert.objects.filter(resolved_at__isnull=True).select_related("supplier")[:100])
    return result
