"""Monthly statements: numbers from the month's usage rows, a Chinese PDF by WeasyPrint, stored
through Django's default storage (local files, or S3 through django-storages/boto3).

Reproducible: the numbers depend only on the usage rows of the month and on the plan terms
captured the first time the month was generated; the PDF of the same numbers is the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from datetime import date
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing.models import Statement, StatementStatus, UsageKind, UsageRecord
from billing.selectors import account_for_bank, local_zone, month_bounds
from tenants.models import Bank

# WeasyPrint logs every layout step at INFO
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _round_half_up(numerator: int, denominator: int) -> int:
    sign = -1 if numerator < 0 else 1
    return sign * ((abs(numerator) * 2 + denominator) // (2 * denominator))


def _line(key: str, label: str) -> dict[str, Any]:
    return {"key": key, "label": label, "rights": 0, "fees_fen": 0, "cost_fen": 0, "total_fen": 0}


def _add(line: dict[str, Any], record: UsageRecord) -> None:
    line["rights"] += record.rights
    line["fees_fen"] += record.fee_fen
    line["cost_fen"] += record.price_fen
    line["total_fen"] += record.fee_fen + record.price_fen


def statement_data(*, bank: Bank, month: date, terms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The numbers of a statement, as plain JSON-able data."""
    if terms is None:
        account = account_for_bank(bank=bank)
        plan = account.plan if account is not None else None
        terms = {
            "plan": plan.name if plan else "",
            "currency": plan.currency if plan else "cny",
            "monthly_fee_fen": plan.monthly_fee_fen if plan else 0,
            "fee_per_right_fen": plan.fee_per_right_fen if plan else 0,
            "tax_rate_bp": plan.tax_rate_bp if plan else 0,
        }
    campaigns: dict[str, dict[str, Any]] = OrderedDict()
    products: dict[str, dict[str, Any]] = OrderedDict()
    days: dict[str, dict[str, Any]] = OrderedDict()
    totals = _line("total", "合计")
    credits = _line("credits", "冲正")
    zone = local_zone()
    for record in UsageRecord.objects.filter(bank=bank, period=month).order_by("occurred_at", "id"):
        day = timezone.localtime(record.occurred_at, zone).date().isoformat()
        _add(campaigns.setdefault(record.campaign_ref, _line(record.campaign_ref, record.campaign_name)), record)
        _add(products.setdefault(record.product_sku, _line(record.product_sku, record.product_name)), record)
        _add(days.setdefault(day, _line(day, day)), record)
        _add(totals, record)
        if record.kind == UsageKind.CREDIT:
            _add(credits, record)
    platform_fee = int(terms["monthly_fee_fen"])
    subtotal = platform_fee + totals["total_fen"]
    tax = _round_half_up(subtotal * int(terms["tax_rate_bp"]), 10000)
    start, end = month_bounds(month)
    return {
        "bank": {"slug": bank.slug, "name": bank.name},
        "month": month.strftime("%Y-%m"),
        "final": timezone.now() >= end,
        "terms": terms,
        "usage": totals,
        "credits": credits,
        "platform_fee_fen": platform_fee,
        "subtotal_fen": subtotal,
        "tax_fen": tax,
        "total_fen": subtotal + tax,
        "campaigns": sorted(campaigns.values(), key=lambda line: (-line["total_fen"], line["key"])),
        "products": sorted(products.values(), key=lambda line: (-line["total_fen"], line["key"])),
        "days": sorted(days.values(), key=lambda line: line["key"]),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
    }


def statement_pdf(*, data: dict[str, Any], data_sha256: str) -> bytes:
    from weasyprint import HTML

    with translation.override("zh-hans"):
        html = render_to_string("billing/statement_pdf.html", {"s": data, "checksum": data_sha256})
    # a fixed identifier (not a random one) makes the same numbers render to the same bytes
    return bytes(HTML(string=html).write_pdf(pdf_identifier=data_sha256[:32].encode()))


def statement_storage_name(*, bank: Bank, month: date) -> str:
    return f"billing/statements/{bank.slug}/{bank.slug}-{month:%Y-%m}.pdf"


def statement_build(*, bank: Bank, month: date) -> Statement:
    statement, _created = Statement.objects.get_or_create(bank=bank, month=month)
    # the plan terms are those of the month's first generation, so a later plan change does not
    # rewrite an old month
    data = statement_data(bank=bank, month=month, terms=statement.data.get("terms") if statement.data else None)
    if statement.data.get("final"):
        data["final"] = True
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    data_sha256 = hashlib.sha256(canonical).hexdigest()
    pdf = statement_pdf(data=data, data_sha256=data_sha256)
    name = statement_storage_name(bank=bank, month=month)
    if default_storage.exists(name):
        default_storage.delete(name)
    stored_name = default_storage.save(name, ContentFile(pdf))
    with transaction.atomic():
        locked = Statement.objects.select_for_update().get(pk=statement.pk)
        locked.status = StatementStatus.READY
        locked.currency = data["terms"]["currency"]
        locked.rights_count = data["usage"]["rights"]
        locked.fees_fen = data["usage"]["fees_fen"]
        locked.rights_cost_fen = data["usage"]["cost_fen"]
        locked.platform_fee_fen = data["platform_fee_fen"]
        locked.subtotal_fen = data["subtotal_fen"]
        locked.tax_fen = data["tax_fen"]
        locked.total_fen = data["total_fen"]
        locked.data = data
        locked.data_sha256 = data_sha256
        locked.pdf_name = stored_name
        locked.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        locked.generation += 1
        locked.generated_at = timezone.now()
        locked.error = ""
        locked.save()
    return locked


def statement_open(*, statement: Statement) -> bytes:
    """The stored PDF's bytes (read back from the storage, S3 or local)."""
    with default_storage.open(statement.pdf_name, "rb") as handle:
        return bytes(handle.read())
