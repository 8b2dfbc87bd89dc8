"""Rows for fulfilment tests, made with the ORM in a bank schema (the H5 flow is not needed): suppliers
on the simulator with offers on one product, and redemptions with their orders; plus the checks every
fault drill ends with."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context

from campaigns.models import Campaign
from campaigns.phones import phone_digest, phone_mask, phone_seal
from fulfillment.models import AttemptStatus, FulfilmentAttempt, FulfilmentOrder, OrderEvent, OrderStatus, Redemption
from platform.crypto import encrypt
from rights_catalog.models import RightsProduct, Supplier, SupplierOffer
from rights_catalog.services import supplier_credentials_set
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest
from tests.support.simulator import SimulatorHandle, simulator_credentials


def make_supplier(dialect: str, url: str, **fields: Any) -> Supplier:
    credentials = simulator_credentials(dialect)
    supplier = Supplier.objects.create(
        code=f"sim-{dialect}-{uuid.uuid4().hex[:8]}",
        name=f"模拟供应商 {dialect}",
        dialect=dialect,
        endpoint=url,
        merchant_id=credentials.pop("merchant_id"),
        callback_ip_allowlist="127.0.0.1",
        read_timeout_s=fields.pop("read_timeout_s", 1.0),
        connect_timeout_s=fields.pop("connect_timeout_s", 0.5),
        **fields,
    )
    supplier_credentials_set(supplier=supplier, credentials=credentials)
    return supplier


@dataclass
class Setup:
    bank: BankUnderTest
    campaign: Campaign
    product: RightsProduct
    suppliers: list[Supplier]


def fulfilment_setup(
    bank: BankUnderTest, url: str, *, dialects: tuple[str, ...] = ("md5form", "hmacjson"), **supplier_fields: Any
) -> Setup:
    """A launched campaign on a fresh product with one offer per dialect (priority in that order)."""
    sku = f"FT-{uuid.uuid4().hex[:8].upper()}"
    campaign = launched_campaign(
        bank, sku=sku, budget_count=100_000, budget_fen=2900 * 100_000, arrival_text="请到手机营业厅查询。"
    )
    product = RightsProduct.objects.get(sku=sku)
    suppliers = []
    for priority, dialect in enumerate(dialects, start=1):
        supplier = make_supplier(dialect, url, **supplier_fields)
        SupplierOffer.objects.create(
            product=product,
            supplier=supplier,
            supplier_sku=f"MOBILE-{dialect.upper()}-30",
            cost_fen=2800,
            priority=priority,
        )
        suppliers.append(supplier)
    return Setup(bank=bank, campaign=campaign, product=product, suppliers=suppliers)


def orders_create(setup: Setup, n: int, *, phone: str = "13812345678") -> list[int]:
    """n redemptions of one order each, committed in one transaction (like the H5 confirm would)."""
    with schema_context(setup.bank.schema), transaction.atomic():
        ids = []
        for i in range(n):
            account = f"139{i % 100_000_000:08d}"
            redemption = Redemption.objects.create(
                campaign=setup.campaign,
                code_id=10**12 + i,
                phone_encrypted=phone_seal(phone),
                phone_digest=phone_digest(phone),
                phone_masked=phone_mask(phone),
                submission_key=uuid.uuid4().hex,
                access_token=uuid.uuid4().hex,
                units=1,
                amount_fen=2900,
            )
            order = FulfilmentOrder.objects.create(
                redemption=redemption,
                campaign=setup.campaign,
                product=setup.product,
                price_fen=2900,
                account_encrypted=encrypt(account, context=f"account:{setup.bank.schema}"),
                account_masked=phone_mask(account),
            )
            OrderEvent.objects.create(order=order, kind="created", to_status=order.status)
            ids.append(order.pk)
        return ids


def drill_report(name: str, bank: BankUnderTest, order_ids: list[int], simulator: SimulatorHandle) -> dict[str, int]:
    """The checks after every drill; prints the counts. Returns them for the test's own assertions."""
    with schema_context(bank.schema):
        orders = list(FulfilmentOrder.objects.filter(pk__in=order_ids))
        attempts = list(FulfilmentAttempt.objects.filter(order_id__in=order_ids).select_related("supplier"))
        redemptions = Redemption.objects.filter(orders__pk__in=order_ids).distinct().count()
    statuses = Counter(o.status for o in orders)
    numbers = {a.order_number: a for a in attempts}
    submits = Counter(r["order_no"] for r in simulator.requests(op="submit") if r.get("order_no") in numbers)
    by_order: dict[int, list[FulfilmentAttempt]] = {}
    for attempt in attempts:
        by_order.setdefault(attempt.order_id, []).append(attempt)
    # 1. every attempt number reached the supplier at most once
    resubmitted = sum(1 for count in submits.values() if count > 1)
    # 2. a next attempt only after the previous one was proven failed
    unproven_failover = sum(
        1
        for rows in by_order.values()
        for a in sorted(rows, key=lambda a: a.number)[:-1]
        if a.status != AttemptStatus.FAILED
    )
    # 3. the supplier's own view: at most one successful top-up per order
    double = 0
    supplier_success = 0
    for rows in by_order.values():
        ok = 0
        for a in rows:
            sim_order = simulator.order(a.order_number, dialect=a.supplier.dialect)
            if sim_order is not None and sim_order.get("state") == "success":
                ok += 1
        supplier_success += min(ok, 1)
        double += ok > 1
    counts = {
        "orders": len(orders),
        "redemptions": redemptions,
        "succeeded": statuses[OrderStatus.SUCCEEDED],
        "failed": statuses[OrderStatus.FAILED],
        "manual_review": statuses[OrderStatus.MANUAL_REVIEW],
        "not_terminal": sum(
            v
            for k, v in statuses.items()
            if k not in (OrderStatus.SUCCEEDED, OrderStatus.FAILED, OrderStatus.MANUAL_REVIEW)
        ),
        "attempts": len(attempts),
        "submit_requests": sum(submits.values()),
        "resubmitted_numbers": resubmitted,
        "failover_without_proof": unproven_failover,
        "double_topups": double,
        "succeeded_at_supplier": supplier_success,
        "lost": len(order_ids) - len(orders),
    }
    print(f"\nDRILL {name}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts
