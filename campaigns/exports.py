"""Plaintext code export for offline distribution: admin only, audited, produced in the background
as an AES-256 encrypted ZIP (opens in 7-Zip, WinRAR, Bandizip) whose password is shown to the
requesting admin once, downloadable through an expiring signed link."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta

import pyzipper
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import audit_record
from campaigns.bulk import code_unseal
from campaigns.codes import code_format
from campaigns.models import BatchStatus, Campaign, Code, CodeExport, CodeStatus
from platform.errors import ApplicationError
from platform.redis import get_redis
from platform.tenancy import current_schema

LINK_TTL = timedelta(hours=24)
_SALT = "campaigns.code_export"


def _password_key(export_id: int) -> str:
    return f"export-password:{current_schema()}:{export_id}"


def code_export_request(*, campaign: Campaign, actor: User) -> tuple[CodeExport, str]:
    """Queue an export; returns it and the ZIP password (shown once, kept nowhere but Redis until
    the file is written)."""
    if actor.role != Role.ADMIN:
        raise ApplicationError("export.forbidden", _("只有管理员可以导出明文兑换码"), status=403)
    from campaigns.tasks import code_export_task

    password = "-".join(secrets.token_hex(3).upper() for _i in range(4))
    with transaction.atomic():
        export = CodeExport.objects.create(campaign=campaign, requested_by=actor, expires_at=timezone.now() + LINK_TTL)
        audit_record(action="codes.export", actor=actor, target=export, after={"campaign": campaign.pk})
        get_redis().set(_password_key(export.pk), password, ex=3600)
        transaction.on_commit(lambda: code_export_task.delay(export_id=export.pk))
    return export, password


def code_export_run(*, export_id: int) -> CodeExport:
    export = CodeExport.objects.select_related("campaign").get(pk=export_id)
    if export.status == BatchStatus.COMMITTED:
        return export
    password = get_redis().get(_password_key(export.pk))
    if password is None:
        CodeExport.objects.filter(pk=export.pk).update(status=BatchStatus.FAILED)
        return export
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["兑换码", "状态", "有效期至"])
    rows = 0
    codes = (
        Code.objects.filter(campaign=export.campaign, status=CodeStatus.ACTIVE, grant__isnull=True)
        .order_by("pk")
        .values_list("sealed", "status", "valid_until")
    )
    for sealed, status, valid_until in codes.iterator(chunk_size=5000):
        writer.writerow([code_format(code_unseal(sealed)), status, valid_until.date().isoformat()])
        rows += 1
    archive = io.BytesIO()
    with pyzipper.AESZipFile(archive, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(password)
        zf.writestr(f"campaign-{export.campaign_id}-codes.csv", text.getvalue().encode("utf-8-sig"))
    path = default_storage.save(f"{current_schema()}/exports/codes-{export.pk}.zip", ContentFile(archive.getvalue()))
    get_redis().delete(_password_key(export.pk))
    CodeExport.objects.filter(pk=export.pk).update(status=BatchStatus.COMMITTED, stored_path=path, row_count=rows)
    export.refresh_from_db()
    return export


def export_link_token(export: CodeExport) -> str:
    return signing.dumps({"export": export.pk, "schema": current_schema()}, salt=_SALT)


def export_for_download(*, token: str, actor: User) -> CodeExport:
    try:
        payload = signing.loads(token, salt=_SALT, max_age=LINK_TTL)
    except signing.BadSignature as error:
        raise ApplicationError("export.link_invalid", _("下载链接无效或已过期"), status=403) from error
    if payload.get("schema") != current_schema() or actor.role != Role.ADMIN:
        raise ApplicationError("export.link_invalid", _("下载链接无效或已过期"), status=403)
    export = CodeExport.objects.filter(pk=payload["export"], status=BatchStatus.COMMITTED).first()
    if export is None or export.expires_at < timezone.now():
        raise ApplicationError("export.link_invalid", _("下载链接无效或已过期"), status=403)
    CodeExport.objects.filter(pk=export.pk).update(downloaded_at=timezone.now())
    audit_record(action="codes.export_download", actor=actor, target=export)
    return export
