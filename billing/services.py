"""Writes of billing: plans and accounts kept in sync with Stripe, usage in (from fulfilment) and
out (to Stripe), credit, statements, Stripe webhooks, suspension of banks that do not pay."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from billing import stripe_gateway
from billing.models import (
    BillingAccount,
    BillingAccountEvent,
    BillingStatus,
    CreditReservation,
    Plan,
    ReportStatus,
    Statement,
    StatementStatus,
    StripeEvent,
    UsageKind,
    UsageRecord,
)
from billing.selectors import credit_available, month_start, next_month
from platform.bulk import rows_insert_new
from platform.errors import ApplicationError
from tenants.models import Bank
from tenants.services import bank_suspend

logger = logging.getLogger(__name__)

REPORT_LEASE = timedelta(minutes=5)
# Stripe accepts meter events up to 35 days old; older usage is reported as of 34 days ago.
METER_EVENT_MAX_AGE = timedelta(days=34)


# --- plans and accounts ---------------------------------------------------------------------------
def plan_sync(*, plan: Plan, actor: User | None = None) -> Plan:
    """Create the plan's Stripe product and prices, and new prices when an amount changed."""
    key_base = f"plan-{plan.pk}-{hashlib.sha256(repr(sorted(plan.amounts().items())).encode()).hexdigest()[:16]}"
    if not plan.stripe_product_id:
        plan.stripe_product_id = stripe_gateway.product_create(name=f"权益平台 · {plan.name}", plan_code=plan.code)
    if plan.synced_amounts != plan.amounts() or not plan.stripe_fee_price_id:
        common = {"product_id": plan.stripe_product_id, "currency": plan.currency}
        plan.stripe_fee_price_id = stripe_gateway.price_create(
            **common, unit_amount=plan.monthly_fee_fen, nickname="月度平台费", meter_event=None, key=f"{key_base}-fee"
        )
        plan.stripe_rights_price_id = stripe_gateway.price_create(
            **common,
            unit_amount=plan.fee_per_right_fen,
            nickname="权益服务费",
            meter_event=stripe_gateway.METER_RIGHTS,
            key=f"{key_base}-rights",
        )
        plan.stripe_cost_price_id = stripe_gateway.price_create(
            **common, unit_amount=1, nickname="权益成本", meter_event=stripe_gateway.METER_COST, key=f"{key_base}-cost"
        )
        plan.synced_amounts = plan.amounts()
    plan.synced_at = timezone.now()
    plan.save()
    audit_record(actor=actor, action="billing.plan_sync", target=plan, after=plan.synced_amounts)
    for account in plan.accounts.exclude(stripe_customer_id=""):
        account_sync(account=account, actor=actor)
    return plan


def account_open(
    *, bank: Bank, plan: Plan, email: str = "", credit_limit_fen: int | None = None, actor: User | None = None
) -> BillingAccount:
    """Open a bank's billing account and create its Stripe customer and subscription."""
    if BillingAccount.objects.filter(bank=bank).exists():
        raise ApplicationError("billing.account_exists", _("该银行已开通账单账户"))
    account = BillingAccount.objects.create(bank=bank, plan=plan, email=email, credit_limit_fen=credit_limit_fen)
    audit_record(actor=actor, action="billing.account_open", target=account, after={"plan": plan.code})
    return account_sync(account=account, actor=actor)


