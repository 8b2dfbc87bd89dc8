"""Daily reconciliation of a bank's orders with each supplier's statement (bank schema).

For the day (China time) we compare the attempts we resolved at the supplier with the statement's
lines that carry our order numbers (`<schema>-…`): an attempt we count as succeeded with no success
line is `missing`; a success line for an attempt we do not count as succeeded is `extra` (a right
paid for but not recorded as delivered — maybe a double top-up); a line whose amount differs from
the product's face value is `amount_mismatch`. Flags are rows (`ReconciliationFlag`), made once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from fulfillment.models import AttemptStatus, FulfilmentAttempt, ReconciliationFlag
from fulfillment.suppliers import OrderState, Statement, adapter_for
from platform.tenancy import current_schema
from rights_catalog.models import Supplier

CHINA = ZoneInfo("Asia/Shanghai")


def _flag(**fields: object) -> bool:
    try:
        with transaction.atomic():
            ReconciliationFlag.objects.create(**fields)
    except IntegrityError:
        return False
    return True


def reconcile_supplier_day(*, supplier: Supplier, day: date) -> dict[str, int] | None:
    """Compare one supplier's statement for `day` with our attempts; None when it cannot be fetched."""
    statement = adapter_for(supplier).statement(day)
    if not isinstance(statement, Statement):
        return None
    prefix = f"{current_schema().replace('_', '')}-"
    lines = {line.order_number: line for line in statement.lines if line.order_number.startswith(prefix)}
    start = datetime.combine(day, time.min, tzinfo=CHINA)
    ours = {
        a.order_number: a
        for a in FulfilmentAttempt.objects.filter(
            supplier=supplier, resolved_at__gte=start, resolved_at__lt=start + timedelta(days=1)
        ).select_related("order__product")
    }
    # lines for attempts resolved on another day (or still open for us) are looked up one by one
    others = {
        a.order_number: a
        for a in FulfilmentAttempt.objects.filter(
            supplier=supplier, order_number__in=[n for n in lines if n not in ours]
        ).select_related("order__product")
    }
    counts = {"lines": len(lines), "missing": 0, "extra": 0, "amount_mismatch": 0}
    for number, attempt in ours.items():
        line = lines.get(number)
        if attempt.status == AttemptStatus.SUCCEEDED and (line is None or line.state != OrderState.SUCCEEDED):
            counts["missing"] += _flag(
                day=day,
                supplier=supplier,
                order_number=number,
                kind=ReconciliationFlag.Kind.MISSING,
                ours_fen=attempt.order.product.face_value_fen,
                detail=f"statement: {line.state if line else 'no line'}",
            )
    for number, line in lines.items():
        match = ours.get(number) or others.get(number)
        expected = match.order.product.face_value_fen if match else None
        if line.state == OrderState.SUCCEEDED and (match is None or match.status != AttemptStatus.SUCCEEDED):
            counts["extra"] += _flag(
                day=day,
                supplier=supplier,
                order_number=number,
                kind=ReconciliationFlag.Kind.EXTRA,
                theirs_fen=line.amount_fen,
                detail=f"ours: {match.status if match else 'no attempt'}",
            )
        if expected is not None and line.amount_fen != expected:
            counts["amount_mismatch"] += _flag(
                day=day,
                supplier=supplier,
                order_number=number,
                kind=ReconciliationFlag.Kind.AMOUNT,
                ours_fen=expected,
                theirs_fen=line.amount_fen,
            )
    return counts


def reconcile_day(*, day: date | None = None) -> dict[str, dict[str, int] | None]:
    """Every supplier this bank has used, for `day` (default: yesterday, China time)."""
    day = day or (datetime.now(CHINA).date() - timedelta(days=1))
    supplier_ids = set(FulfilmentAttempt.objects.values_list("supplier_id", flat=True).distinct())
    return {
        s.code: reconcile_supplier_day(supplier=s, day=day)
        for s in Supplier.objects.filter(pk__in=supplier_ids).order_by("code")
    }
