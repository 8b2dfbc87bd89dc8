"""A bank's campaigns and what they hand out: rights packages, limits and quotas, grants to
cardholders, redemption codes in batches, whitelist imports — all in the bank's schema."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SCHEDULED = "scheduled", _("待开始")
    LIVE = "live", _("进行中")
    PAUSED = "paused", _("已暂停")
    ENDED = "ended", _("已结束")


class PackageKind(models.TextChoices):
    FIXED = "fixed", _("固定权益")
    CHOOSE = "choose", _("N 选 K")
    SPLIT = "split", _("分期权益")


class ValidityKind(models.TextChoices):
    FIXED_DATE = "fixed_date", _("固定到期日")
    DAYS_AFTER_GRANT = "days_after_grant", _("发放后 N 天")


class Eligibility(models.TextChoices):
    WHITELIST = "whitelist", _("白名单")
    API = "api", _("接口发放")
    BOTH = "both", _("白名单与接口")


class DuplicatePolicy(models.TextChoices):
    SKIP = "skip", _("跳过重复手机号")
    REJECT = "reject", _("有重复则整批拒绝")
    ALLOW = "allow", _("允许重复（每行一份）")


class LimitPeriod(models.TextChoices):
    DAY = "day", _("每天")
    WEEK = "week", _("每周")
    MONTH = "month", _("每月")


class Campaign(models.Model):
    name = models.CharField(_("活动名称"), max_length=100)
    description = models.TextField(_("活动说明"), blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    package_kind = models.CharField(
        _("权益包类型"), max_length=8, choices=PackageKind.choices, default=PackageKind.FIXED
    )
    choose_count = models.PositiveSmallIntegerField(_("可选数量 K"), default=1)
    split_parts = models.PositiveSmallIntegerField(_("分期份数"), default=1)
    split_interval_days = models.PositiveSmallIntegerField(_("每份间隔（天）"), default=30)
    validity_kind = models.CharField(
        _("兑换码有效期"), max_length=20, choices=ValidityKind.choices, default=ValidityKind.DAYS_AFTER_GRANT
    )
    valid_until = models.DateTimeField(_("固定到期日"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("发放后有效天数"), default=30)
    redemptions_per_code = models.PositiveSmallIntegerField(_("每码可兑换次数"), default=1)
    budget_fen = models.BigIntegerField(_("金额预算（分）"), default=0)
    budget_count = models.PositiveIntegerField(_("数量预算（份）"), default=0)
    spent_fen = models.BigIntegerField(_("已用金额（分）"), default=0)
    spent_count = models.PositiveIntegerField(_("已用数量"), default=0)
    granted_count = models.PositiveIntegerField(_("已发放"), default=0)
    daily_cap = models.PositiveIntegerField(_("每日兑换上限"), null=True, blank=True)
    per_cardholder_limit = models.PositiveSmallIntegerField(_("每人活动内限兑次数"), null=True, blank=True)
    per_period_limit = models.PositiveSmallIntegerField(_("每人每周期限兑次数"), null=True, blank=True)
    limit_period = models.CharField(_("限兑周期"), max_length=8, choices=LimitPeriod.choices, default=LimitPeriod.MONTH)
    eligibility = models.CharField(
        _("参与方式"), max_length=10, choices=Eligibility.choices, default=Eligibility.WHITELIST
    )
    duplicate_policy = models.CharField(
        _("白名单重复手机号"), max_length=8, choices=DuplicatePolicy.choices, default=DuplicatePolicy.SKIP
    )
    requires_otp = models.BooleanField(_("兑换时短信验证手机号"), default=True)
    restore_on_failure = models.BooleanField(_("发放失败时退回兑换码与额度"), default=True)
    sms_text = models.TextField(_("发码短信"), blank=True)
    arrival_text = models.CharField(_("到账提示语"), max_length=200, blank=True)
    rules_text = models.TextField(_("活动规则（H5 展示）"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    launched_at = models.DateTimeField(_("上线时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="campaign_window_ordered"),
            models.CheckConstraint(
                condition=Q(spent_fen__lte=models.F("budget_fen")) | Q(budget_fen=0),
                name="campaign_money_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(spent_count__lte=models.F("budget_count")) | Q(budget_count=0),
                name="campaign_count_within_budget",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignItem(models.Model):
    """A right in the campaign's package, at the bank's price when it was added or launched."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("rights_catalog.RightsProduct", on_delete=models.PROTECT, related_name="+")
    price_fen = models.PositiveIntegerField(_("结算价（分）"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "product"], name="campaign_item_unique_product")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.product_id}"


