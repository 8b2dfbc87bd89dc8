"""Billing of banks (public schema): plans, each bank's Stripe customer and subscription, metered
usage (one row per fulfilled order, one per reversal), credit reservations, monthly statements and
the Stripe webhook events we have processed."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import Bank


class Plan(models.Model):
    """A price list for the platform itself: a monthly fee, a fee per fulfilled right, and the
    rights' cost passed through. Amounts are fen. Stripe prices are immutable, so a change of an
    amount creates new prices on the next sync (`billing.services.plan_sync`)."""

    code = models.SlugField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    currency = models.CharField(_("币种"), max_length=3, default="cny")
    monthly_fee_fen = models.PositiveBigIntegerField(_("月度平台费（分）"), default=0)
    fee_per_right_fen = models.PositiveBigIntegerField(_("每笔权益服务费（分）"), default=0)
    tax_rate_bp = models.PositiveIntegerField(_("税率（万分比）"), default=600, help_text=_("600 表示 6%"))
    active = models.BooleanField(_("启用"), default=True)
    stripe_product_id = models.CharField(max_length=64, blank=True)
    stripe_fee_price_id = models.CharField(max_length=64, blank=True)
    stripe_rights_price_id = models.CharField(max_length=64, blank=True)
    stripe_cost_price_id = models.CharField(max_length=64, blank=True)
    # the amounts the Stripe prices above were created with
    synced_amounts = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(_("同步时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("套餐")
        verbose_name_plural = _("套餐")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def amounts(self) -> dict[str, int | str]:
        return {
            "currency": self.currency,
            "monthly_fee_fen": self.monthly_fee_fen,
            "fee_per_right_fen": self.fee_per_right_fen,
        }


class BillingStatus(models.TextChoices):
    NEW = "new", _("未开通")
    ACTIVE = "active", _("正常")
    PAST_DUE = "past_due", _("逾期未付")
    CANCELED = "canceled", _("已取消")


class BillingAccount(models.Model):
    """A bank as a Stripe customer with one subscription to its plan."""

    bank = models.OneToOneField(Bank, on_delete=models.PROTECT, related_name="billing_account", verbose_name=_("银行"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("套餐"))
    email = models.EmailField(_("账单邮箱"), blank=True)
    # None: no credit limit enforced (e.g. a bank billed in arrears without a cap)
    credit_limit_fen = models.BigIntegerField(_("信用额度（分）"), null=True, blank=True)
    prepaid_balance_fen = models.BigIntegerField(_("预付余额（分）"), default=0)
    status = models.CharField(_("账单状态"), max_length=16, choices=BillingStatus.choices, default=BillingStatus.NEW)
    past_due_since = models.DateTimeField(_("逾期开始"), null=True, blank=True)
    # `created` of the Stripe event that last changed the status: older events change nothing
    status_event_created = models.BigIntegerField(default=0)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(_("同步时间"), null=True, blank=True)
    sync_error = models.CharField(_("同步错误"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("账单账户")
        verbose_name_plural = _("账单账户")
        ordering = ["bank__slug"]

    def __str__(self) -> str:
        return f"{self.bank} · {self.plan}"


class BillingAccountEvent(models.Model):
    """Every change of an account's status or Stripe objects, in order."""

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind}"


class UsageKind(models.TextChoices):
    CHARGE = "charge", _("计费")
    CREDIT = "credit", _("冲正")


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("待上报")
    REPORTED = "reported", _("已上报")


class UsageRecord(models.Model):
    """One fulfilled order (kind charge) or its reversal (kind credit, negative amounts).

    Amounts are signed so that a sum over any set of rows is the net usage. `identifier` is what
    Stripe sees (derived from the bank's schema and the order's reference), so a retried report can
    never be counted twice."""

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="usage_records")
    kind = models.CharField(max_length=8, choices=UsageKind.choices)
    order_ref = models.CharField(_("订单号"), max_length=64)
    campaign_ref = models.CharField(max_length=64)
    campaign_name = models.CharField(_("活动"), max_length=200)
    product_sku = models.CharField(max_length=64)
    product_name = models.CharField(_("权益产品"), max_length=200)
    rights = models.SmallIntegerField(default=1)  # +1 charge, -1 credit
    price_fen = models.BigIntegerField(_("权益成本（分）"))
    fee_fen = models.BigIntegerField(_("服务费（分）"))
    occurred_at = models.DateTimeField(_("发生时间"), db_index=True)
    period = models.DateField(_("账期"), db_index=True)  # first day of the statement month
    identifier = models.CharField(max_length=100, unique=True)
    report_status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    report_attempts = models.PositiveIntegerField(default=0)
    report_error = models.CharField(max_length=300, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)  # covered by a paid invoice
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("用量记录")
        verbose_name_plural = _("用量记录")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "order_ref", "kind"], name="billing_usage_one_per_order_kind"),
        ]
        indexes = [models.Index(fields=["report_status", "lease_until"], name="billing_usage_pending")]

    def __str__(self) -> str:
        return self.identifier

    @property
    def amount_fen(self) -> int:
        return self.price_fen + self.fee_fen


class CreditReservation(models.Model):
    """Credit held for a live campaign's budget, so that budgets cannot exceed what a bank can pay."""

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="credit_reservations")
    reference = models.CharField(max_length=100)
    amount_fen = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bank", "reference"], name="billing_reservation_unique")]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount_fen}"


class StatementStatus(models.TextChoices):
    PENDING = "pending", _("生成中")
    READY = "ready", _("已生成")
    FAILED = "failed", _("失败")


class Statement(models.Model):
    """A bank's monthly statement. Numbers come only from the month's usage rows, so generating it
    again gives the same numbers; `data_sha256` proves it."""

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="statements", verbose_name=_("银行"))
    month = models.DateField(_("账期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.PENDING
    )
    currency = models.CharField(max_length=3, default="cny")
    rights_count = models.BigIntegerField(_("权益笔数"), default=0)
    fees_fen = models.BigIntegerField(_("服务费（分）"), default=0)
    rights_cost_fen = models.BigIntegerField(_("权益成本（分）"), default=0)
    platform_fee_fen = models.BigIntegerField(_("平台费（分）"), default=0)
    subtotal_fen = models.BigIntegerField(_("小计（分）"), default=0)
    tax_fen = models.BigIntegerField(_("税额（分）"), default=0)
    total_fen = models.BigIntegerField(_("合计（分）"), default=0)
    data = models.JSONField(default=dict, blank=True)
    data_sha256 = models.CharField(max_length=64, blank=True)
    pdf_name = models.CharField(max_length=300, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    generation = models.PositiveIntegerField(default=0)
    generated_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("月度对账单")
        verbose_name_plural = _("月度对账单")
        ordering = ["-month", "bank__slug"]
        constraints = [models.UniqueConstraint(fields=["bank", "month"], name="billing_statement_one_per_month")]

    def __str__(self) -> str:
        return f"{self.bank} {self.month:%Y-%m}"


class StripeEvent(models.Model):
    """A webhook event we accepted; the primary key makes each event id processed once."""

    event_id = models.CharField(max_length=100, primary_key=True)
    type = models.CharField(max_length=100)
    created = models.BigIntegerField()
    outcome = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Stripe 事件")
        verbose_name_plural = _("Stripe 事件")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
