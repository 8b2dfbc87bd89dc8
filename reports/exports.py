"""Exports of any dashboard table or raw list, the one export path of the console: requested by a
member of staff (audited), written in the background as CSV or XLSX with progress, stored through
the storage layer, downloaded through an expiring signed link (audited).

Phone numbers and codes are masked unless an admin explicitly asks for them unmasked; an unmasked
export is always an AES-256 encrypted ZIP (opens in 7-Zip, WinRAR, Bandizip) whose password is
shown once to that admin and kept nowhere but Redis until the file is written. The offline code
pool's plaintext export is the `codes` table of this module."""

from __future__ import annotations

import csv
import io
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, Any

import pyzipper
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, User
from accounts.services import audit_record
from campaigns.models import Campaign
from platform.errors import ApplicationError
from platform.redis import get_redis
from platform.tenancy import current_schema
from reports import selectors
from reports.models import Export, ExportFormat, ExportStatus
from reports.selectors import Scope

LINK_TTL = timedelta(hours=24)
PROGRESS_EVERY = 5000
_SALT = "reports.export"

Row = list[Any]


@dataclass(frozen=True)
class Table:
    key: str
    label: Any
    needs_campaign: bool
    # rows with phone numbers or codes: masked unless an admin asks otherwise
    personal: bool = False
    # only admins may export it, always unmasked and encrypted (the offline code pool)
    admin_only: bool = False


TABLES: dict[str, Table] = {
    t.key: t
    for t in (
        Table("campaigns", gettext_lazy("活动汇总"), needs_campaign=False),
        Table("campaign_days", gettext_lazy("按日"), needs_campaign=True),
        Table("campaign_products", gettext_lazy("按权益"), needs_campaign=True),
        Table("campaign_branches", gettext_lazy("按网点"), needs_campaign=True),
        Table("grants", gettext_lazy("发放明细"), needs_campaign=True, personal=True),
        Table("redemptions", gettext_lazy("兑换明细"), needs_campaign=True, personal=True),
        Table("codes", gettext_lazy("线下码池（明文兑换码）"), needs_campaign=True, personal=True, admin_only=True),
    )
}


def _password_key(export_id: int) -> str:
    return f"export-password:{current_schema()}:{export_id}"


def export_request(
    *,
    actor: User,
    table: str,
    file_format: str = ExportFormat.CSV,
    campaign: Campaign | None = None,
    branch: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    unmasked: bool = False,
    request: Any = None,
) -> tuple[Export, str | None]:
    """Queue an export; returns it and, for an encrypted one, the ZIP password (shown once)."""
    spec = TABLES.get(table)
    if spec is None or file_format not in ExportFormat.values:
        raise ApplicationError("export.bad_request", _("请选择要导出的数据表和格式"))
    if spec.needs_campaign and campaign is None:
        raise ApplicationError("export.bad_request", _("请选择活动"))
    if spec.admin_only:
        unmasked = True
    if unmasked and (actor.role != Role.ADMIN or not spec.personal):
        raise ApplicationError("export.forbidden", _("只有管理员可以导出明文手机号或兑换码"), status=403)
    scope = selectors.scope_for(user=actor, branch=branch, date_from=date_from, date_to=date_to)
    params = {
        "campaign": campaign.pk if campaign else None,
        "branch": scope.branch,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
    }
    from reports.tasks import export_task

    password = "-".join(secrets.token_hex(3).upper() for _i in range(4)) if unmasked else None
    with transaction.atomic():
        export = Export.objects.create(
            table=table,
            format=file_format,
            params=params,
            unmasked=unmasked,
            encrypted=unmasked,
            requested_by=actor,
            expires_at=timezone.now() + LINK_TTL,
        )
        audit_record(
            action="reports.export",
            actor=actor,
            target=export,
            request=request,
            after={"table": table, "format": file_format, "unmasked": unmasked, **params},
        )
        if password is not None:
            get_redis().set(_password_key(export.pk), password, ex=3600)
        transaction.on_commit(lambda: export_task.delay(export_id=export.pk))
    return export, password


def _scope(export: Export) -> Scope:
    params = export.params
    return Scope(
        branch=params.get("branch"),
        date_from=date.fromisoformat(params["from"]) if params.get("from") else None,
        date_to=date.fromisoformat(params["to"]) if params.get("to") else None,
    )


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


