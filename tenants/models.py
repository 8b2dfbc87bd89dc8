"""Banks (tenants, one PostgreSQL schema each) and the host names that reach them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

PUBLIC_SCHEMA = "public"


class BankStatus(models.TextChoices):
    ACTIVE = "active", _("运行中")
    SUSPENDED = "suspended", _("已暂停")
    TEMPLATE = "template", _("模板")


class BankQuerySet(models.QuerySet["Bank"]):
    def active(self) -> BankQuerySet:
        return self.filter(status=BankStatus.ACTIVE).exclude(schema_name=PUBLIC_SCHEMA)

    def real(self) -> BankQuerySet:
        """Every bank a person would call a bank: not the public row, not the template."""
        return self.exclude(schema_name=PUBLIC_SCHEMA).exclude(status=BankStatus.TEMPLATE)


class Bank(TenantMixin):
    """A bank's card centre. The row with schema `public` stands for the platform itself, and the
    row with status `template` is the migrated schema that new banks are cloned from."""

    slug = models.SlugField(_("标识"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=BankStatus.choices, default=BankStatus.ACTIVE)
    suspended_reason = models.CharField(_("暂停原因"), max_length=200, blank=True)
    # white-label branding of the cardholder pages and the bank console
    brand_title = models.CharField(_("页面标题"), max_length=60, blank=True)
    color_primary = models.CharField(_("主色"), max_length=7, default="#c8102e")
    color_on_primary = models.CharField(_("主色上的文字色"), max_length=7, default="#ffffff")
    color_accent = models.CharField(_("强调色"), max_length=7, default="#f5a623")
    logo_svg = models.TextField(_("标志 (SVG)"), blank=True)
    footer_text = models.CharField(_("页脚"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    # schemas are cloned by tenants.provisioning, never created by django-tenants' save()
    auto_create_schema = False
    auto_drop_schema = False

    objects = BankQuerySet.as_manager()

    class Meta:
        verbose_name = _("银行")
        verbose_name_plural = _("银行")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == BankStatus.SUSPENDED

    @property
    def title(self) -> str:
        return self.brand_title or self.name


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("域名")
        verbose_name_plural = _("域名")

    def __str__(self) -> str:
        return self.domain
