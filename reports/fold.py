"""The fold: new rows of the flows' own tables (grants, redemptions, orders and their events, SMS
events) and the H5 opens counted in Redis become small rollup rows, so that a dashboard never
counts raw tables. Run every minute per bank by `reports.fold` (decision 0500).

Ids commit out of order: a transaction may hold id 10 while id 11 is already visible. So the rows
of each source are split at a watermark that is only moved past ids known to be final:

* every fold reads the source's sequence value and the database clock *before* its snapshot
  (`next_id`, `next_at`) and keeps them;
* the next fold seals `(sealed_id, next_id]` only if no transaction that began before `next_at` is
  still open (`pg_stat_activity`, read before its snapshot): every id up to `next_id` was handed
  out before `next_at`, inside a transaction that began earlier still, so all of them have
  committed or rolled back and are visible in the new snapshot; sealed rows are added once;
* rows above the watermark are recomputed from scratch into the `recent` part on every fold, so a
  late commit below the newest ids is simply counted next time.

Everything is one REPEATABLE READ transaction: sealed and recent parts come from one snapshot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from platform.redis import get_redis
from platform.tenancy import current_schema
from reports.models import CAMPAIGN_METRICS, TTR_BUCKETS, FoldState, RollupPart

logger = logging.getLogger(__name__)

MAX_ID = 2**63 - 1
LONG_TRANSACTION_S = 600
SENT_STATUSES = "('sent', 'unknown', 'delivered')"
ORDER_STATES = {"fulfilled": "succeeded", "failed": "failed", "in_review": "manual_review"}


def _day(expression: str) -> str:
    return f"(({expression}) AT TIME ZONE '{settings.TIME_ZONE}')::date"


@dataclass(frozen=True)
class Rollup:
    table: str
    keys: tuple[str, ...]
    metrics: tuple[str, ...]


CAMPAIGN = Rollup("reports_campaignrollup", ("campaign_id", "day", "product_id", "branch_code"), CAMPAIGN_METRICS)
SUPPLIER = Rollup(
    "reports_supplierrollup",
    ("supplier_id", "day"),
    ("succeeded", "failed", "unknown", "latency_ms_sum", "latency_count"),
)
SMS = Rollup("reports_smsrollup", ("backend", "day"), ("sent", "delivered", "failed"))


def upsert_sql(rollup: Rollup, *, keys: Iterable[str], metrics: dict[str, str], source: str) -> str:
    """`INSERT … SELECT` of one source's rows, grouped by the rollup's keys, added to existing rows.
    `source` is the FROM/WHERE clause; it may use %(lo)s / %(hi)s (id range) and %(part)s."""
    key_exprs = list(keys)
    inner = ", ".join(
        [f"{expr} AS k{i}" for i, expr in enumerate(key_exprs)]
        + [f"{expr} AS {name}" for name, expr in metrics.items()]
    )
    sums = ", ".join(f"COALESCE(SUM({name}), 0)" if name in metrics else "0" for name in rollup.metrics)
    group = ", ".join(f"k{i}" for i in range(len(key_exprs)))
    columns = ", ".join([*rollup.keys, "part", *rollup.metrics])
    update = ", ".join(f"{name} = {rollup.table}.{name} + EXCLUDED.{name}" for name in rollup.metrics)
    return (
        f"INSERT INTO {rollup.table} ({columns}) "
        f"SELECT {group}, %(part)s, {sums} FROM (SELECT {inner} {source}) q GROUP BY {group} "
        f"ON CONFLICT ({', '.join([*rollup.keys, 'part'])}) DO UPDATE SET {update}"
    )


def _net(state: str) -> str:
    """+1 when an order event enters `state`, −1 when it leaves it."""
    return (
        f"CASE WHEN s.from_status IS DISTINCT FROM s.to_status THEN "
        f"(s.to_status = '{state}')::int - (s.from_status = '{state}')::int ELSE 0 END"
    )


def _first_sent(alias: str = "s") -> str:
    """1 for the first event of a text that shows it left for the provider (a text re-queued after
    an unknown outcome and sent again counts once)."""
    return (
        f"CASE WHEN {alias}.status IN {SENT_STATUSES} AND NOT EXISTS (SELECT 1 FROM messaging_smsevent p "
        f"WHERE p.message_id = {alias}.message_id AND p.id < {alias}.id AND p.status IN {SENT_STATUSES}) "
        "THEN 1 ELSE 0 END"
    )


def _ttr_metrics() -> dict[str, str]:
    seconds = "EXTRACT(EPOCH FROM (s.created_at - c.valid_from))"
    metrics: dict[str, str] = {}
    lower = 0
    for name, upper in TTR_BUCKETS:
        if upper is None:
            metrics[name] = f"CASE WHEN c.id IS NOT NULL AND {seconds} >= {lower} THEN 1 ELSE 0 END"
        elif lower == 0:
            metrics[name] = f"CASE WHEN c.id IS NOT NULL AND {seconds} < {upper} THEN 1 ELSE 0 END"
        else:
            metrics[name] = f"CASE WHEN {seconds} >= {lower} AND {seconds} < {upper} THEN 1 ELSE 0 END"
        lower = upper or lower
    return metrics


RANGE = "s.id > %(lo)s AND s.id <= %(hi)s"


@dataclass(frozen=True)
class Source:
    """A table whose new rows are folded, and the statements that fold one id range of it."""

    table: str
    statements: tuple[str, ...] = field(default_factory=tuple)


SOURCES: tuple[Source, ...] = (
    Source(
        "campaigns_grant",
        (
            upsert_sql(
                CAMPAIGN,
                keys=("s.campaign_id", _day("s.created_at"), "0", "s.branch_code"),
                metrics={"granted": "1"},
                source=f"FROM campaigns_grant s WHERE {RANGE}",
            ),
        ),
    ),
    Source(
        "fulfillment_redemption",
        (
            upsert_sql(
                CAMPAIGN,
                keys=("s.campaign_id", _day("s.created_at"), "0", "s.branch_code"),
                metrics={"redeemed": "1", **_ttr_metrics()},
                source=f"FROM fulfillment_redemption s LEFT JOIN campaigns_code c ON c.id = s.code_id WHERE {RANGE}",
            ),
        ),
    ),
    Source(
        "fulfillment_fulfilmentorder",
        (
            upsert_sql(
                CAMPAIGN,
                keys=("s.campaign_id", _day("r.created_at"), "s.product_id", "r.branch_code"),
                metrics={"rights": "1", "spent_fen": "s.price_fen"},
                source="FROM fulfillment_fulfilmentorder s JOIN fulfillment_redemption r ON r.id = s.redemption_id "
                f"WHERE {RANGE}",
            ),
        ),
    ),
    Source(
        "fulfillment_orderevent",
        (
            upsert_sql(
                CAMPAIGN,
                keys=("o.campaign_id", _day("r.created_at"), "o.product_id", "r.branch_code"),
                metrics={
                    **{metric: _net(state) for metric, state in ORDER_STATES.items()},
                    "restored": "(s.kind = 'restored')::int",
                    "spent_fen": "CASE WHEN s.kind = 'restored' AND COALESCE(s.data->>'budget', '0') <> '0' "
                    "THEN -o.price_fen ELSE 0 END",
                },
                source="FROM fulfillment_orderevent s JOIN fulfillment_fulfilmentorder o ON o.id = s.order_id "
                f"JOIN fulfillment_redemption r ON r.id = o.redemption_id WHERE {RANGE} AND (s.kind = 'restored' "
                "OR (s.from_status IS DISTINCT FROM s.to_status AND (s.to_status IN ('succeeded', 'failed', "
                "'manual_review') OR s.from_status IN ('succeeded', 'failed', 'manual_review'))))",
            ),
            upsert_sql(
                SUPPLIER,
                keys=("a.supplier_id", _day("s.created_at")),
                metrics={
                    "succeeded": "(s.kind = 'succeeded')::int",
                    "failed": "(s.kind = 'attempt_failed')::int",
                    "unknown": "(s.kind = 'attempt_unknown')::int",
                    "latency_ms_sum": "CASE WHEN s.kind = 'succeeded' "
                    "THEN (EXTRACT(EPOCH FROM (s.created_at - a.started_at)) * 1000)::bigint ELSE 0 END",
                    "latency_count": "(s.kind = 'succeeded')::int",
                },
                source="FROM fulfillment_orderevent s JOIN fulfillment_fulfilmentattempt a ON a.id = s.attempt_id "
                f"WHERE {RANGE} AND s.kind IN ('succeeded', 'attempt_failed', 'attempt_unknown')",
            ),
        ),
    ),
    Source(
        "messaging_smsevent",
        (
            upsert_sql(
                CAMPAIGN,
                keys=("m.campaign_ref::bigint", _day("m.created_at"), "0", "COALESCE(g.branch_code, '')"),
                metrics={
                    "sms_sent": _first_sent(),
                    "sms_delivered": "(s.status = 'delivered')::int",
                    "sms_failed": "(s.status IN ('failed', 'expired'))::int",
                },
                source="FROM messaging_smsevent s JOIN messaging_smsmessage m ON m.id = s.message_id "
                "LEFT JOIN campaigns_grant g ON g.id = substring(m.dedupe_key from '^grant-([0-9]+)-')::bigint "
                f"WHERE {RANGE} AND m.kind = 'code_delivery' AND m.campaign_ref ~ '^[0-9]{{1,18}}$' "
                "AND s.status IN ('sent', 'unknown', 'delivered', 'failed', 'expired')",
            ),
            upsert_sql(
                SMS,
                keys=("COALESCE(NULLIF(m.backend, ''), '-')", _day("m.created_at")),
                metrics={
                    "sent": _first_sent(),
                    "delivered": "(s.status = 'delivered')::int",
                    "failed": "(s.status IN ('failed', 'expired'))::int",
                },
                source="FROM messaging_smsevent s JOIN messaging_smsmessage m ON m.id = s.message_id "
                f"WHERE {RANGE} AND s.status IN ('sent', 'unknown', 'delivered', 'failed', 'expired')",
            ),
        ),
    ),
)

# H5 opens: the Redis list is renamed before it is read, and deleted only after the fold commits; a
# crash in between re-reads it, and `reports_openedcode`'s key makes the second reading add nothing
OPENS_FOLD = (
    "WITH v AS (SELECT DISTINCT ON (id) id, ts FROM unnest(%(ids)s::bigint[], %(ts)s::double precision[]) "
    "AS v(id, ts) ORDER BY id, ts), "
    "ins AS (INSERT INTO reports_openedcode (code_id, campaign_id, day, branch_code) "
    f"SELECT c.id, c.campaign_id, {_day('to_timestamp(v.ts)')}, COALESCE(g.branch_code, '') FROM v "
    "JOIN campaigns_code c ON c.id = v.id LEFT JOIN campaigns_grant g ON g.id = c.grant_id "
    "ON CONFLICT (code_id) DO NOTHING RETURNING campaign_id, day, branch_code) "
    + upsert_sql(
        CAMPAIGN,
        keys=("s.campaign_id", "s.day", "0", "s.branch_code"),
        metrics={"h5_opened": "1"},
        source="FROM ins s",
    )
)


def _opens_key() -> str:
    return f"reports:h5-opened:{current_schema()}"


def h5_open_record(*, code_id: int) -> None:
    """Count that a code's H5 link was opened: one Redis push, folded into the rollups later."""
    try:
        get_redis().rpush(_opens_key(), f"{code_id}:{int(time.time())}")
    except Exception:  # a dashboard figure never costs a cardholder their page
        logger.warning("H5 open not recorded", exc_info=True)