_METRIC_HEADER = [
    ("granted", gettext_lazy("已发放")),
    ("sms_sent", gettext_lazy("短信已发")),
    ("sms_delivered", gettext_lazy("短信送达")),
    ("h5_opened", gettext_lazy("打开 H5")),
    ("redeemed", gettext_lazy("兑换")),
    ("rights", gettext_lazy("权益份数")),
    ("fulfilled", gettext_lazy("到账")),
    ("failed", gettext_lazy("失败")),
    ("restored", gettext_lazy("已退回")),
]


def _metric_cells(row: dict[str, Any]) -> Row:
    return [row.get(key, 0) for key, _label in _METRIC_HEADER] + [_yuan(row.get("spent_fen", 0))]


def _metric_header() -> Row:
    return [str(label) for _key, label in _METRIC_HEADER] + [_("花费（元）")]


def _aggregate_rows(export: Export, scope: Scope) -> tuple[Row, Iterator[Row]]:
    campaign = Campaign.objects.filter(pk=export.params.get("campaign")).first()
    if export.table == "campaigns":
        rows = selectors.campaigns_overview(scope=scope)
        return [_("活动"), _("状态"), *_metric_header()], (
            [r["campaign"].name, r["campaign"].get_status_display(), *_metric_cells(r)] for r in rows
        )
    if campaign is None:
        raise ApplicationError("export.no_campaign", "campaign missing")
    figures = selectors.campaign_figures(campaign=campaign, scope=scope)
    if export.table == "campaign_days":
        return [_("日期"), *_metric_header()], ([r["day"].isoformat(), *_metric_cells(r)] for r in figures.by_day)
    if export.table == "campaign_products":
        return [_("权益"), *_metric_header()], ([r["name"], *_metric_cells(r)] for r in figures.by_product)
    return [_("网点"), *_metric_header()], ([r["branch_code"] or "-", *_metric_cells(r)] for r in figures.by_branch)


def _raw_rows(export: Export, scope: Scope) -> tuple[Row, Iterator[Row], int]:
    from campaigns.bulk import code_unseal
    from campaigns.codes import code_format
    from campaigns.models import Code, CodeStatus, Grant
    from campaigns.phones import phone_unseal
    from fulfillment.models import Redemption

    campaign_id = export.params.get("campaign")
    plain = export.unmasked
    if export.table == "grants":
        grants = Grant.objects.filter(selectors.filter_q(scope), campaign_id=campaign_id).order_by("pk")
        header = [_("发放时间"), _("手机号"), _("网点"), _("客户编号"), _("来源")]
        return (
            header,
            (
                [
                    timezone.localtime(g.created_at).isoformat(timespec="seconds"),
                    phone_unseal(g.phone_encrypted) if plain else g.phone_masked,
                    g.branch_code,
                    g.customer_ref,
                    g.get_source_display(),
                ]
                for g in grants.iterator(chunk_size=2000)
            ),
            grants.count(),
        )
    if export.table == "redemptions":
        redemptions = Redemption.objects.filter(selectors.filter_q(scope), campaign_id=campaign_id).order_by("pk")
        header = [_("兑换时间"), _("手机号"), _("兑换码"), _("网点"), _("份数"), _("金额（元）"), _("状态")]
        tails: dict[int, tuple[str, bytes]] = {}

        def rows() -> Iterator[Row]:
            for chunk in _chunks(redemptions.iterator(chunk_size=2000), 2000):
                tails.clear()
                for code_id, tail, sealed in Code.objects.filter(pk__in=[r.code_id for r in chunk]).values_list(
                    "pk", "tail", "sealed"
                ):
                    tails[code_id] = (tail, bytes(sealed))
                for r in chunk:
                    tail, sealed = tails.get(r.code_id, ("", b""))
                    yield [
                        timezone.localtime(r.created_at).isoformat(timespec="seconds"),
                        phone_unseal(r.phone_encrypted) if plain else r.phone_masked,
                        (code_format(code_unseal(sealed)) if sealed else "") if plain else f"****-{tail}",
                        r.branch_code,
                        r.units,
                        _yuan(r.amount_fen),
                        r.get_status_display(),
                    ]

        return header, rows(), redemptions.count()
    # the offline code pool (admin, encrypted): unbound active codes in plain text
    codes = Code.objects.filter(campaign_id=campaign_id, status=CodeStatus.ACTIVE, grant__isnull=True).order_by("pk")
    return (
        [_("兑换码"), _("状态"), _("有效期至")],
        (
            [code_format(code_unseal(sealed)) if plain else f"****-{tail}", status, until.date().isoformat()]
            for sealed, tail, status, until in codes.values_list("sealed", "tail", "status", "valid_until").iterator(
                chunk_size=5000
            )
        ),
        codes.count(),
    )


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write(file_format: str, header: Row, rows: Iterator[Row], out: IO[bytes], progress: Callable[[int], None]) -> int:
    count = 0
    if file_format == ExportFormat.XLSX:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(header)
        for row in rows:
            sheet.append(row)
            count += 1
            if count % PROGRESS_EVERY == 0:
                progress(count)
        book.save(out)
        return count
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(count)
    text.flush()
    text.detach()
    return count


