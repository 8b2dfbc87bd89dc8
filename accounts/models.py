"""People and systems that act: staff users (platform staff in the public schema, card-centre
staff in each bank's schema), bank-system API keys, and the audit trail of what they did."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Card-centre roles; platform staff (public schema) use Django's is_staff/is_superuser."""

    ADMIN = "admin", _("管理员")
    OPERATOR = "operator", _("运营")
    AUDITOR = "auditor", _("审计")
    BRANCH_MANAGER = "branch_manager", _("网点负责人")


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, blank=True)
    branch_code = models.CharField(_("所属网点"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")


class AuditEntry(models.Model):
    """Who did what to which object, when, and from where. Append-only."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(_("操作者"), max_length=150)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    target_id = models.CharField(_("对象"), max_length=64, blank=True)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_type}:{self.target_id}"


class ApiScope(models.TextChoices):
    PING = "ping", _("连通性检查")
    GRANTS_WRITE = "grants:write", _("发放权益")
    GRANTS_READ = "grants:read", _("查询发放")


class ApiKey(models.Model):
    """A bank system's credential. The signing secret is never stored: it is derived from the
    platform's pepper and this row's salt, and only its digest is kept to detect tampering."""

    key_id = models.CharField(_("密钥编号"), max_length=80, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    scopes = ArrayField(models.CharField(max_length=32, choices=ApiScope.choices), verbose_name=_("权限"))
    salt = models.CharField(max_length=64)
    secret_digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 密钥")
        verbose_name_plural = _("API 密钥")

    def __str__(self) -> str:
        return self.key_id
