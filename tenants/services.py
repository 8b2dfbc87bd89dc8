"""Provisioning and lifecycle of banks: create (by cloning the template schema), suspend, resume.

Used by the `create_bank` command, the platform console and the demo seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Role, User
from accounts.services import audit_record
from platform.errors import ApplicationError
from platform.tenancy import use_public_schema
from tenants.models import PUBLIC_SCHEMA, Bank, BankStatus, Domain
from tenants.schema_clone import schema_clone

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,29}[a-z0-9]$")
RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "media", "platform", "console", "mail", "template"})
HOST_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class NewBankAdmin:
    username: str
    password: str
    email: str = ""


def bank_host(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_HOST}"


def platform_ensure_public() -> Bank:
    """The public row and the platform host; idempotent."""
    bank, _created = Bank.objects.get_or_create(
        schema_name=PUBLIC_SCHEMA, defaults={"slug": "platform", "name": "权益平台", "status": BankStatus.ACTIVE}
    )
    Domain.objects.get_or_create(domain=settings.PLATFORM_HOST, defaults={"tenant": bank, "is_primary": True})
    return bank


def template_ensure() -> Bank:
    """The template bank whose schema new banks are cloned from; migrated here if missing.

    Being a `Bank` row, it is migrated by every `migrate_schemas` like any bank, so clones are
    always current.
    """
    template = Bank.objects.filter(schema_name=settings.TENANT_TEMPLATE_SCHEMA).first()
    if template is not None and schema_exists(template.schema_name):
        return template
    from django.core.management import call_command

    if template is None:
        template = Bank.objects.create(
            schema_name=settings.TENANT_TEMPLATE_SCHEMA, slug="template", name="模板", status=BankStatus.TEMPLATE
        )
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{template.schema_name}"')
    call_command("migrate_schemas", tenant=True, schema_name=template.schema_name, interactive=False, verbosity=0)
    use_public_schema()
    return template


def _validate_new_bank(*, slug: str, name: str, custom_domains: list[str], colors: list[str]) -> None:
    errors = []
    if not SLUG_PATTERN.match(slug) or slug in RESERVED_SLUGS:
        errors.append(
            _("标识须为 3–31 位小写字母、数字或连字符，以字母开头，且不能是保留字：%(slug)s") % {"slug": slug}
        )
    elif Bank.objects.filter(slug=slug).exists():
        errors.append(_("标识已被使用：%(slug)s") % {"slug": slug})
    if not name.strip():
        errors.append(_("名称不能为空"))
    for host in custom_domains:
        if (
            not HOST_PATTERN.match(host)
            or host.endswith("." + settings.PLATFORM_HOST)
            or host == settings.PLATFORM_HOST
        ):
            errors.append(_("自定义域名无效：%(host)s") % {"host": host})
        elif Domain.objects.filter(domain=host).exists():
            errors.append(_("域名已被使用：%(host)s") % {"host": host})
    for color in colors:
        if not COLOR_PATTERN.match(color):
            errors.append(_("颜色须为 #RRGGBB：%(color)s") % {"color": color})
    if errors:
        raise ApplicationError("bank.invalid", "；".join(errors), extra={"errors": errors})


def bank_create(
    *,
    slug: str,
    name: str,
    name_en: str = "",
    custom_domains: list[str] | None = None,
    color_primary: str = "#c8102e",
    color_on_primary: str = "#ffffff",
    color_accent: str = "#f5a623",
    logo_svg: str = "",
    footer_text: str = "",
    admin: NewBankAdmin | None = None,
    actor: User | None = None,
) -> Bank:
    """Create a bank, its schema, its host and optional custom domains, all or nothing."""
    slug = slug.strip().lower()
    custom_domains = [host.strip().lower() for host in custom_domains or [] if host.strip()]
    _validate_new_bank(
        slug=slug, name=name, custom_domains=custom_domains, colors=[color_primary, color_on_primary, color_accent]
    )
    template = template_ensure()
    use_public_schema()
    with transaction.atomic():
        bank = Bank.objects.create(
            schema_name="bank_" + slug.replace("-", "_"),
            slug=slug,
            name=name.strip(),
            name_en=name_en.strip(),
            color_primary=color_primary,
            color_on_primary=color_on_primary,
            color_accent=color_accent,
            logo_svg=logo_svg,
            footer_text=footer_text,
        )
        Domain.objects.create(domain=bank_host(slug), tenant=bank, is_primary=True)
        for host in custom_domains:
            Domain.objects.create(domain=host, tenant=bank, is_primary=False)
        schema_clone(source=template.schema_name, target=bank.schema_name)
        if admin is not None:
            with schema_context(bank.schema_name):
                User.objects.create_user(
                    username=admin.username, password=admin.password, email=admin.email, role=Role.ADMIN
                )
        audit_record(actor=actor, action="bank.create", target=bank, after={"slug": slug, "domains": custom_domains})
    return bank


def bank_suspend(*, bank: Bank, reason: str, actor: User | None = None) -> Bank:
    if bank.status == BankStatus.TEMPLATE or bank.schema_name == PUBLIC_SCHEMA:
        raise ApplicationError("bank.not_a_bank", _("该租户不能被暂停"))
    if not reason.strip():
        raise ApplicationError("bank.reason_required", _("暂停须填写原因"))
    with transaction.atomic():
        locked = Bank.objects.select_for_update().get(pk=bank.pk)
        before = locked.status
        locked.status = BankStatus.SUSPENDED
        locked.suspended_reason = reason.strip()
        locked.save(update_fields=["status", "suspended_reason"])
        audit_record(
            actor=actor,
            action="bank.suspend",
            target=locked,
            before={"status": before},
            after={"status": locked.status, "reason": reason},
        )
    return locked


def bank_resume(*, bank: Bank, actor: User | None = None) -> Bank:
    with transaction.atomic():
        locked = Bank.objects.select_for_update().get(pk=bank.pk)
        if locked.status != BankStatus.SUSPENDED:
            raise ApplicationError("bank.not_suspended", _("该银行未被暂停"))
        locked.status = BankStatus.ACTIVE
        locked.suspended_reason = ""
        locked.save(update_fields=["status", "suspended_reason"])
        audit_record(
            actor=actor,
            action="bank.resume",
            target=locked,
            before={"status": BankStatus.SUSPENDED},
            after={"status": locked.status},
        )
    return locked
