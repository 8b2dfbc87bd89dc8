"""What a cardholder redeemed and how each right reaches them: redemptions, fulfilment orders, the
attempts at suppliers, and the event rows that tell each order's whole story (bank schema)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RedemptionStatus(models.TextChoices):
    FULFILLING = "fulfilling", _("发放中")
    COMPLETED = "completed", _("已到账")
    PARTIAL = "partial", _("部分到账")
    FAILED = "failed", _("发放失败")


class Redemption(models.Model):
    """One confirmed redemption of a code: the rights chosen, what they cost, who asked."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="redemptions")
    code = models.ForeignKey(
        "campaigns.Code", on_delete=models.DO_NOTHING, related_name="redemptions", db_constraint=False
    )
    grant = models.ForeignKey(
        "campaigns.Grant", null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions"
    )
    phone_encrypted = models.TextField()
    phone_digest = models.BinaryField(db_index=True)
    phone_masked = models.CharField(_("手机号"), max_length=16)
    branch_code = models.CharField(max_length=32, blank=True)
    # the form's one-time submission id: a double submit or a back-button resubmit finds this row
    submission_key = models.CharField(max_length=64, unique=True)
    # the progress page's address; unguessable, so the page needs no login
    access_token = models.CharField(max_length=64, unique=True)
    units = models.PositiveSmallIntegerField(_("权益份数"))
    amount_fen = models.BigIntegerField(_("金额（分）"))
    status = models.CharField(
        _("状态"), max_length=12, choices=RedemptionStatus.choices, default=RedemptionStatus.FULFILLING
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(_("兑换时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("兑换")
        verbose_name_plural = _("兑换")

    def __str__(self) -> str:
        return f"redemption {self.pk}"


class OrderStatus(models.TextChoices):
    CREATED = "created", _("待提交")
    SUBMITTING = "submitting", _("提交中")
    SUBMITTED = "submitted", _("已提交")
    UNKNOWN = "unknown", _("结果待确认")
    QUERYING = "querying", _("查询中")
    SUCCEEDED = "succeeded", _("已到账")
    FAILED = "failed", _("失败")
    MANUAL_REVIEW = "manual_review", _("人工处理中")


class FulfilmentOrder(models.Model):
    """One right to deliver to one account; fulfilled through one or more supplier attempts."""

    redemption = models.ForeignKey(Redemption, on_delete=models.PROTECT, related_name="orders")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("rights_catalog.RightsProduct", on_delete=models.PROTECT, related_name="+")
    price_fen = models.PositiveIntegerField(_("结算价（分）"))
    account_encrypted = models.TextField(blank=True)
    account_masked = models.CharField(_("充值账号"), max_length=40, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.CREATED)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    card_secret_encrypted = models.TextField(blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("发放订单")
        verbose_name_plural = _("发放订单")
        indexes = [
            models.Index(
                fields=["status", "updated_at"],
                name="order_status_updated",
                condition=~models.Q(status__in=["succeeded", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


class OrderEvent(models.Model):
    order = models.ForeignKey(FulfilmentOrder, on_delete=models.CASCADE, related_name="events")
    attempt = models.ForeignKey(
        "FulfilmentAttempt", null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


class AttemptStatus(models.TextChoices):
    SUBMITTING = "submitting", _("提交中")  # the request may be on the wire: treated as unknown after a crash
    SUBMITTED = "submitted", _("供应商处理中")  # the supplier has it (accepted, processing)
    UNKNOWN = "unknown", _("结果待确认")  # it may have been taken: never resubmitted anywhere until proven failed
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失败（已证实）")


class FulfilmentAttempt(models.Model):
    """One try at one supplier offer. Its supplier order number (bank schema + order id + attempt
    number) is sent with every submit, so a repeat at the same supplier is idempotent; a new number
    is made only after the previous attempt is proven failed."""

    order = models.ForeignKey(FulfilmentOrder, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    order_number = models.CharField(max_length=64, unique=True)
    supplier = models.ForeignKey("rights_catalog.Supplier", on_delete=models.PROTECT, related_name="+")
    offer = models.ForeignKey("rights_catalog.SupplierOffer", null=True, on_delete=models.SET_NULL, related_name="+")
    supplier_sku = models.CharField(max_length=64)
    cost_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=AttemptStatus.choices, default=AttemptStatus.SUBMITTING)
    supplier_order_id = models.CharField(max_length=80, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    next_query_at = models.DateTimeField(null=True, blank=True)
    query_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order_id", "number"]
        constraints = [models.UniqueConstraint(fields=["order", "number"], name="attempt_one_number_per_order")]

    def __str__(self) -> str:
        return f"attempt {self.order_number} ({self.status})"


class ReconciliationFlag(models.Model):
    """A difference between our orders and a supplier's daily statement, for a human to look at."""

    class Kind(models.TextChoices):
        MISSING = "missing", _("我方成功、对账单无记录")
        EXTRA = "extra", _("对账单成功、我方未记成功")
        AMOUNT = "amount_mismatch", _("金额不符")

    day = models.DateField(_("对账日"))
    supplier = models.ForeignKey("rights_catalog.Supplier", on_delete=models.PROTECT, related_name="+")
    order_number = models.CharField(_("供应商订单号"), max_length=64)
    kind = models.CharField(_("差异"), max_length=20, choices=Kind.choices)
    ours_fen = models.BigIntegerField(null=True, blank=True)
    theirs_fen = models.BigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "supplier", "order_number", "kind"], name="recon_flag_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.order_number} {self.kind}"


class WebhookEndpoint(models.Model):
    """Where the bank wants its notifications (one active row per bank), and the signing secret."""

    url = models.URLField(_("通知地址"), max_length=300)
    secret_encrypted = models.TextField(editable=False)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One signed notification (redemption / success / failure) and its delivery log."""

    event = models.CharField(max_length=40)
    event_key = models.CharField(max_length=80, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=12, default="pending")  # pending | delivered | gave_up
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due", condition=models.Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"{self.event_key} ({self.status})"
