"""Billing's background jobs (queue `billing`): usage reports to Stripe, statement generation."""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from django.db import connection
from django.utils import timezone

from billing import services
from billing.models import Statement, StatementStatus
from billing.selectors import month_start
from tenants.models import Bank

logger = logging.getLogger(__name__)


@shared_task(name="billing.usage_report", acks_late=True)
def usage_report_task() -> dict[str, int]:
    """Report pending usage of every bank. Beat sends one copy per active bank; leases make the
    copies take different rows, so suspended banks' usage is reported too."""
    result = services.usage_report_pending()
    return {"reported": result.reported, "failed": result.failed}


@shared_task(name="billing.statement_generate", acks_late=True, autoretry_for=(OSError,), max_retries=3)
def statement_generate_task(*, statement_id: int) -> None:
    statement = Statement.objects.select_related("bank").get(pk=statement_id)
    try:
        services.statement_generate(bank=statement.bank, month=statement.month)
    except Exception as error:
        Statement.objects.filter(pk=statement_id).update(status=StatementStatus.FAILED, error=str(error)[:300])
        raise


@shared_task(name="billing.statement_previous_month", acks_late=True)
def statement_previous_month_task() -> None:
    """Sent by beat to each active bank on the 1st: request last month's statement for it."""
    bank = Bank.objects.get(schema_name=connection.schema_name)  # type: ignore[attr-defined]
    this_month = month_start(timezone.now())
    previous = date(this_month.year - (this_month.month == 1), (this_month.month - 2) % 12 + 1, 1)
    services.statement_request(bank=bank, month=previous)