def account_sync(*, account: BillingAccount, actor: User | None = None) -> BillingAccount:
    """Make Stripe match the account: customer details, one subscription with the plan's prices.
    A Stripe failure is kept on the account (`sync_error`) and raised."""
    plan = account.plan
    try:
        if not plan.stripe_fee_price_id or plan.synced_amounts != plan.amounts():
            plan_sync(plan=plan, actor=actor)
            plan.refresh_from_db()
        customer_id = stripe_gateway.customer_upsert(
            customer_id=account.stripe_customer_id,
            name=account.bank.name,
            email=account.email,
            metadata={"quanyi_bank": account.bank.slug, "quanyi_schema": account.bank.schema_name},
            key=f"customer-{account.pk}",
        )
        prices = [plan.stripe_fee_price_id, plan.stripe_rights_price_id, plan.stripe_cost_price_id]
        subscription_id = stripe_gateway.subscription_upsert(
            subscription_id=account.stripe_subscription_id,
            customer_id=customer_id,
            price_ids=prices,
            key=f"subscription-{account.pk}-{'-'.join(prices)}"[:255],
        )
    except (stripe_gateway.StripeUnavailableError, stripe.StripeError) as error:
        BillingAccount.objects.filter(pk=account.pk).update(sync_error=str(error)[:300])
        raise ApplicationError(
            "billing.stripe_sync_failed", _("同步到 Stripe 失败：%(error)s") % {"error": error}
        ) from error
    before = {"customer": account.stripe_customer_id, "subscription": account.stripe_subscription_id}
    account.stripe_customer_id = customer_id
    account.stripe_subscription_id = subscription_id
    account.synced_at = timezone.now()
    account.sync_error = ""
    if account.status == BillingStatus.NEW:
        account.status = BillingStatus.ACTIVE
    account.save()
    after = {"customer": customer_id, "subscription": subscription_id, "prices": prices}
    BillingAccountEvent.objects.create(account=account, kind="stripe_synced", data=after)
    audit_record(actor=actor, action="billing.account_sync", target=account, before=before, after=after)
    return account


# --- usage in -------------------------------------------------------------------------------------
def _identifier(bank: Bank, order_ref: str, kind: str) -> str:
    base = f"{bank.schema_name}:{order_ref}" + (":reversal" if kind == UsageKind.CREDIT else "")
    # Stripe identifiers are at most 100 characters, and we add a 2-character suffix per meter
    return base if len(base) <= 90 else "qy:" + hashlib.sha256(base.encode()).hexdigest()[:60]


def _open_period(*, bank: Bank, occurred_at: datetime, closed: set[date] | None = None) -> date:
    """The statement month a usage row belongs to: its own month, unless that month's final
    statement was already issued (then the first month still open), so issued numbers never move.
    `closed` (the bank's months with a final statement) saves the look-up when it is known."""
    if closed is None:
        closed = set(Statement.objects.filter(bank=bank, data__final=True).values_list("month", flat=True))
    period = month_start(occurred_at)
    while period in closed:
        period = next_month(period)
    return period


def _validate_usage(*, order_ref: str, price_fen: int, occurred_at: datetime) -> None:
    if not order_ref or len(order_ref) > 64:
        raise ApplicationError("billing.bad_order_ref", _("订单号无效"))
    if price_fen < 0:
        raise ApplicationError("billing.bad_amount", _("金额不能为负"))
    if timezone.is_naive(occurred_at):
        raise ApplicationError("billing.naive_time", _("发生时间须带时区"))


@dataclass(frozen=True)
class OrderUsage:
    """One fulfilled order as the billing layer sees it."""

    order_ref: str
    campaign_ref: str
    campaign_name: str
    product_sku: str
    product_name: str
    price_fen: int
    occurred_at: datetime


def usage_record_order_succeeded(
    *,
    bank: Bank,
    order_ref: str,
    campaign_ref: str,
    campaign_name: str,
    product_sku: str,
    product_name: str,
    price_fen: int,
    occurred_at: datetime,
) -> UsageRecord:
    """Record one fulfilled order as usage and return its row (see `usage_record_orders_succeeded`)."""
    usage = OrderUsage(order_ref, campaign_ref, campaign_name, product_sku, product_name, price_fen, occurred_at)
    usage_record_orders_succeeded(bank=bank, usages=[usage])
    return UsageRecord.objects.get(bank=bank, order_ref=order_ref, kind=UsageKind.CHARGE)


