"""The shared rights catalogue (public schema): categories, rights products (SKUs), suppliers and
their offers, per-bank price lists, and the supplier health record. Money is integer fen."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class DeliveryType(models.TextChoices):
    DIRECT = "direct", "直充到账"
    CARD_SECRET = "card_secret", "卡密"
    LINK = "link", "兑换链接"


class AccountFormat(models.TextChoices):
    MOBILE = "mobile", "大陆手机号"
    QQ = "qq", "QQ号"
    PLATFORM_ID = "platform_id", "平台账号"
    NONE = "none", "无需账号"


class Category(models.Model):
    code = models.SlugField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=60)
    name_en = models.CharField("英文名称", max_length=80, blank=True)
    sort_order = models.PositiveIntegerField("排序", default=100)
    active = models.BooleanField("启用", default=True)

    class Meta:
        ordering = ("sort_order", "code")
        verbose_name = "权益分类"
        verbose_name_plural = "权益分类"

    def __str__(self) -> str:
        return self.name


class RightsProduct(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField("名称", max_length=120)
    name_en = models.CharField("英文名称", max_length=160, blank=True)
    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.PROTECT, related_name="products")
    face_value_fen = models.PositiveIntegerField("面值（分）")
    list_price_fen = models.PositiveIntegerField("指导价（分）")
    currency = models.CharField("币种", max_length=3, default="CNY")
    delivery_type = models.CharField("发放方式", max_length=20, choices=DeliveryType.choices)
    account_format = models.CharField("充值账号格式", max_length=20, choices=AccountFormat.choices)
    cardholder_text = models.TextField("持卡人说明", blank=True)
    active = models.BooleanField("上架", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ("category__sort_order", "sku")
        verbose_name = "权益产品"
        verbose_name_plural = "权益产品"

    def __str__(self) -> str:
        return f"{self.name}（{self.sku}）"


class SupplierStatus(models.TextChoices):
    ACTIVE = "active", "启用"
    PAUSED = "paused", "暂停"


class Supplier(models.Model):
    code = models.SlugField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=80)
    dialect = models.CharField("接口协议", max_length=20)
    endpoint = models.URLField("接口地址", max_length=300)
    merchant_id = models.CharField("商户号", max_length=80)
    # `platform.crypto.encrypt` of a JSON object; written once through `supplier_credentials_set`,
    # never shown again
    credentials_encrypted = models.TextField("凭据（加密）", blank=True, editable=False)
    credentials_set_at = models.DateTimeField("凭据设置时间", null=True, blank=True, editable=False)
    callback_ip_allowlist = models.TextField(
        "回调IP白名单", blank=True, help_text="每行一个 IP 或网段（CIDR）；留空则不限制来源 IP"
    )
    status = models.CharField("状态", max_length=10, choices=SupplierStatus.choices, default=SupplierStatus.ACTIVE)
    connect_timeout_s = models.FloatField("连接超时（秒）", default=3.0)
    read_timeout_s = models.FloatField("读取超时（秒）", default=10.0)
    query_delay_s = models.PositiveIntegerField("下单后最早查询（秒）", default=0)
    balance_fen = models.BigIntegerField("余额（分）", null=True, blank=True, editable=False)
    balance_checked_at = models.DateTimeField("余额查询时间", null=True, blank=True, editable=False)
    balance_alert_fen = models.BigIntegerField("余额告警阈值（分）", default=100_000)
    success_rate_alert_percent = models.PositiveSmallIntegerField("成功率告警阈值（%）", default=90)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        ordering = ("code",)
        verbose_name = "供应商"
        verbose_name_plural = "供应商"

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == SupplierStatus.ACTIVE


class SupplierOffer(models.Model):
    product = models.ForeignKey(RightsProduct, verbose_name="权益产品", on_delete=models.CASCADE, related_name="offers")
    supplier = models.ForeignKey(Supplier, verbose_name="供应商", on_delete=models.PROTECT, related_name="offers")
    supplier_sku = models.CharField("供应商商品编码", max_length=64)
    cost_fen = models.PositiveIntegerField("成本（分）")
    priority = models.PositiveSmallIntegerField("优先级（小者优先）", default=10)
    active = models.BooleanField("启用", default=True)
    stock = models.IntegerField("库存（卡密）", null=True, blank=True, help_text="卡密类产品的库存；留空表示不限")

    class Meta:
        ordering = ("product", "priority", "id")
        verbose_name = "供应商报价"
        verbose_name_plural = "供应商报价"
        constraints = [
            models.UniqueConstraint(fields=("product", "supplier"), name="offer_one_per_supplier_and_product"),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} · {self.supplier_sku}"


class BankPrice(models.Model):
    bank = models.ForeignKey("tenants.Bank", verbose_name="银行", on_delete=models.CASCADE, related_name="prices")
    product = models.ForeignKey(
        RightsProduct, verbose_name="权益产品", on_delete=models.PROTECT, related_name="bank_prices"
    )
    price_fen = models.PositiveIntegerField("结算价（分）")
    active = models.BooleanField("可用", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ("bank", "product__sku")
        verbose_name = "银行价目"
        verbose_name_plural = "银行价目"
        constraints = [models.UniqueConstraint(fields=("bank", "product"), name="bank_price_one_per_product")]

    def __str__(self) -> str:
        return f"{self.bank} · {self.product.sku}"


class CallOutcome(models.TextChoices):
    OK = "ok", "成功"
    REJECTED = "rejected", "明确失败"
    UNKNOWN = "unknown", "结果未知"


class SupplierCall(models.Model):
    """One call to a supplier's API, for the health figures (success rate, latency)."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="calls")
    operation = models.CharField(max_length=20)
    outcome = models.CharField(max_length=10, choices=CallOutcome.choices)
    latency_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=("supplier", "operation", "created_at"), name="supplier_call_recent")]

    def __str__(self) -> str:
        return f"{self.supplier_id} {self.operation} {self.outcome}"


class AlertKind(models.TextChoices):
    BALANCE_LOW = "balance_low", "余额不足"
    SUCCESS_RATE_LOW = "success_rate_low", "成功率过低"


class SupplierAlert(models.Model):
    supplier = models.ForeignKey(Supplier, verbose_name="供应商", on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField("类型", max_length=20, choices=AlertKind.choices)
    message = models.CharField("说明", max_length=200)
    value = models.BigIntegerField("当前值")
    threshold = models.BigIntegerField("阈值")
    created_at = models.DateTimeField("发生时间", auto_now_add=True)
    resolved_at = models.DateTimeField("解除时间", null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "供应商告警"
        verbose_name_plural = "供应商告警"
        constraints = [
            models.UniqueConstraint(
                fields=("supplier", "kind"), condition=Q(resolved_at__isnull=True), name="supplier_alert_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier} · {self.get_kind_display()}"
