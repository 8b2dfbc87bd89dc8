"""Whitelist imports: a CSV or XLSX of phone numbers (with optional branch and customer reference)
becomes grants and codes — all rows or none. A first pass validates every row and reports errors
by row number; only a clean file is imported, in one transaction, by COPY in chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.copy import QueuedLibpqWriter

from accounts.models import User
from campaigns import bulk
from campaigns.events import campaign_event
from campaigns.models import (
    BatchStatus,
    Campaign,
    CampaignStatus,
    CodeBatch,
    DuplicatePolicy,
    Eligibility,
    Grant,
    GrantSource,
    ImportStatus,
    WhitelistImport,
)
from campaigns.phones import phone_digest, phone_mask, phone_normalize, phone_seal
from campaigns.progress import progress_set
from campaigns.services import budget_covers, code_window, parts_per_grant
from platform.errors import ApplicationError

MAX_ROWS = 1_000_000
MAX_REPORTED_ERRORS = 1000
CHUNK = 20_000
HEADER_NAMES = {
    "phone": {"phone", "mobile", "手机号", "手机号码", "手机"},
    "branch": {"branch", "branch_code", "网点", "网点代码", "支行"},
    "customer_ref": {"customer_ref", "ref", "客户编号", "客户号"},
}


@dataclass(frozen=True)
class Row:
    number: int  # as a person sees it in the file, header included
    phone: str
    branch: str
    customer_ref: str


def _cells_csv(handle: IO[bytes]) -> Iterator[list[str]]:
    head = handle.read(4096)
    handle.seek(0)
    try:
        head.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"  # what Excel writes for a Chinese-locale "CSV"
    yield from csv.reader(io.TextIOWrapper(handle, encoding=encoding, newline=""))


def _cells_xlsx(handle: IO[bytes]) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    workbook = load_workbook(handle, read_only=True, data_only=True)
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [
                "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                for v in values
            ]
    finally:
        workbook.close()


def _cell(values: list[str], index: int) -> str:
    return values[index] if 0 <= index < len(values) else ""


def whitelist_rows(*, stored_path: str, file_name: str) -> Iterator[Row | tuple[int, str]]:
    """Rows of the file, or (row number, error) for a row that cannot be read."""
    with default_storage.open(stored_path, "rb") as handle:
        cells = _cells_xlsx(handle) if file_name.lower().endswith(".xlsx") else _cells_csv(handle)
        columns = {"phone": 0, "branch": 1, "customer_ref": 2}
        for number, raw in enumerate(cells, start=1):
            values = [v.strip() for v in raw]
            if number == 1:
                lowered = [v.lower() for v in values]
                found = {name: i for name, names in HEADER_NAMES.items() for i, v in enumerate(lowered) if v in names}
                if "phone" in found:
                    columns = {
                        "phone": found["phone"],
                        "branch": found.get("branch", -1),
                        "customer_ref": found.get("customer_ref", -1),
                    }
                    continue
            if not any(values):
                continue

            yield Row(
                number=number,
                phone=_cell(values, columns["phone"]),
                branch=_cell(values, columns["branch"]),
                customer_ref=_cell(values, columns["customer_ref"]),
            )


def whitelist_import_create(
    *, campaign: Campaign, file_name: str, content: IO[bytes], actor: User | None
) -> WhitelistImport:
    from accounts.services import audit_record
    from campaigns.tasks import whitelist_import_task
    from platform.tenancy import current_schema

    if not file_name.lower().endswith((".csv", ".xlsx")):
        raise ApplicationError("whitelist.bad_format", _("仅支持 CSV 或 XLSX 文件"))
    if campaign.eligibility == Eligibility.API:
        raise ApplicationError("whitelist.not_allowed", _("该活动仅接受接口发放"))
    if campaign.status == CampaignStatus.ENDED:
        raise ApplicationError("whitelist.campaign_ended", _("活动已结束"))
    suffix = ".xlsx" if file_name.lower().endswith(".xlsx") else ".csv"
    stored = default_storage.save(f"{current_schema()}/whitelists/campaign-{campaign.pk}{suffix}", content)
    with transaction.atomic():
        job = WhitelistImport.objects.create(
            campaign=campaign, file_name=file_name[:200], stored_path=stored, created_by=actor
        )
        audit_record(
            action="whitelist.upload",
            actor=actor,
            target=job,
            after={"campaign": campaign.pk, "file": file_name},
        )
        transaction.on_commit(lambda: whitelist_import_task.delay(import_id=job.pk))
    return job


def _validate(job: WhitelistImport, campaign: Campaign) -> tuple[int, int, list[tuple[int, str]]]:
    """Pass 1: every row checked; returns (rows, duplicates to skip, errors)."""
    errors: list[tuple[int, str]] = []
    error_count = 0
    seen: dict[int, int] = {}
    existing: set[bytes] = set()
    if campaign.duplicate_policy != DuplicatePolicy.ALLOW:
        existing = {bytes(d) for d in Grant.objects.filter(campaign=campaign).values_list("phone_digest", flat=True)}
    rows = duplicates = 0

    def error(number: int, message: str) -> None:
        nonlocal error_count
        error_count += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append((number, message))

    for row in whitelist_rows(stored_path=job.stored_path, file_name=job.file_name):
        assert isinstance(row, Row)
        rows += 1
        if rows > MAX_ROWS:
            error(row.number, _("文件超过 %(n)s 行上限") % {"n": MAX_ROWS})
            break
        phone = phone_normalize(row.phone)
        if phone is None:
            error(row.number, _("手机号格式不正确"))
            continue
        if len(row.branch) > 32:
            error(row.number, _("网点代码过长"))
        if len(row.customer_ref) > 64:
            error(row.number, _("客户编号过长"))
        if campaign.duplicate_policy == DuplicatePolicy.ALLOW:
            continue
        key = int(phone)
        if key in seen or (existing and phone_digest(phone) in existing):
            if campaign.duplicate_policy == DuplicatePolicy.REJECT:
                first = seen.get(key)
                error(row.number, _("手机号重复（与第 %(n)s 行）") % {"n": first} if first else _("手机号已在本活动中"))
            else:
                duplicates += 1
            continue
        seen[key] = row.number
        if rows % 50_000 == 0:
            progress_set("whitelist", job.pk, done=rows, total=0, phase="validating")
    if rows == 0:
        error(1, _("文件中没有数据行"))
    return rows, duplicates, errors if error_count else []


def whitelist_import_run(*, import_id: int) -> WhitelistImport:
    job = WhitelistImport.objects.select_related("campaign").get(pk=import_id)
    if job.status in (ImportStatus.DONE, ImportStatus.REJECTED):
        return job  # a redelivered task
    WhitelistImport.objects.filter(pk=job.pk).update(status=ImportStatus.VALIDATING)
    campaign = job.campaign
    rows, duplicates, errors = _validate(job, campaign)
    if not errors:
        new_grants = rows - duplicates
        count_ok, money_ok = budget_covers(campaign, grants=campaign.granted_count + new_grants)
        if campaign.status != CampaignStatus.DRAFT and not (count_ok and money_ok):
            errors = [(0, _("预算不足以覆盖本次导入的 %(n)s 份权益") % {"n": new_grants})]
    if errors:
        WhitelistImport.objects.filter(pk=job.pk).update(
            status=ImportStatus.REJECTED,
            total_rows=rows,
            processed_rows=rows,
            error_count=len(errors),
            errors=[{"row": n, "error": m} for n, m in errors],
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    WhitelistImport.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING, total_rows=rows)
    _import(job, campaign, total=rows)
    job.refresh_from_db()
    return job


def _import(job: WhitelistImport, campaign: Campaign, *, total: int) -> int:
    """Pass 2, one transaction: grants by COPY with ids drawn from their sequence, then their codes."""
    now = timezone.now()
    parts = parts_per_grant(campaign)
    windows = [code_window(campaign, granted_at=now, part=part) for part in range(1, parts + 1)]
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        existing: set[bytes] = set()
        if campaign.duplicate_policy != DuplicatePolicy.ALLOW:
            existing = {
                bytes(d) for d in Grant.objects.filter(campaign=campaign).values_list("phone_digest", flat=True)
            }
        batch = CodeBatch.objects.create(
            campaign=campaign,
            source=GrantSource.WHITELIST,
            requested_count=0,
            status=BatchStatus.RUNNING,
            created_by=job.created_by,
        )
        imported = processed = skipped = 0
        chunk: list[tuple[Row, str]] = []

        def flush() -> None:
            nonlocal imported
            if not chunk:
                return
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence('campaigns_grant', 'id')) FROM generate_series(1, %s)",
                    [len(chunk)],
                )
                ids = [row[0] for row in cursor.fetchall()]
            digests = [phone_digest(phone) for _row, phone in chunk]
            lines = []
            for grant_id, (row, phone), digest in zip(ids, chunk, digests, strict=True):
                branch = row.branch.replace("\t", " ").replace("\\", "/")
                ref = row.customer_ref.replace("\t", " ").replace("\\", "/")
                lines.append(
                    f"{grant_id}\t{campaign.pk}\t{phone_seal(phone)}\t\\\\x{digest.hex()}\t{phone_mask(phone)}\t"
                    f"{branch}\t{ref}\twhitelist\t{job.pk}\t{now.isoformat()}\n"
                )
            raw = bulk.raw_connection()
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    "COPY campaigns_grant (id, campaign_id, phone_encrypted, phone_digest, phone_masked, branch_code, "
                    "customer_ref, source, whitelist_import_id, created_at) FROM STDIN",
                    writer=QueuedLibpqWriter(cursor),
                ) as copy,
            ):
                copy.write("".join(lines).encode())
            specs = (
                bulk.CodeSpec(grant_id, digest, part, *windows[part - 1])
                for grant_id, digest in zip(ids, digests, strict=True)
                for part in range(1, parts + 1)
            )
            bulk.codes_copy(
                campaign_id=campaign.pk, batch_id=batch.pk, redemptions=campaign.redemptions_per_code, specs=specs
            )
            imported += len(chunk)
            chunk.clear()

        seen: set[int] = set()
        for row in whitelist_rows(stored_path=job.stored_path, file_name=job.file_name):
            assert isinstance(row, Row)
            processed += 1
            phone = phone_normalize(row.phone)
            assert phone is not None  # validated in pass 1
            if campaign.duplicate_policy != DuplicatePolicy.ALLOW:
                if int(phone) in seen or (existing and phone_digest(phone) in existing):
                    skipped += 1
                    continue
                seen.add(int(phone))
            chunk.append((row, phone))
            if len(chunk) >= CHUNK:
                flush()
                progress_set("whitelist", job.pk, done=processed, total=total, phase="importing")
        flush()
        CodeBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.COMMITTED,
            requested_count=imported * parts,
            created_count=imported * parts,
            finished_at=timezone.now(),
        )
        Campaign.objects.filter(pk=campaign.pk).update(granted_count=F("granted_count") + imported)
        WhitelistImport.objects.filter(pk=job.pk).update(
            status=ImportStatus.DONE,
            processed_rows=processed,
            imported_rows=imported,
            skipped_duplicates=skipped,
            finished_at=timezone.now(),
        )
        campaign_event(
            campaign=campaign,
            kind="whitelist_imported",
            actor_label="system",
            data={"import": job.pk, "grants": imported, "skipped": skipped},
        )
    progress_set("whitelist", job.pk, done=total, total=total, phase="done")
    return imported