def usage_record_orders_succeeded(*, bank: Bank, usages: list[OrderUsage]) -> int:
    """Record fulfilled orders as usage (fee per right + `price_fen` passed through), in a few
    statements whatever their number; returns how many rows were new.

    Idempotent on (bank, order_ref): an order already recorded is left as it is. Call it from the
    orders' success transition (inside its transaction: the rows commit with the orders)."""
    for usage in usages:
        _validate_usage(order_ref=usage.order_ref, price_fen=usage.price_fen, occurred_at=usage.occurred_at)
    if not usages:
        return 0
    account = BillingAccount.objects.select_related("plan").filter(bank=bank).first()
    fee_fen = account.plan.fee_per_right_fen if account is not None else 0
    closed = set(Statement.objects.filter(bank=bank, data__final=True).values_list("month", flat=True))
    rows = [
        UsageRecord(
            bank=bank,
            kind=UsageKind.CHARGE,
            order_ref=usage.order_ref,
            campaign_ref=usage.campaign_ref[:64],
            campaign_name=usage.campaign_name[:200],
            product_sku=usage.product_sku[:64],
            product_name=usage.product_name[:200],
            rights=1,
            price_fen=usage.price_fen,
            fee_fen=fee_fen,
            occurred_at=usage.occurred_at,
            period=_open_period(bank=bank, occurred_at=usage.occurred_at, closed=closed),
            identifier=_identifier(bank, usage.order_ref, UsageKind.CHARGE),
        )
        for usage in usages
    ]
    return len(rows_insert_new(UsageRecord, rows, key="identifier"))


def usage_record_order_reversed(*, bank: Bank, order_ref: str, occurred_at: datetime) -> UsageRecord | None:
    """An order recorded as succeeded was later proven failed: record the credit (the charge's
    amounts, negative) in the period open at `occurred_at`. Idempotent; None when the order was
    never recorded as usage (nothing to credit)."""
    _validate_usage(order_ref=order_ref, price_fen=0, occurred_at=occurred_at)
    charge = UsageRecord.objects.filter(bank=bank, order_ref=order_ref, kind=UsageKind.CHARGE).first()
    if charge is None:
        return None
    try:
        with transaction.atomic():
            credit, _created = UsageRecord.objects.get_or_create(
                bank=bank,
                order_ref=order_ref,
                kind=UsageKind.CREDIT,
                defaults={
                    "campaign_ref": charge.campaign_ref,
                    "campaign_name": charge.campaign_name,
                    "product_sku": charge.product_sku,
                    "product_name": charge.product_name,
                    "rights": -charge.rights,
                    "price_fen": -charge.price_fen,
                    "fee_fen": -charge.fee_fen,
                    "occurred_at": occurred_at,
                    "period": _open_period(bank=bank, occurred_at=occurred_at),
                    "identifier": _identifier(bank, order_ref, UsageKind.CREDIT),
                },
            )
    except IntegrityError:
        credit = UsageRecord.objects.get(bank=bank, order_ref=order_ref, kind=UsageKind.CREDIT)
    return credit


# --- usage out ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UsageReportResult:
    reported: int
    failed: int


def usage_report_pending(*, limit: int | None = None) -> UsageReportResult:
    """Report pending usage of every bank to Stripe, a batch at a time.

    Rows are leased (so concurrent runs take different rows) and marked reported only after
    Stripe answered; a failed or unanswered report is retried by the next run with the same
    identifiers and idempotency keys, so Stripe counts each row once."""
    batch = limit or settings.BILLING_USAGE_BATCH_SIZE
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            UsageRecord.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(report_status=ReportStatus.PENDING)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .exclude(bank__billing_account__stripe_customer_id="")
            .filter(bank__billing_account__isnull=False)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        UsageRecord.objects.filter(id__in=ids).update(
            lease_until=now + REPORT_LEASE, report_attempts=F("report_attempts") + 1
        )
    reported = failed = 0
    oldest = now - METER_EVENT_MAX_AGE
    for record in UsageRecord.objects.filter(id__in=ids).select_related("bank__billing_account").order_by("id"):
        customer_id = record.bank.billing_account.stripe_customer_id
        timestamp = int(max(record.occurred_at, oldest).timestamp())
        try:
            stripe_gateway.meter_event_send(
                identifier=f"{record.identifier}:n",
                event_name=stripe_gateway.METER_RIGHTS,
                customer_id=customer_id,
                value=record.rights,
                timestamp=timestamp,
            )
            stripe_gateway.meter_event_send(
                identifier=f"{record.identifier}:c",
                event_name=stripe_gateway.METER_COST,
                customer_id=customer_id,
                value=record.price_fen,
                timestamp=timestamp,
            )
        except (stripe_gateway.StripeUnavailableError, stripe.StripeError) as error:
            failed += 1
            logger.warning("usage report failed for %s: %s", record.identifier, error)
            UsageRecord.objects.filter(pk=record.pk).update(lease_until=None, report_error=str(error)[:300])
            continue
        reported += 1
        UsageRecord.objects.filter(pk=record.pk).update(
            report_status=ReportStatus.REPORTED, reported_at=timezone.now(), lease_until=None, report_error=""
        )
    return UsageReportResult(reported=reported, failed=failed)