def export_run(*, export_id: int) -> Export:
    """Write the file (idempotent: a finished export is left alone)."""
    export = Export.objects.get(pk=export_id)
    if export.status == ExportStatus.DONE:
        return export
    password = get_redis().get(_password_key(export.pk)) if export.encrypted else None
    if export.encrypted and password is None:
        Export.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error="password expired")
        export.refresh_from_db()
        return export
    scope = _scope(export)
    total: int | None = None
    if TABLES[export.table].personal:
        header, rows, total = _raw_rows(export, scope)
    else:
        header, rows = _aggregate_rows(export, scope)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, total_rows=total, row_count=0)

    def progress(done: int) -> None:
        Export.objects.filter(pk=export.pk).update(row_count=done)

    with tempfile.TemporaryFile() as out:
        count = _write(export.format, header, rows, out, progress)
        out.seek(0)
        stored: IO[bytes] = out
        if export.encrypted and password is not None:
            archive = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after it is stored
            with pyzipper.AESZipFile(archive, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
                zf.setpassword(password)
                with zf.open(f"{export.table}-{export.pk}.{export.format}", "w") as member:
                    while block := out.read(1 << 20):
                        member.write(block)
            archive.seek(0)
            stored = archive
        path = default_storage.save(f"{current_schema()}/exports/{export.file_name}", File(stored))
        stored.close()
    if password is not None:
        get_redis().delete(_password_key(export.pk))
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.DONE, stored_path=path, row_count=count, total_rows=count, finished_at=timezone.now()
    )
    export.refresh_from_db()
    return export


def export_progress(export: Export) -> dict[str, Any]:
    return {
        "status": export.status,
        "status_label": export.get_status_display(),
        "done": export.row_count,
        "total": export.total_rows,
    }


def exports_visible(*, actor: User) -> Any:
    """Admins see every export; everyone else only their own."""
    exports = Export.objects.select_related("requested_by")
    return exports if actor.role == Role.ADMIN else exports.filter(requested_by=actor)


def export_link_token(*, export: Export, actor: User) -> str:
    return signing.dumps({"export": export.pk, "schema": current_schema(), "user": actor.pk}, salt=_SALT)


def export_for_download(*, token: str, actor: User, request: Any = None) -> Export:
    """The export a valid, unexpired link of this bank names, for the user it was made for; the
    download is audited. An unmasked export goes only to admins."""
    invalid = ApplicationError("export.link_invalid", _("下载链接无效或已过期"), status=403)
    try:
        payload = signing.loads(token, salt=_SALT, max_age=LINK_TTL)
    except signing.BadSignature as error:
        raise invalid from error
    if payload.get("schema") != current_schema() or payload.get("user") != actor.pk:
        raise invalid
    export = Export.objects.filter(pk=payload.get("export"), status=ExportStatus.DONE).first()
    if export is None or export.expires_at < timezone.now():
        raise invalid
    if export.requested_by_id != actor.pk and actor.role != Role.ADMIN:
        raise invalid
    if export.unmasked and actor.role != Role.ADMIN:
        raise invalid
    Export.objects.filter(pk=export.pk).update(downloaded_at=timezone.now())
    audit_record(action="reports.export_download", actor=actor, target=export, request=request)
    return export