def _opens_take() -> tuple[list[int], list[float]]:
    redis = get_redis()
    pending, folding = _opens_key(), _opens_key() + ":folding"
    if not redis.exists(folding) and redis.exists(pending):
        redis.renamenx(pending, folding)
    ids: list[int] = []
    stamps: list[float] = []
    for item in redis.lrange(folding, 0, -1):
        text = item.decode() if isinstance(item, bytes) else str(item)
        code_id, _sep, stamp = text.partition(":")
        if code_id.isdigit() and stamp.isdigit():
            ids.append(int(code_id))
            stamps.append(float(stamp))
    return ids, stamps


@dataclass
class FoldResult:
    sealed: dict[str, int] = field(default_factory=dict)
    recent_from: dict[str, int] = field(default_factory=dict)
    opens: int = 0
    skipped: bool = False


def _scalar(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        row = cursor.fetchone()
    return row[0] if row else None


def _execute(sql: str, params: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fold_run() -> FoldResult:
    """Fold everything new in this bank's schema; another fold of the same bank running now makes
    this one return at once."""
    lock = f"reports.fold:{current_schema()}"
    if not _scalar("SELECT pg_try_advisory_lock(hashtext(%s))", [lock]):
        return FoldResult(skipped=True)
    try:
        return _fold_locked()
    finally:
        _scalar("SELECT pg_advisory_unlock(hashtext(%s))", [lock])


def _fold_locked() -> FoldResult:
    result = FoldResult()
    # read before the snapshot (see the module's note); in this order
    next_ids = {
        source.table: int(
            _scalar("SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')), 0)", [source.table]) or 0
        )
        for source in SOURCES
    }
    next_at: datetime = _scalar("SELECT clock_timestamp()")
    oldest: datetime | None = _scalar(
        "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND backend_type = 'client backend'"
    )
    if oldest is not None and (next_at - oldest).total_seconds() > LONG_TRANSACTION_S:
        # figures stay right (the recent part is recomputed), but nothing is sealed until it ends
        logger.warning("reports fold: a transaction open since %s holds the watermark", oldest.isoformat())
    opened_ids, opened_at = _opens_take()
    with transaction.atomic():
        if not _outer_transaction():
            _execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", {})
        for rollup in (CAMPAIGN, SUPPLIER, SMS):
            _execute(f"DELETE FROM {rollup.table} WHERE part = %(part)s", {"part": RollupPart.RECENT})
        states = {state.source: state for state in FoldState.objects.all()}
        for source in SOURCES:
            state = states.get(source.table) or FoldState(source=source.table)
            settled = state.next_at is not None and (oldest is None or oldest > state.next_at)
            if settled and state.next_id is not None and state.next_id > state.sealed_id:
                for statement in source.statements:
                    _execute(statement, {"lo": state.sealed_id, "hi": state.next_id, "part": RollupPart.SEALED})
                result.sealed[source.table] = int(state.next_id or 0) - state.sealed_id
                state.sealed_id = int(state.next_id or 0)
            for statement in source.statements:
                _execute(statement, {"lo": state.sealed_id, "hi": MAX_ID, "part": RollupPart.RECENT})
            result.recent_from[source.table] = state.sealed_id
            state.next_id = max(next_ids[source.table], state.sealed_id)
            state.next_at = next_at
            state.folded_at = next_at
            state.save()
        if opened_ids:
            _execute(OPENS_FOLD, {"ids": opened_ids, "ts": opened_at, "part": RollupPart.SEALED})
            result.opens = len(opened_ids)
    if opened_ids:
        get_redis().delete(_opens_key() + ":folding")
    return result


def _outer_transaction() -> bool:
    """True inside a caller's transaction (the test suite's): its snapshot is used as it is."""
    return len(connection.atomic_blocks) > 1