# --- credit ---------------------------------------------------------------------------------------
def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def credit_check(*, bank: Bank, amount_fen: int) -> None:
    """Raise `billing.credit_exceeded` when the bank's remaining credit (limit + prepaid balance −
    unsettled usage − reservations) cannot cover `amount_fen`. Banks without a limit always pass."""
    available = credit_available(bank=bank)
    if amount_fen > available:
        raise ApplicationError(
            "billing.credit_exceeded",
            _("银行可用额度不足：需要 %(amount)s 元，可用 %(available)s 元。请联系平台提高额度或预付款项。")
            % {"amount": _yuan(amount_fen), "available": _yuan(max(available, 0))},
            status=402,
            extra={"available_fen": max(available, 0), "amount_fen": amount_fen},
        )


def credit_reserve(*, bank: Bank, reference: str, amount_fen: int) -> CreditReservation:
    """Hold credit for a campaign going live (e.g. reference `campaign:<id>`), after checking it.
    Calling again with the same reference changes the amount held. Serialised per bank."""
    with transaction.atomic():
        BillingAccount.objects.select_for_update().filter(bank=bank).first()
        held = CreditReservation.objects.filter(bank=bank, reference=reference).first()
        credit_check(bank=bank, amount_fen=amount_fen - (held.amount_fen if held else 0))
        reservation, _created = CreditReservation.objects.update_or_create(
            bank=bank, reference=reference, defaults={"amount_fen": amount_fen}
        )
    return reservation


def credit_release(*, bank: Bank, reference: str) -> None:
    CreditReservation.objects.filter(bank=bank, reference=reference).delete()


# --- statements -----------------------------------------------------------------------------------
def statement_request(*, bank: Bank, month: date, actor: User | None = None) -> Statement:
    """Ask for a month's statement; it is generated by a background job (queue `billing`)."""
    from billing.tasks import statement_generate_task

    month = month.replace(day=1)
    with transaction.atomic():
        statement, _created = Statement.objects.get_or_create(bank=bank, month=month)
        Statement.objects.filter(pk=statement.pk).update(status=StatementStatus.PENDING, error="")
        audit_record(actor=actor, action="billing.statement_request", target=statement, after={"month": str(month)})
        transaction.on_commit(
            lambda: statement_generate_task.apply_async(kwargs={"statement_id": statement.pk}, queue="billing")
        )
    statement.refresh_from_db()
    return statement


def statement_generate(*, bank: Bank, month: date) -> Statement:
    """Compute, render and store a month's statement; the same month gives the same numbers."""
    from billing.statements import statement_build

    return statement_build(bank=bank, month=month.replace(day=1))


# --- webhooks -------------------------------------------------------------------------------------
def _signature_timestamp(header: str) -> int | None:
    for part in header.split(","):
        name, _sep, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return None