class BranchQuota(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="branch_quotas")
    branch_code = models.CharField(_("网点代码"), max_length=32)
    quota = models.PositiveIntegerField(_("名额"))
    used = models.PositiveIntegerField(_("已用"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "branch_code"], name="branch_quota_unique"),
            models.CheckConstraint(condition=Q(used__lte=models.F("quota")), name="branch_quota_not_exceeded"),
        ]

    def __str__(self) -> str:
        return f"{self.branch_code} {self.used}/{self.quota}"


class DailyUsage(models.Model):
    """Redemptions per campaign and day, for the daily cap; consumed by a conditional upsert."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "day"], name="daily_usage_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day} {self.used}"


class CardholderUsage(models.Model):
    """Redemptions per cardholder (phone digest) and period key (`all` or `2026-11`, `2026-W47`, …)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    phone_digest = models.BinaryField()
    period_key = models.CharField(max_length=12)
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "phone_digest", "period_key"], name="cardholder_usage_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.period_key} {self.used}"


class GrantSource(models.TextChoices):
    WHITELIST = "whitelist", _("白名单")
    API = "api", _("接口")
    POOL = "pool", _("线下码池")


class Grant(models.Model):
    """One cardholder's entitlement in a campaign; its codes are bound to the phone."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="grants")
    phone_encrypted = models.TextField()
    phone_digest = models.BinaryField(db_index=True)
    phone_masked = models.CharField(_("手机号"), max_length=16)
    branch_code = models.CharField(_("网点"), max_length=32, blank=True)
    customer_ref = models.CharField(_("客户编号"), max_length=64, blank=True)
    source = models.CharField(_("来源"), max_length=10, choices=GrantSource.choices)
    whitelist_import = models.ForeignKey(
        "WhitelistImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("发放时间"), auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["campaign", "created_at"], name="grant_campaign_created")]

    def __str__(self) -> str:
        return f"grant {self.pk} {self.phone_masked}"


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    COMMITTED = "committed", _("已完成")
    FAILED = "failed", _("失败")


class CodeBatch(models.Model):
    """Codes generated together; its codes become visible in the same commit that marks it done."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="code_batches")
    source = models.CharField(max_length=10, choices=GrantSource.choices)
    requested_count = models.PositiveIntegerField(_("数量"))
    created_count = models.PositiveIntegerField(_("已生成"), default=0)
    status = models.CharField(_("状态"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.status})"


class CodeStatus(models.TextChoices):
    ACTIVE = "active", _("可兑换")
    REDEEMED = "redeemed", _("已兑换")
    EXPIRED = "expired", _("已过期")
    VOID = "void", _("已作废")


class Code(models.Model):
    """A redemption code. Only a keyed digest (look-up, unique) and an encrypted copy (export,
    SMS) are stored: a database dump shows neither the code nor the phone."""

    id = models.BigAutoField(primary_key=True)
    # few indexes and no foreign-key triggers on purpose: each is paid on every one of millions of
    # inserted codes; the rows they point to are written by the same service in the same transaction
    # and never deleted while codes exist (decision 0006)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.DO_NOTHING, related_name="codes", db_index=False, db_constraint=False
    )
    batch = models.ForeignKey(
        CodeBatch, on_delete=models.DO_NOTHING, related_name="codes", db_index=False, db_constraint=False
    )
    grant = models.ForeignKey(
        Grant,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="codes",
        db_index=False,
        db_constraint=False,
    )
    digest = models.BinaryField(unique=True)
    sealed = models.BinaryField()
    tail = models.CharField(max_length=4)
    phone_digest = models.BinaryField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=CodeStatus.choices, default=CodeStatus.ACTIVE)
    redemptions_left = models.PositiveSmallIntegerField(default=1)
    part = models.PositiveSmallIntegerField(default=1)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "status"], name="code_campaign_status"),
            models.Index(fields=["grant"], name="code_grant", condition=Q(grant__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return f"****-{self.tail}"


class CampaignEvent(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    actor_label = models.CharField(max_length=150)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind}"


class CodeEvent(models.Model):
    """State changes of single codes (redeemed, restored, voided). Bulk creation is recorded once
    per batch as a CampaignEvent instead of a million rows here."""

    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.code_id} {self.kind}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    VALIDATING = "validating", _("校验中")
    IMPORTING = "importing", _("导入中")
    DONE = "done", _("已完成")
    REJECTED = "rejected", _("有错误，未导入")
    FAILED = "failed", _("失败")


class WhitelistImport(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="whitelist_imports")
    file_name = models.CharField(_("文件"), max_length=200)
    stored_path = models.CharField(max_length=300)
    status = models.CharField(_("状态"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    skipped_duplicates = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.file_name


class IdempotencyRecord(models.Model):
    """The first answer to an API request with an `Idempotency-Key`, replayed for repeats."""

    key_id = models.CharField(max_length=80)
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_id", "idempotency_key"], name="idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.key_id} {self.idempotency_key}"
