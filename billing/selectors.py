"""Reads of billing: credit left, accounts and statements as the consoles show them, months."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import BillingAccount, BillingStatus, CreditReservation, Statement, UsageRecord
from tenants.models import Bank

# a bank without an account or without a credit limit is not capped
UNLIMITED_FEN = 2**62


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_start(moment: datetime) -> date:
    """The first day of the month of `moment` in the platform's time zone (Asia/Shanghai)."""
    return timezone.localtime(moment, local_zone()).date().replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a month as aware datetimes in the platform's time zone."""
    zone = local_zone()
    following = next_month(month)
    return (
        datetime(month.year, month.month, 1, tzinfo=zone),
        datetime(following.year, following.month, 1, tzinfo=zone),
    )


def credit_available(*, bank: Bank) -> int:
    """Credit left in fen: limit + prepaid balance − usage not yet settled by a paid invoice −
    reservations of live campaigns. `UNLIMITED_FEN` when the bank has no limit."""
    account = BillingAccount.objects.filter(bank=bank).first()
    if account is None or account.credit_limit_fen is None:
        return UNLIMITED_FEN
    unsettled = (
        UsageRecord.objects.filter(bank=bank, settled_at__isnull=True).aggregate(
            total=Sum(F("price_fen") + F("fee_fen"))
        )["total"]
        or 0
    )
    reserved = CreditReservation.objects.filter(bank=bank).aggregate(total=Sum("amount_fen"))["total"] or 0
    return int(account.credit_limit_fen + account.prepaid_balance_fen - unsettled - reserved)


def account_for_bank(*, bank: Bank) -> BillingAccount | None:
    return BillingAccount.objects.select_related("plan").filter(bank=bank).first()


def account_past_due_days(*, account: BillingAccount) -> int | None:
    if account.status != BillingStatus.PAST_DUE or account.past_due_since is None:
        return None
    return (timezone.now() - account.past_due_since).days


def past_due_warning(*, bank: Bank) -> str | None:
    """The warning a bank's console shows once its bill has been past due for the grace period."""
    account = BillingAccount.objects.filter(bank=bank).first()
    days = account_past_due_days(account=account) if account is not None else None
    if days is None or days < settings.BILLING_PAST_DUE_GRACE_DAYS:
        return None
    return _("平台服务账单已逾期 %(days)s 天未付。请尽快付款，否则平台可能暂停贵行的服务。") % {"days": days}


def statements_for_bank(*, bank: Bank) -> QuerySet[Statement]:
    return Statement.objects.filter(bank=bank).order_by("-month")
