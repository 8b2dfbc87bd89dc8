"""Reads of the shared catalogue for banks, campaigns and the fulfilment engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from rights_catalog.models import BankPrice, RightsProduct, Supplier, SupplierOffer, SupplierStatus
from tenants.models import Bank


def bank_price_list(*, bank: Bank) -> list[BankPrice]:
    """The products `bank` may use, at its price (fen): active price rows of active products."""
    return list(
        BankPrice.objects.filter(bank=bank, active=True, product__active=True)
        .select_related("product", "product__category")
        .order_by("product__category__sort_order", "product__sku")
    )


def bank_price_for(*, bank: Bank, product: RightsProduct) -> BankPrice | None:
    """The bank's active price of one product, or None when the bank may not use it."""
    return (
        BankPrice.objects.filter(bank=bank, product=product, active=True, product__active=True)
        .select_related("product")
        .first()
    )


def product_offers(*, product: RightsProduct) -> list[SupplierOffer]:
    """Active offers of active suppliers for `product`, best priority first (then cheapest)."""
    return list(
        SupplierOffer.objects.filter(product=product, active=True, supplier__status=SupplierStatus.ACTIVE)
        .exclude(stock__lte=0)
        .select_related("supplier")
        .order_by("priority", "cost_fen", "id")
    )


def supplier_health(*, supplier: Supplier, window: timedelta) -> dict[str, Any]:
    """Submissions in the window: count, success rate (accepted / all, percent) and p50/p95 latency
    (ms) over every call to the supplier."""
    since = timezone.now() - window
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE operation = 'submit'),
                   count(*) FILTER (WHERE operation = 'submit' AND outcome = 'ok'),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms),
                   count(*)
              FROM rights_catalog_suppliercall
             WHERE supplier_id = %s AND created_at >= %s
            """,
            [supplier.pk, since],
        )
        submits, accepted, p50, p95, calls = cursor.fetchone()
    return {
        "calls": calls,
        "submits": submits,
        "success_rate": round(100.0 * accepted / submits, 1) if submits else None,
        "p50_ms": int(p50) if p50 is not None else None,
        "p95_ms": int(p95) if p95 is not None else None,
    }
