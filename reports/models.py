"""Read models of a bank (its schema): small rollup tables folded incrementally from the event and
state rows the flows already write, the fold's watermarks, H5 opens, and export jobs
(docs/decisions/0500-dashboard-rollups.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RollupPart(models.TextChoices):
    # rows folded once, for ids at or below the source's watermark (added to, never recomputed)
    SEALED = "sealed", "sealed"
    # rows above the watermark, recomputed from scratch by every fold (a late commit lands here)
    RECENT = "recent", "recent"


# time-to-redeem buckets: upper bound in seconds of each column (the last is open-ended)
TTR_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("ttr_1h", 3600),
    ("ttr_6h", 6 * 3600),
    ("ttr_1d", 24 * 3600),
    ("ttr_3d", 3 * 24 * 3600),
    ("ttr_7d", 7 * 24 * 3600),
    ("ttr_30d", 30 * 24 * 3600),
    ("ttr_more", None),
)

CAMPAIGN_METRICS: tuple[str, ...] = (
    "granted",
    "sms_sent",
    "sms_delivered",
    "sms_failed",
    "h5_opened",
    "redeemed",
    "rights",
    "fulfilled",
    "failed",
    "in_review",
    "restored",
    "spent_fen",
    *(name for name, _bound in TTR_BUCKETS),
)


def _counter() -> models.BigIntegerField:
    return models.BigIntegerField(default=0)


class CampaignRollup(models.Model):
    """Per campaign, day (the day the grant, text or redemption was made, bank time), product (0 for
    metrics that are not per right) and branch: counts that sum to the raw tables' counts."""

    campaign_id = models.BigIntegerField()
    day = models.DateField()
    product_id = models.BigIntegerField(default=0)
    branch_code = models.CharField(max_length=32, blank=True)
    part = models.CharField(max_length=6, choices=RollupPart.choices)
    granted = _counter()
    sms_sent = _counter()
    sms_delivered = _counter()
    sms_failed = _counter()
    h5_opened = _counter()
    redeemed = _counter()
    rights = _counter()
    fulfilled = _counter()
    failed = _counter()
    in_review = _counter()
    restored = _counter()
    spent_fen = _counter()
    ttr_1h = _counter()
    ttr_6h = _counter()
    ttr_1d = _counter()
    ttr_3d = _counter()
    ttr_7d = _counter()
    ttr_30d = _counter()
    ttr_more = _counter()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign_id", "day", "product_id", "branch_code", "part"], name="reports_campaign_rollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day} {self.product_id} {self.branch_code} {self.part}"


class SupplierRollup(models.Model):
    """Per supplier and day (of the outcome): attempts that succeeded, were proven failed or went
    unknown, and the submit-to-success latency."""

    supplier_id = models.BigIntegerField()
    day = models.DateField()
    part = models.CharField(max_length=6, choices=RollupPart.choices)
    succeeded = _counter()
    failed = _counter()
    unknown = _counter()
    latency_ms_sum = _counter()
    latency_count = _counter()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supplier_id", "day", "part"], name="reports_supplier_rollup_key")
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.day} {self.part}"


class SmsRollup(models.Model):
    """Per SMS provider backend and day the text was created: texts that left, arrived, failed."""

    backend = models.CharField(max_length=20)
    day = models.DateField()
    part = models.CharField(max_length=6, choices=RollupPart.choices)
    sent = _counter()
    delivered = _counter()
    failed = _counter()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["backend", "day", "part"], name="reports_sms_rollup_key")]

    def __str__(self) -> str:
        return f"{self.backend} {self.day} {self.part}"


class FoldState(models.Model):
    """One source table's watermark: ids ≤ `sealed_id` are in the sealed rollups. `next_id` is the
    sequence's value read at the previous fold, at `next_at` (database clock): once no transaction
    that began before `next_at` is still open, every id ≤ `next_id` is final and can be sealed."""

    source = models.CharField(max_length=60, primary_key=True)
    sealed_id = models.BigIntegerField(default=0)
    next_id = models.BigIntegerField(null=True, blank=True)
    next_at = models.DateTimeField(null=True, blank=True)
    folded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.source} ≤ {self.sealed_id}"


class OpenedCode(models.Model):
    """The first time a code's H5 link was opened (flushed from Redis by the fold)."""

    code_id = models.BigIntegerField(primary_key=True)
    campaign_id = models.BigIntegerField()
    day = models.DateField()
    branch_code = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"{self.code_id} {self.day}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class Export(models.Model):
    """One table written to a file in the background, stored through the storage layer and
    downloadable through an expiring signed link. Unmasked exports are admin-only and always an
    AES-encrypted ZIP whose password is shown once."""

    table = models.CharField(_("数据表"), max_length=40)
    format = models.CharField(_("格式"), max_length=4, choices=ExportFormat.choices, default=ExportFormat.CSV)
    params = models.JSONField(default=dict)
    unmasked = models.BooleanField(_("明文"), default=False)
    encrypted = models.BooleanField(_("加密"), default=False)
    status = models.CharField(_("状态"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    row_count = models.PositiveBigIntegerField(_("行数"), default=0)
    total_rows = models.PositiveBigIntegerField(null=True, blank=True)
    stored_path = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("链接有效期至"))
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} {self.table}"

    @property
    def file_name(self) -> str:
        suffix = "zip" if self.encrypted else self.format
        return f"{self.table}-{self.pk}.{suffix}"
