"""SMS of one bank (tenant schema): the provider account it sends through, its templates, the
outbox of messages with their event rows, and launch batches that expand into the outbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SmsKind(models.TextChoices):
    CODE_DELIVERY = "code_delivery", _("兑换码下发")
    OTP = "otp", _("验证码")
    ARRIVAL = "arrival", _("到账提示")
    FAILURE_NOTICE = "failure_notice", _("失败通知")
    RESEND = "resend", _("补发")


# sent in bulk at a campaign's launch: per-number daily cap and quiet hours apply
PROMOTIONAL_KINDS = frozenset({SmsKind.CODE_DELIVERY})


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已提交")
    UNKNOWN = "unknown", _("结果未知")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")


FINAL_STATUSES = frozenset({SmsStatus.DELIVERED, SmsStatus.FAILED, SmsStatus.EXPIRED})


class SmsProviderAccount(models.Model):
    """The provider a bank sends through; credentials are encrypted with the bank's schema bound."""

    name = models.CharField(_("名称"), max_length=100)
    backend = models.CharField(_("服务商"), max_length=20)
    credentials_encrypted = models.TextField(blank=True)
    # token-bucket rate in messages per second across every worker; 0 = no cap
    rate_per_s = models.PositiveIntegerField(_("发送速率（条/秒）"), default=0)
    # secret part of the receipt URL given to the provider
    receipt_token = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(_("启用"), default=True)
    promotional_daily_max = models.PositiveIntegerField(_("营销短信每号每日上限"), default=3)
    quiet_start_hour = models.PositiveSmallIntegerField(_("免打扰开始（时）"), default=21)
    quiet_end_hour = models.PositiveSmallIntegerField(_("免打扰结束（时）"), default=8)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("短信服务商账号")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="messaging_one_active_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.backend})"


class SmsTemplate(models.Model):
    """A bank's text for one template key; `${name}` placeholders, 【signature】 added at send time."""

    key = models.SlugField(_("模板标识"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    signature = models.CharField(_("短信签名"), max_length=20)
    text = models.TextField(_("模板内容"))
    # providers that need registration (Aliyun): the registered template's code and text
    provider_template_code = models.CharField(_("服务商模板编号"), max_length=60, blank=True)
    registered_text = models.TextField(_("已报备内容"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("短信模板")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class SmsBatchStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    PAUSED = "paused", _("已暂停")
    DONE = "done", _("已完成")
    FAILED = "failed", _("出错")


class SmsBatch(models.Model):
    """A large send (campaign launch): a resumable source expanded chunk by chunk into the outbox."""

    name = models.CharField(_("名称"), max_length=200)
    source = models.CharField(max_length=200)
    source_kwargs = models.JSONField(default=dict)
    template_key = models.CharField(max_length=60)
    kind = models.CharField(max_length=20, choices=SmsKind.choices)
    campaign_ref = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=SmsBatchStatus.choices, default=SmsBatchStatus.RUNNING)
    cursor = models.CharField(max_length=200, blank=True)
    expanded = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("批量发送")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SmsMessage(models.Model):
    """One text to one number: a row first, then sent by a worker."""

    kind = models.CharField(_("类型"), max_length=20, choices=SmsKind.choices)
    phone_encrypted = models.TextField()
    phone_digest = models.CharField(max_length=64, db_index=True)
    phone_masked = models.CharField(_("手机号"), max_length=20)
    template_key = models.CharField(_("模板"), max_length=60)
    params_encrypted = models.TextField()
    campaign_ref = models.CharField(max_length=64, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL: no key, never unique-checked
    # indexed by (batch, status) below
    batch = models.ForeignKey(
        SmsBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    status = models.CharField(_("状态"), max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    backend = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    segments = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("短信")
        # Every status change writes a new row version into every index, so indexes that only
        # matter for some rows are partial: a launch of a million texts pays for fewer of them.
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=models.Q(dedupe_key__isnull=False), name="messaging_dedupe_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "updated_at"],
                name="messaging_open_status",
                condition=models.Q(status__in=["queued", "sending", "unknown"]),
            ),
            models.Index(fields=["batch", "status"], name="messaging_batch_status"),
            models.Index(
                fields=["provider_message_id"],
                name="messaging_provider_id",
                condition=~models.Q(provider_message_id=""),
            ),
            models.Index(fields=["campaign_ref"], name="messaging_campaign", condition=~models.Q(campaign_ref="")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.phone_masked} {self.status}"


class SmsEvent(models.Model):
    """A state change of a message; reading them in order tells its whole story."""

    message = models.ForeignKey(SmsMessage, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=10, choices=SmsStatus.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.status}"


class SmsReceipt(models.Model):
    """An inbound delivery receipt, stored once per provider event: a replay changes nothing."""

    backend = models.CharField(max_length=20)
    event_key = models.CharField(max_length=200)
    provider_message_id = models.CharField(max_length=100)
    status = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["backend", "event_key"], name="messaging_receipt_once")]

    def __str__(self) -> str:
        return f"{self.backend}:{self.event_key}"