def stripe_webhook_receive(*, payload: bytes, signature: str) -> str:
    """Verify a webhook on its raw body and process its event once. Returns the outcome."""
    tolerance = settings.BILLING_WEBHOOK_TOLERANCE_S
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=tolerance)
    except (ValueError, stripe.SignatureVerificationError) as error:
        logger.warning("stripe webhook rejected: %s", error)
        raise ApplicationError("billing.webhook_invalid", _("签名无效"), status=400) from error
    signed_at = _signature_timestamp(signature)
    if signed_at is None or signed_at > timezone.now().timestamp() + tolerance:
        raise ApplicationError("billing.webhook_invalid", _("签名无效"), status=400)
    data = event.to_dict()
    with transaction.atomic():
        record, created = StripeEvent.objects.get_or_create(
            event_id=data["id"], defaults={"type": data["type"], "created": data["created"], "payload": data}
        )
        if not created:
            return "duplicate"
        handler = _WEBHOOK_HANDLERS.get(data["type"])
        if handler is None:
            logger.info("stripe webhook %s of type %s acknowledged and ignored", data["id"], data["type"])
            outcome = "ignored"
        else:
            outcome = handler(data)
        record.outcome = outcome
        record.save(update_fields=["outcome"])
    return outcome


def _account_for_event(data: dict[str, Any]) -> BillingAccount | None:
    customer = data["data"]["object"].get("customer")
    return BillingAccount.objects.select_for_update().filter(stripe_customer_id=customer).first() if customer else None


def _status_change(account: BillingAccount, data: dict[str, Any], status: str, **fields: Any) -> str:
    if data["created"] < account.status_event_created:
        return "stale"
    before = account.status
    account.status = status
    account.status_event_created = data["created"]
    for name, value in fields.items():
        setattr(account, name, value)
    account.save()
    BillingAccountEvent.objects.create(
        account=account,
        kind="status_changed",
        data={"from": before, "to": status, "event": data["id"], "invoice": data["data"]["object"].get("id")},
    )
    return f"status {before}→{status}"


def _invoice_paid(data: dict[str, Any]) -> str:
    account = _account_for_event(data)
    if account is None:
        return "unknown customer"
    invoice = data["data"]["object"]
    period_end = invoice.get("period_end")
    if period_end:
        UsageRecord.objects.filter(
            bank=account.bank, settled_at__isnull=True, occurred_at__lt=datetime.fromtimestamp(int(period_end), tz=UTC)
        ).update(settled_at=timezone.now())
    return _status_change(account, data, BillingStatus.ACTIVE, past_due_since=None)


def _invoice_payment_failed(data: dict[str, Any]) -> str:
    account = _account_for_event(data)
    if account is None:
        return "unknown customer"
    since = account.past_due_since or datetime.fromtimestamp(data["created"], tz=UTC)
    return _status_change(account, data, BillingStatus.PAST_DUE, past_due_since=since)


def _subscription_deleted(data: dict[str, Any]) -> str:
    account = _account_for_event(data)
    if account is None:
        return "unknown customer"
    return _status_change(account, data, BillingStatus.CANCELED)


_WEBHOOK_HANDLERS = {
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_payment_failed,
    "customer.subscription.deleted": _subscription_deleted,
}


# --- past due -------------------------------------------------------------------------------------
def account_suspend_past_due(*, account: BillingAccount, actor: User | None = None) -> Bank:
    """Platform staff suspend a bank whose bill is past due for longer than the grace period."""
    from billing.selectors import account_past_due_days

    days = account_past_due_days(account=account)
    if days is None or days < settings.BILLING_PAST_DUE_GRACE_DAYS:
        raise ApplicationError(
            "billing.not_past_due",
            _("该银行未逾期超过 %(days)s 天，不能因欠费暂停") % {"days": settings.BILLING_PAST_DUE_GRACE_DAYS},
        )
    bank = bank_suspend(bank=account.bank, reason=_("账单逾期 %(days)s 天未付") % {"days": days}, actor=actor)
    BillingAccountEvent.objects.create(account=account, kind="bank_suspended", data={"past_due_days": days})
    return bank
