"""Writing millions of codes and grants quickly: rows are streamed to PostgreSQL with COPY in
chunks from a writer thread (psycopg's queued writer) while Python prepares the next chunk, so
memory stays flat and both cores work. Runs inside the caller's transaction."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.db import IntegrityError, connection
from psycopg.copy import QueuedLibpqWriter

from campaigns.codes import code_generate_many
from platform import crypto
from platform.tenancy import current_schema

CHUNK = 20_000
CODE_COLUMNS = (
    "campaign_id",
    "batch_id",
    "grant_id",
    "digest",
    "sealed",
    "tail",
    "phone_digest",
    "status",
    "redemptions_left",
    "part",
    "valid_from",
    "valid_until",
)


@dataclass(frozen=True)
class CodeSpec:
    """One code to create: who it belongs to and when it can be used."""

    grant_id: int | None
    phone_digest: bytes | None
    part: int
    valid_from: datetime
    valid_until: datetime


def codes_seal(canonicals: list[str]) -> list[bytes]:
    """The encrypted copies of codes, bound to the bank's schema."""
    return crypto.encrypt_many([c.encode() for c in canonicals], context=f"code:{current_schema()}".encode())


def raw_connection() -> Any:
    """The psycopg connection under Django's, with the bank's search_path already applied (a Django
    cursor applies it; raw COPY cursors would not)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.connection


def code_unseal(sealed: bytes) -> str:
    return crypto.decrypt_bytes(bytes(sealed), context=f"code:{current_schema()}".encode()).decode()


def _chunks(specs: Iterable[CodeSpec]) -> Iterator[list[CodeSpec]]:
    chunk: list[CodeSpec] = []
    for spec in specs:
        chunk.append(spec)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def codes_copy(
    *,
    campaign_id: int,
    batch_id: int,
    redemptions: int,
    specs: Iterable[CodeSpec],
    keep_plaintext: Callable[[list[str], list[CodeSpec]], None] | None = None,
) -> int:
    """COPY one code per spec into the campaign's codes; returns how many were written."""
    written = 0
    raw = raw_connection()  # same transaction as the caller's
    sql = f"COPY campaigns_code ({', '.join(CODE_COLUMNS)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql, writer=QueuedLibpqWriter(cursor)) as copy:
        for chunk in _chunks(specs):
            canonicals = code_generate_many(len(chunk))
            sealed = codes_seal(canonicals)
            digests = crypto.digest_many(canonicals, purpose="code")
            lines = []
            # in digest order, consecutive rows land on neighbouring pages of the unique index
            rows = sorted(zip(chunk, canonicals, sealed, digests, strict=True), key=lambda row: row[3])
            for spec, canonical, seal, digest in rows:
                lines.append(
                    f"{campaign_id}\t{batch_id}\t{spec.grant_id if spec.grant_id is not None else chr(92) + 'N'}\t"
                    f"\\\\x{digest.hex()}\t\\\\x{seal.hex()}\t{canonical[-4:]}\t"
                    f"{chr(92) + chr(92) + 'x' + spec.phone_digest.hex() if spec.phone_digest else chr(92) + 'N'}\t"
                    f"active\t{redemptions}\t{spec.part}\t{spec.valid_from.isoformat()}\t{spec.valid_until.isoformat()}\n"
                )
            copy.write("".join(lines).encode())
            if keep_plaintext is not None:
                keep_plaintext(canonicals, chunk)
            written += len(chunk)
    return written


def _writer_connection(schema: str) -> Any:
    """A connection of its own to the same database, on the bank's schema."""
    import psycopg

    s = connection.settings_dict
    raw = psycopg.connect(
        dbname=s["NAME"],
        user=s.get("USER") or None,
        password=s.get("PASSWORD") or None,
        host=s.get("HOST") or None,
        port=s.get("PORT") or None,
    )
    raw.execute(f'SET search_path = "{schema}", public')
    return raw


def codes_copy_parallel(
    *,
    campaign_id: int,
    batch_id: int,
    redemptions: int,
    count: int,
    valid_from: datetime,
    valid_until: datetime,
    writers: int = 2,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Pool codes (no grant, no phone) through `writers` connections at once, each COPYing in its own
    transaction. The rows are invisible to look-ups until their batch is marked committed
    (`selectors.code_find` reads only committed batches); the caller does that afterwards, or
    deletes the batch's rows if this raises."""
    work: queue.Queue[bytes | None] = queue.Queue(maxsize=2 * writers)
    failures: list[BaseException] = []
    sql = f"COPY campaigns_code ({', '.join(CODE_COLUMNS)}) FROM STDIN"
    constant = f"\t\\N\tactive\t{redemptions}\t1\t{valid_from.isoformat()}\t{valid_until.isoformat()}\n"
    prefix = f"{campaign_id}\t{batch_id}\t\\N\t"
    schema = current_schema()

    def write() -> None:
        try:
            with _writer_connection(schema) as raw, raw.cursor() as cursor, cursor.copy(sql) as copy:
                while (block := work.get()) is not None:
                    copy.write(block)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            failures.append(error)
            while work.get() is not None:  # drain so the producer never blocks
                pass

    threads = [threading.Thread(target=write, name=f"codes-writer-{i}", daemon=True) for i in range(writers)]
    for thread in threads:
        thread.start()
    written = 0
    try:
        while written < count and not failures:
            size = min(CHUNK, count - written)
            canonicals = code_generate_many(size)
            digests = crypto.digest_many(canonicals, purpose="code")
            sealed = codes_seal(canonicals)
            rows = sorted(zip(digests, sealed, canonicals, strict=True))
            work.put(
                "".join(f"{prefix}\\\\x{d.hex()}\t\\\\x{s.hex()}\t{c[-4:]}{constant}" for d, s, c in rows).encode()
            )
            written += size
            if on_progress is not None:
                on_progress(written)
    finally:
        for _thread in threads:
            work.put(None)
        for thread in threads:
            thread.join()
    if failures:
        if isinstance(failures[0], psycopg.errors.UniqueViolation):
            raise IntegrityError(str(failures[0])) from failures[0]
        raise failures[0]
    return written


def pool_codes_write(*, campaign: Any, count: int, valid_from: datetime, valid_until: datetime) -> list[str]:
    """A small committed pool of offline codes written in the caller's transaction, returned in plain
    text (demo data, benchmarks, tests). Large pools go through `services.code_batch_create`."""
    from campaigns.models import BatchStatus, CodeBatch, GrantSource

    batch = CodeBatch.objects.create(campaign=campaign, source=GrantSource.POOL, requested_count=count)
    plaintext: list[str] = []
    codes_copy(
        campaign_id=campaign.pk,
        batch_id=batch.pk,
        redemptions=campaign.redemptions_per_code,
        specs=[CodeSpec(None, None, 1, valid_from, valid_until)] * count,
        keep_plaintext=lambda codes, _specs: plaintext.extend(codes),
    )
    CodeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMMITTED, created_count=count)
    return plaintext
