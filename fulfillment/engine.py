"""The fulfilment engine: one state machine per order, one named transition function per move, each
writing its event row in the same transaction as the state change (bank schema).

    created ──open attempt──► submitting ──accepted──► submitted ──query/callback──► succeeded
       ▲                          │ timeout/5xx/crash                  │
       │ proven failure,          ▼                                    ▼
       └── next offer ◄──── unknown ──► querying ──► (still processing: query again later)
                                               └──► manual_review after the deadline
    proven failure and no offer left ──► failed (SMS to the cardholder, code/quota/budget restored)

The one rule that matters: an attempt whose outcome is unknown is never resubmitted, at the same or
another supplier, until a status query or a verified callback proves it failed. Supplier calls are
made outside any transaction; the attempt row is committed as `submitting` *before* the request
leaves, so a crash at any point leaves evidence that the request may be out there.

Timings (seconds, read from the environment on each use so tests and the bench can shorten them):
FULFIL_QUERY_FIRST_S (5) first query after an acceptance or unknown outcome (never before the
supplier's `query_delay_s`), FULFIL_QUERY_MIN_INTERVAL_S (10) / FULFIL_QUERY_MAX_INTERVAL_S (300)
back-off between queries, FULFIL_NOT_FOUND_GRACE_S (300) after which "the supplier does not know the
order number" proves an unknown attempt failed, FULFIL_REVIEW_AFTER_S (7200) after which an attempt
still unresolved goes to manual review, FULFIL_SWEEP_GRACE_S (60) how overdue an order must be
before the sweeper moves it on.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fulfillment.models import (
    AttemptStatus,
    FulfilmentAttempt,
    FulfilmentOrder,
    OrderEvent,
    OrderStatus,
    Redemption,
    RedemptionStatus,
)
from fulfillment.suppliers import (
    Accepted,
    NotFound,
    OrderState,
    Rejected,
    SubmitRequest,
    SubmitResult,
    SupplierAdapter,
    Unknown,
    adapter_for,
)
from fulfillment.suppliers import OrderStatus as SupplierStatus
from platform.bulk import rows_insert, rows_update
from platform.crypto import decrypt, encrypt
from platform.errors import ApplicationError
from platform.redis import get_redis
from platform.tenancy import current_schema
from rights_catalog.models import SupplierCall
from rights_catalog.selectors import product_offers

logger = logging.getLogger("quanyi.fulfilment")

TERMINAL = {OrderStatus.SUCCEEDED, OrderStatus.FAILED}
WAITING = {OrderStatus.SUBMITTED, OrderStatus.UNKNOWN, OrderStatus.QUERYING}
OPEN_ATTEMPT = {AttemptStatus.SUBMITTING, AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN}


def timing(name: str, default: float) -> float:
    return float(os.environ.get(f"FULFIL_{name}", default))


def callback_base_url() -> str | None:
    """`FULFIL_CALLBACK_BASE_URL`: `https://{host}` by default (the bank's own host); `none` sends
    no callback address (the engine then relies on queries alone)."""
    template = os.environ.get("FULFIL_CALLBACK_BASE_URL", "https://{host}")
    if template.lower() == "none":
        return None
    from tenants.services import bank_host

    bank = _bank()
    return template.format(host=bank_host(bank.slug))


# --- helpers --------------------------------------------------------------------------------


def _bank() -> Any:
    from tenants.models import Bank

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Bank) and tenant.schema_name == current_schema():
        return tenant
    return Bank.objects.get(schema_name=current_schema())


def _event(
    order: FulfilmentOrder, kind: str, *, from_status: str, attempt: FulfilmentAttempt | None = None, **data: Any
) -> None:
    OrderEvent.objects.create(
        order=order, attempt=attempt, kind=kind, from_status=from_status, to_status=order.status, data=data
    )


ORDER_FIELDS = ("status", "finished_at", "next_check_at", "attempt_count", "card_secret_encrypted", "updated_at")
Move = tuple[FulfilmentOrder, FulfilmentAttempt | None, dict[str, Any]]


def _move(order: FulfilmentOrder, to: str, kind: str, *, attempt: FulfilmentAttempt | None = None, **data: Any) -> None:
    """Change the order's status and write its event row (caller holds the row lock)."""
    _move_many([(order, attempt, data)], to, kind)


def _move_many(moves: list[Move], to: str, kind: str) -> None:
    """Move every order to `to` with one event row each, in two statements (caller holds the locks)."""
    now = timezone.now()
    events = []
    for order, attempt, data in moves:
        events.append(
            OrderEvent(order=order, attempt=attempt, kind=kind, from_status=order.status, to_status=to, data=data)
        )
        order.status = to
        order.updated_at = now
        if to in TERMINAL:
            order.finished_at = now
    rows_update([order for order, _attempt, _data in moves], ORDER_FIELDS)
    rows_insert(events)


def _lock(order_id: int) -> FulfilmentOrder | None:
    """The order under its row lock (only its own row: never the campaign's, which all orders share)."""
    orders = _lock_many([order_id])
    return orders[0] if orders else None


def _lock_many(order_ids: list[int]) -> list[FulfilmentOrder]:
    """The orders under their row locks, taken in id order (two batches never wait on each other in a
    cycle), with their redemptions; their campaigns and products are read once for the batch and
    shared (a batch has one or a few of each)."""
    from campaigns.models import Campaign
    from rights_catalog.models import RightsProduct

    orders = list(
        FulfilmentOrder.objects.select_for_update(of=("self",))
        .select_related("redemption")
        .filter(pk__in=order_ids)
        .order_by("pk")
    )
    campaigns = Campaign.objects.in_bulk({order.campaign_id for order in orders})
    products = RightsProduct.objects.in_bulk({order.product_id for order in orders})
    for order in orders:
        order.campaign = campaigns[order.campaign_id]
        order.product = products[order.product_id]
    return orders


def _current_attempt(order: FulfilmentOrder) -> FulfilmentAttempt | None:
    return order.attempts.order_by("-number").first()  # type: ignore[attr-defined,no-any-return]


def _order_number(order: FulfilmentOrder, number: int) -> str:
    return f"{current_schema().replace('_', '')}-{order.pk}-{number}"


def _query_due(attempt: FulfilmentAttempt, *, first: bool, retry_after_s: float | None = None) -> datetime:
    now = timezone.now()
    if first:
        wait = timing("QUERY_FIRST_S", 5)
    else:
        low, high = timing("QUERY_MIN_INTERVAL_S", 10), timing("QUERY_MAX_INTERVAL_S", 300)
        wait = min(high, low * (2 ** min(max(attempt.query_count - 1, 0), 8)))
    if retry_after_s is not None:
        wait = max(wait, retry_after_s)
    due = now + timedelta(seconds=wait)
    # the supplier's own rule: not before `query_delay_s` after the order
    earliest = (attempt.submitted_at or attempt.started_at) + timedelta(seconds=attempt.supplier.query_delay_s)
    return max(due, earliest)


def _schedule_query(order: FulfilmentOrder, attempt: FulfilmentAttempt, due: datetime) -> None:
    attempt.next_query_at = due
    attempt.save(update_fields=["next_query_at"])
    order.next_check_at = due
    order.save(update_fields=["next_check_at", "updated_at"])
    countdown = max(0.0, (due - timezone.now()).total_seconds())
    order_id = order.pk

    def send() -> None:
        from fulfillment.tasks import order_query_task

        order_query_task.apply_async(kwargs={"order_id": order_id}, queue="queries", countdown=countdown)

    transaction.on_commit(send, robust=True)  # a lost message: the sweeper


def _send_submit(order_id: int, *, countdown: float = 0) -> None:
    def send() -> None:
        if countdown <= 0:
            orders_submit_soon(order_ids=[order_id])
            return
        from fulfillment.tasks import order_submit_task

        order_submit_task.apply_async(kwargs={"order_id": order_id}, queue="fulfilment", countdown=countdown)

    transaction.on_commit(send, robust=True)  # a lost message: the sweeper


def _stale_submission_s(attempt: FulfilmentAttempt) -> float:
    """How long a submission can be in flight: after this a `submitting` attempt is a crash."""
    return attempt.supplier.connect_timeout_s * 2 + attempt.supplier.read_timeout_s + 5


# --- transitions ----------------------------------------------------------------------------


def _suppliers_tried(order: FulfilmentOrder) -> set[int]:
    """The suppliers an order must not go back to: every one tried since the last manual retry (a
    manual retry starts the offers afresh). Refuses while an attempt is still open."""
    if not order.attempt_count:
        return set()
    if order.attempts.filter(status__in=OPEN_ATTEMPT).exists():  # type: ignore[attr-defined]
        raise ApplicationError("fulfil.attempt_open", "an attempt is still open")  # never two at once
    floor = (
        OrderEvent.objects.filter(order=order, kind="manual_retry")
        .order_by("-id")
        .values_list("data__after_attempt", flat=True)
        .first()
    ) or 0
    return set(order.attempts.filter(number__gt=floor).values_list("supplier_id", flat=True))  # type: ignore[attr-defined]


def orders_attempt_open(*, orders: list[FulfilmentOrder]) -> list[FulfilmentAttempt]:
    """created → submitting, for each order: a new attempt at the best offer it has not tried yet;
    an order with none left → failed. Returns the attempts opened (a few statements for all)."""
    offers: dict[int, list[Any]] = {}
    attempts: list[FulfilmentAttempt] = []
    exhausted: list[FulfilmentOrder] = []
    for order in orders:
        tried = _suppliers_tried(order)
        if order.product_id not in offers:
            offers[order.product_id] = product_offers(product=order.product)
        offer = next((o for o in offers[order.product_id] if o.supplier_id not in tried), None)
        if offer is None:
            exhausted.append(order)
            continue
        number = order.attempt_count + 1
        attempts.append(
            FulfilmentAttempt(
                order=order,
                number=number,
                order_number=_order_number(order, number),
                supplier=offer.supplier,
                offer=offer,
                supplier_sku=offer.supplier_sku,
                cost_fen=offer.cost_fen,
                status=AttemptStatus.SUBMITTING,
            )
        )
        order.attempt_count = number
        order.next_check_at = None
    if attempts:
        rows_insert(attempts)
        moves: list[Move] = [
            (a.order, a, {"supplier": a.supplier.code, "order_number": a.order_number}) for a in attempts
        ]
        _move_many(moves, OrderStatus.SUBMITTING, "attempt_opened")
    for order in exhausted:
        order_fail(order=order, reason="no_offer_left")
    return attempts


def attempt_accepted(*, order: FulfilmentOrder, attempt: FulfilmentAttempt, supplier_order_id: str) -> None:
    """submitting/unknown → submitted: the supplier has the order and is processing it."""
    first = attempt.status == AttemptStatus.SUBMITTING
    attempt.status = AttemptStatus.SUBMITTED
    attempt.supplier_order_id = supplier_order_id or attempt.supplier_order_id
    attempt.submitted_at = attempt.submitted_at or timezone.now()
    attempt.save(update_fields=["status", "supplier_order_id", "submitted_at"])
    if order.status != OrderStatus.SUBMITTED:
        _move(order, OrderStatus.SUBMITTED, "attempt_accepted", attempt=attempt, supplier_order_id=supplier_order_id)
    _schedule_query(order, attempt, _query_due(attempt, first=first))


def attempt_unknown(
    *, order: FulfilmentOrder, attempt: FulfilmentAttempt, reason: str, retry_after_s: float | None = None
) -> None:
    """submitting → unknown: it may have been taken. Only a query or a callback may decide now."""
    attempt.status = AttemptStatus.UNKNOWN
    attempt.reason = reason[:200]
    attempt.submitted_at = attempt.submitted_at or timezone.now()
    attempt.save(update_fields=["status", "reason", "submitted_at"])
    _move(order, OrderStatus.UNKNOWN, "attempt_unknown", attempt=attempt, reason=reason[:200])
    _schedule_query(order, attempt, _query_due(attempt, first=True, retry_after_s=retry_after_s))


def order_querying(*, order: FulfilmentOrder, attempt: FulfilmentAttempt) -> None:
    """submitted/unknown → querying (a query is about to be sent)."""
    attempt.query_count += 1
    # reserve the slot: a duplicate query task before this time does nothing (at most every M seconds)
    attempt.next_query_at = timezone.now() + timedelta(seconds=timing("QUERY_MIN_INTERVAL_S", 10))
    attempt.save(update_fields=["query_count", "next_query_at"])
    if order.status != OrderStatus.QUERYING:
        _move(order, OrderStatus.QUERYING, "querying", attempt=attempt)


Success = tuple[FulfilmentOrder, FulfilmentAttempt, SupplierStatus | Accepted]


def attempt_succeeded(
    *, order: FulfilmentOrder, attempt: FulfilmentAttempt, status: SupplierStatus | Accepted, source: str
) -> None:
    """→ succeeded (see `attempts_succeeded`)."""
    attempts_succeeded(successes=[(order, attempt, status)], source=source)


def attempts_succeeded(*, successes: list[Success], source: str) -> None:
    """→ succeeded: the rights arrived. Card secrets stored encrypted; arrival SMS; usage billed; the
    bank notified — in a few statements for the whole list (caller holds the orders' locks)."""
    moves: list[Move] = []
    for order, attempt, status in successes:
        if attempt.status == AttemptStatus.SUCCEEDED:
            continue  # a repeated final state: nothing twice
        if attempt.status == AttemptStatus.FAILED or order.status in TERMINAL:
            # a success after we believed the attempt failed (or after another attempt succeeded): a human decides
            _event(
                order,
                "attempt_conflict",
                from_status=order.status,
                attempt=attempt,
                source=source,
                attempt_was=attempt.status,
            )
            attempt.status = AttemptStatus.SUCCEEDED
            attempt.save(update_fields=["status"])
            if order.status != OrderStatus.MANUAL_REVIEW:
                order_manual_review(order=order, reason="late_success_conflict")
            continue
        attempt.status = AttemptStatus.SUCCEEDED
        attempt.resolved_at = timezone.now()
        if getattr(status, "supplier_order_id", ""):
            attempt.supplier_order_id = status.supplier_order_id
        attempt.submitted_at = attempt.submitted_at or attempt.resolved_at
        cards = [
            f"卡号 {c.number} 密码 {c.pin}" + (f" 有效期 {c.expires}" if c.expires else "") for c in status.card_secrets
        ]
        if cards:  # shown on the progress page as is (h5_templates decrypts with the same context)
            order.card_secret_encrypted = encrypt("\n".join(cards), context=_card_context())
        order.next_check_at = None
        moves.append((order, attempt, {"source": source, "cards": len(cards)}))
    if not moves:
        return
    done = [attempt for _o, attempt, _d in moves if attempt is not None]
    rows_update(done, ("status", "resolved_at", "supplier_order_id", "submitted_at"))
    _move_many(moves, OrderStatus.SUCCEEDED, "succeeded")
    _succeeded_effects([order for order, _a, _d in moves])


def _succeeded_effects(orders: list[FulfilmentOrder]) -> None:
    """What follows a success: the redemption's status, the arrival SMS, usage for billing, the bank's webhook."""
    _redemptions_refresh({order.redemption_id for order in orders})
    _notify_arrival(orders)
    _bill_success(orders)
    _webhook_orders(orders, "order.succeeded")


def attempt_failed(*, order: FulfilmentOrder, attempt: FulfilmentAttempt, code: str, reason: str, source: str) -> None:
    """A proven failure (refusal, a query or a verified callback saying failed, or the supplier not
    knowing the number long after): the only way to a next attempt."""
    if attempt.status in (AttemptStatus.FAILED, AttemptStatus.SUCCEEDED):
        if attempt.status == AttemptStatus.SUCCEEDED and source != "submit":
            _event(order, "late_failure_ignored", from_status=order.status, attempt=attempt, source=source)
        return
    attempt.status = AttemptStatus.FAILED
    attempt.reason = f"{code} {reason}"[:200]
    attempt.resolved_at = timezone.now()
    attempt.save(update_fields=["status", "reason", "resolved_at"])
    if order.status in TERMINAL or order.status == OrderStatus.MANUAL_REVIEW:
        _event(order, "attempt_failed", from_status=order.status, attempt=attempt, code=code, source=source)
        return
    order.next_check_at = None
    _move(order, OrderStatus.CREATED, "attempt_failed", attempt=attempt, code=code, reason=reason[:200], source=source)
    _send_submit(order.pk)  # fail over: the next offer by priority


def order_fail(*, order: FulfilmentOrder, reason: str) -> None:
    """→ failed: no offer left. The cardholder is told; code/quota/budget restored as the campaign says."""
    order.next_check_at = None
    _move(order, OrderStatus.FAILED, "failed", reason=reason)
    from fulfillment.restore import order_restore

    order_restore(order=order)
    _redemptions_refresh({order.redemption_id})
    _notify_failure([order])
    _webhook_orders([order], "order.failed")


def order_manual_review(*, order: FulfilmentOrder, reason: str) -> None:
    """→ manual_review: the deadline passed without proof either way (or proofs conflict)."""
    order.next_check_at = None
    _move(order, OrderStatus.MANUAL_REVIEW, "manual_review", reason=reason)


# --- the steps the tasks run --------------------------------------------------------------------


@dataclass
class _Submission:
    """One attempt on its way to its supplier (built under the lock, sent after the commit)."""

    order: FulfilmentOrder
    attempt_id: int
    adapter: SupplierAdapter
    request: SubmitRequest
    result: SubmitResult | None = None


def order_submit(*, order_id: int) -> str:
    """Open an attempt for one order and submit it (see `orders_submit`)."""
    return orders_submit(order_ids=[order_id]).get(order_id, "missing")


def orders_submit(*, order_ids: list[int]) -> dict[int, str]:
    """Open an attempt for each order and submit them side by side; returns each order's outcome.
    Idempotent: a repeat finds the open attempt and does not send it again. The attempts are
    committed as `submitting` before any request leaves, and each answer is recorded under the
    order's row lock, a few statements for the whole batch."""
    outcomes: dict[int, str] = {}
    calls: list[SupplierCall] = []
    submissions: list[_Submission] = []
    with transaction.atomic():
        orders = _lock_many(order_ids)
        fresh = [order for order in orders if order.status == OrderStatus.CREATED]
        for order in orders:
            if order.status == OrderStatus.SUBMITTING:
                outcomes[order.pk] = _submission_recheck(order)
            elif order.status != OrderStatus.CREATED:
                outcomes[order.pk] = "noop"
        first_time = {order.redemption_id: order.redemption for order in fresh if not order.attempt_count}
        adapters: dict[int, SupplierAdapter] = {}
        for attempt in orders_attempt_open(orders=fresh):
            order = attempt.order
            if attempt.supplier_id not in adapters:
                adapters[attempt.supplier_id] = adapter_for(attempt.supplier, calls=calls)
            account = decrypt(order.account_encrypted, context=_account_context()) if order.account_encrypted else ""
            request = SubmitRequest(
                order_number=attempt.order_number,
                supplier_sku=attempt.supplier_sku,
                account=account,
                amount_fen=order.product.face_value_fen,
                callback_url=_callback_url(attempt),
            )
            submissions.append(_Submission(order, attempt.pk, adapters[attempt.supplier_id], request))
        outcomes.update({order.pk: "failed" for order in fresh if order.status == OrderStatus.FAILED})
        if first_time:
            _webhook_redemptions(list(first_time.values()))
    # the attempts are committed as `submitting` before anything leaves
    _send_side_by_side(submissions)
    if calls:
        rows_insert(calls)
    outcomes.update(_submissions_record(submissions))
    return outcomes


def _submission_recheck(order: FulfilmentOrder) -> str:
    """A `submitting` order met again: still in flight elsewhere, or a crash after the commit and
    before its answer was stored (then the request may be out there: unknown)."""
    attempt = _current_attempt(order)
    assert attempt is not None
    if attempt.status != AttemptStatus.SUBMITTING:
        return "noop"
    age = (timezone.now() - attempt.started_at).total_seconds()
    stale = _stale_submission_s(attempt)
    if age < stale:  # maybe still in flight in another worker: look again later
        _send_submit(order.pk, countdown=stale - age + 1)
        return "in_flight"
    attempt_unknown(order=order, attempt=attempt, reason="submission interrupted")
    return "unknown"


_sender: ThreadPoolExecutor | None = None
_sender_lock = threading.Lock()


def _send_side_by_side(submissions: list[_Submission]) -> None:
    """Send every submission, up to `FULFIL_SUBMIT_THREADS` (32) at a time per process. A request
    that fails in an unexpected way has an unknown outcome, like a timeout."""
    global _sender

    def send(submission: _Submission) -> None:
        try:
            submission.result = submission.adapter.submit(submission.request)
        except Exception as error:  # whatever happened, the request may have left
            logger.exception("order %s: submission failed unexpectedly", submission.order.pk)
            submission.result = Unknown(reason=f"internal error: {type(error).__name__}")

    if len(submissions) <= 1:
        for submission in submissions:
            send(submission)
        return
    with _sender_lock:
        if _sender is None:
            threads = int(timing("SUBMIT_THREADS", 32))
            _sender = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fulfil-submit")
    list(_sender.map(send, submissions))


def _submissions_record(submissions: list[_Submission]) -> dict[int, str]:
    """Record the answers, all in one transaction; should that fail, one order at a time (an order
    whose answer cannot be recorded stays `submitting`, and the sweeper asks the supplier)."""
    if not submissions:
        return {}
    try:
        with transaction.atomic():
            return _answers_apply(submissions)
    except Exception:
        if len(submissions) == 1:
            raise
        logger.exception("recording %d answers together failed; recording them one by one", len(submissions))
    outcomes: dict[int, str] = {}
    for submission in submissions:
        try:
            with transaction.atomic():
                outcomes.update(_answers_apply([submission]))
        except Exception:
            logger.exception("order %s: answer not recorded; the sweeper will query it", submission.order.pk)
            outcomes[submission.order.pk] = "unrecorded"
    return outcomes


def _answers_apply(submissions: list[_Submission]) -> dict[int, str]:
    # the orders' own rows locked again and their changing fields read afresh; product, campaign
    # and redemption (which a submission does not change) are kept from before the requests left
    orders = {submission.order.pk: submission.order for submission in submissions}
    rows = (
        FulfilmentOrder.objects.select_for_update()
        .filter(pk__in=list(orders))
        .order_by("pk")
        .values_list("pk", *ORDER_FIELDS)
    )
    for pk, *values in rows:
        for name, value in zip(ORDER_FIELDS, values, strict=True):
            setattr(orders[pk], name, value)
    attempts = {
        attempt.pk: attempt
        for attempt in FulfilmentAttempt.objects.select_related("supplier").filter(
            pk__in=[s.attempt_id for s in submissions]
        )
    }
    outcomes: dict[int, str] = {}
    successes: list[Success] = []
    for submission in submissions:
        order, attempt, result = submission.order, attempts[submission.attempt_id], submission.result
        if attempt.status not in (AttemptStatus.SUBMITTING, AttemptStatus.UNKNOWN):
            outcomes[order.pk] = "late"
        elif isinstance(result, Accepted) and result.state == OrderState.SUCCEEDED:
            successes.append((order, attempt, result))
            outcomes[order.pk] = "succeeded"
        elif isinstance(result, Accepted) and result.state == OrderState.FAILED:
            attempt_failed(order=order, attempt=attempt, code="failed", reason="failed at once", source="submit")
            outcomes[order.pk] = "failed_over"
        elif isinstance(result, Accepted):
            attempt_accepted(order=order, attempt=attempt, supplier_order_id=result.supplier_order_id)
            outcomes[order.pk] = "submitted"
        elif isinstance(result, Rejected):
            attempt_failed(order=order, attempt=attempt, code=result.code, reason=result.reason, source="submit")
            outcomes[order.pk] = "rejected"
        else:
            assert isinstance(result, Unknown)
            if attempt.status == AttemptStatus.SUBMITTING:
                attempt_unknown(order=order, attempt=attempt, reason=result.reason, retry_after_s=result.retry_after_s)
            outcomes[order.pk] = "unknown"
    attempts_succeeded(successes=successes, source="submit")
    return outcomes


# --- the collector: orders join a per-bank list in Redis, drain tasks take them in batches -----


def _pending_key() -> str:
    return f"fulfil:pending:{current_schema()}"


def _drain_flag_key() -> str:
    return f"fulfil:drain:{current_schema()}"


def orders_submit_soon(*, order_ids: list[int]) -> None:
    """Hand orders to the engine: they join the bank's pending list and a drain task submits them
    with whatever else is pending (`FULFIL_BATCH`, 50, per task). Nothing is lost if this fails
    half-way (Redis or the broker down, a crash): the orders stay `created` and the sweeper
    submits them."""
    if not order_ids:
        return
    from fulfillment.tasks import orders_drain_task

    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.rpush(_pending_key(), *order_ids)
        pipe.set(_drain_flag_key(), 1, nx=True, ex=5)
        _length, flagged = pipe.execute()
        if flagged:  # no drain is waiting to start: send one
            orders_drain_task.apply_async(queue="fulfilment")
    except Exception:
        logger.exception("orders %s… not handed over; the sweeper will submit them", order_ids[:3])


def orders_drain() -> int:
    """Take a batch of pending orders and submit it; with more pending, another drain runs alongside."""
    from fulfillment.tasks import orders_drain_task

    redis = get_redis()
    redis.delete(_drain_flag_key())  # from now on a new order sends a new drain
    raw = redis.lpop(_pending_key(), int(timing("BATCH", 50)))
    if not raw:
        return 0
    if redis.llen(_pending_key()):
        orders_drain_task.apply_async(queue="fulfilment")
    order_ids = sorted({int(value) for value in raw})  # type: ignore[union-attr]
    orders_submit(order_ids=order_ids)
    return len(order_ids)


def order_query(*, order_id: int, force: bool = False) -> str:
    """Ask the supplier about the open attempt, respecting its timing; give up into manual review."""
    with transaction.atomic():
        order = _lock(order_id)
        if order is None or order.status not in WAITING:
            return "noop"
        attempt = _current_attempt(order)
        if attempt is None or attempt.status not in (AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN):
            return "noop"
        now = timezone.now()
        since = attempt.submitted_at or attempt.started_at
        if (now - since).total_seconds() > timing("REVIEW_AFTER_S", 7200):
            order_manual_review(order=order, reason="deadline")
            return "manual_review"
        if not force and attempt.next_query_at and attempt.next_query_at > now + timedelta(seconds=0.05):
            if order.next_check_at != attempt.next_query_at:
                _schedule_query(order, attempt, attempt.next_query_at)
            return "early"
        order_querying(order=order, attempt=attempt)
        adapter = adapter_for(attempt.supplier)
        number, submitted_at = attempt.order_number, attempt.submitted_at
    result = adapter.query(number, submitted_at=submitted_at)
    with transaction.atomic():
        order = _lock(order_id)
        assert order is not None
        attempt = FulfilmentAttempt.objects.select_related("supplier").get(pk=attempt.pk)
        if order.status not in WAITING or attempt.status not in (AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN):
            return "late"
        if isinstance(result, SupplierStatus):
            return attempt_status_apply(order=order, attempt=attempt, status=result, source="query")
        if isinstance(result, NotFound):
            age = (timezone.now() - since).total_seconds()
            if attempt.status == AttemptStatus.UNKNOWN and age >= timing("NOT_FOUND_GRACE_S", 300):
                attempt_failed(
                    order=order,
                    attempt=attempt,
                    code="not_found",
                    reason="the supplier does not know the order number",
                    source="query",
                )
                return "failed_over"
            _schedule_query(order, attempt, _query_due(attempt, first=False))
            return "not_found"
        assert isinstance(result, Unknown)
        _schedule_query(order, attempt, _query_due(attempt, first=False, retry_after_s=result.retry_after_s))
        return "unknown"


def attempt_status_apply(
    *, order: FulfilmentOrder, attempt: FulfilmentAttempt, status: SupplierStatus, source: str
) -> str:
    """Apply what a query or a verified callback says (caller holds the order lock). Monotonic: a
    final state is applied once; a stale "processing" after it changes nothing."""
    if status.state == OrderState.SUCCEEDED:
        attempt_succeeded(order=order, attempt=attempt, status=status, source=source)
        return "succeeded"
    if status.state == OrderState.FAILED:
        attempt_failed(order=order, attempt=attempt, code=status.code or "failed", reason=status.reason, source=source)
        return "failed_over"
    if (
        attempt.status in (AttemptStatus.SUBMITTED, AttemptStatus.UNKNOWN, AttemptStatus.SUBMITTING)
        and order.status not in TERMINAL
        and order.status != OrderStatus.MANUAL_REVIEW
    ):
        if attempt.status != AttemptStatus.SUBMITTED:
            attempt_accepted(order=order, attempt=attempt, supplier_order_id=status.supplier_order_id)
        elif source == "query":
            _schedule_query(order, attempt, _query_due(attempt, first=False))
    return "processing"


def callback_apply(*, attempt_id: int, status: SupplierStatus) -> str:
    """A verified callback for one attempt (idempotent; duplicates and stale ones change nothing)."""
    with transaction.atomic():
        order_id = FulfilmentAttempt.objects.values_list("order_id", flat=True).get(pk=attempt_id)
        order = _lock(order_id)
        assert order is not None
        attempt = FulfilmentAttempt.objects.select_related("supplier").get(pk=attempt_id)
        before = (order.status, attempt.status)
        outcome = attempt_status_apply(order=order, attempt=attempt, status=status, source="callback")
        if (order.status, attempt.status) == before:
            return "unchanged"
        return outcome


def order_check_now(*, order_id: int) -> str:
    """The H5 "not received?" button: an immediate status query for an open order (the supplier's own
    query delay still holds); a succeeded order gets its arrival SMS again (once per 10 minutes).
    Neither adapter dialect supports a reissue, so none is attempted."""
    order = FulfilmentOrder.objects.filter(pk=order_id).first()
    if order is None:
        raise ApplicationError("fulfil.order_missing", "订单不存在", status=404)
    if order.status in WAITING:
        from fulfillment.tasks import order_query_task

        order_query_task.apply_async(kwargs={"order_id": order_id, "force": True}, queue="queries")
        return "query_sent"
    if order.status == OrderStatus.SUCCEEDED:
        bucket = int(timezone.now().timestamp() // 600)
        with transaction.atomic():
            _notify_arrival([order], dedupe_suffix=f"-again-{bucket}")
        return "arrival_resent"
    return "nothing_to_do"


def orders_sweep(*, limit: int = 1000) -> dict[str, int]:
    """Move on every order stuck in a non-terminal state (a crash between commit and enqueue, a lost
    task, a worker killed mid-submission, a broker restart). Safe to run any time: every task it
    sends is idempotent and re-checks the state under the row lock."""
    from fulfillment.tasks import order_query_task

    now = timezone.now()
    grace = timedelta(seconds=timing("SWEEP_GRACE_S", 60))
    counts = {"submit": 0, "query": 0}
    stuck_new = FulfilmentOrder.objects.filter(status=OrderStatus.CREATED, updated_at__lt=now - grace)
    stuck_submitting = FulfilmentOrder.objects.filter(status=OrderStatus.SUBMITTING, updated_at__lt=now - grace)
    stuck = list(stuck_new.values_list("pk", flat=True)[:limit]) + list(
        stuck_submitting.values_list("pk", flat=True)[:limit]
    )
    orders_submit_soon(order_ids=stuck)
    counts["submit"] = len(stuck)
    waiting = FulfilmentOrder.objects.filter(status__in=WAITING).filter(
        Q(next_check_at__isnull=True) | Q(next_check_at__lt=now - grace)
    )
    for order_id in waiting.values_list("pk", flat=True)[:limit]:
        order_query_task.apply_async(kwargs={"order_id": order_id}, queue="queries")
        counts["query"] += 1
    from fulfillment.webhooks import webhooks_sweep

    counts["webhooks"] = webhooks_sweep()
    if counts["submit"] or counts["query"] or counts["webhooks"]:
        logger.info("fulfilment sweep in %s: %s", current_schema(), counts)
    return counts


# --- delivery, money and side effects -------------------------------------------------------


def _account_context() -> str:
    return f"account:{current_schema()}"


def _card_context() -> str:
    return f"secret:{current_schema()}"


def order_card_secrets(*, order: FulfilmentOrder) -> str:
    """The card secrets of a succeeded order (one line per card), decrypted for the progress page only."""
    if not order.card_secret_encrypted:
        return ""
    return decrypt(order.card_secret_encrypted, context=_card_context())


def _callback_url(attempt: FulfilmentAttempt) -> str:
    base = callback_base_url()
    if base is None:
        return ""
    return f"{base.rstrip('/')}/callbacks/{attempt.supplier.dialect}/{attempt.supplier.code}"


def _redemptions_refresh(redemption_ids: set[int]) -> None:
    """A redemption whose orders have all finished is completed, partial or failed."""
    statuses: dict[int, list[str]] = {}
    rows = FulfilmentOrder.objects.filter(redemption_id__in=redemption_ids).values_list("redemption_id", "status")
    for redemption_id, status in rows:
        statuses.setdefault(redemption_id, []).append(status)
    finished: dict[str, list[int]] = {}
    for redemption_id, found in statuses.items():
        if any(s not in TERMINAL for s in found):
            continue
        new: str
        if all(s == OrderStatus.SUCCEEDED for s in found):
            new = RedemptionStatus.COMPLETED
        elif any(s == OrderStatus.SUCCEEDED for s in found):
            new = RedemptionStatus.PARTIAL
        else:
            new = RedemptionStatus.FAILED
        finished.setdefault(new, []).append(redemption_id)
    for status, ids in finished.items():
        Redemption.objects.filter(pk__in=ids).exclude(status=status).update(status=status)


def _sms(orders: list[FulfilmentOrder], *, kind: str, dedupe: str) -> None:
    """Queue one text of `kind` per order, all at once; if that is refused, order by order, so a text
    that cannot be sent costs no other order its own (and never an order's state)."""
    from campaigns.phones import phone_unseal
    from messaging.services import SmsRequest, sms_enqueue_many

    def request(order: FulfilmentOrder) -> SmsRequest:
        return SmsRequest(
            kind=kind,
            phone=phone_unseal(order.redemption.phone_encrypted),
            template_key=kind,
            params={"right_name": order.product.name, "arrival_text": order.campaign.arrival_text or ""},
            campaign_ref=str(order.campaign_id),
            dedupe_key=dedupe.format(order=order.pk),
        )

    if len(orders) > 1:
        try:
            with transaction.atomic():
                sms_enqueue_many([request(order) for order in orders])
            return
        except (ApplicationError, ValueError):
            pass  # one by one below
    for order in orders:
        try:
            with transaction.atomic():
                sms_enqueue_many([request(order)])
        except (ApplicationError, ValueError) as error:
            logger.warning("order %s: %s SMS not queued: %s", order.pk, kind, error)
            _event(order, "sms_not_queued", from_status=order.status, sms_kind=kind, error=str(error)[:200])


def _notify_arrival(orders: list[FulfilmentOrder], *, dedupe_suffix: str = "") -> None:
    _sms(orders, kind="arrival", dedupe="order-arrival-{order}" + dedupe_suffix)


def _notify_failure(orders: list[FulfilmentOrder]) -> None:
    _sms(orders, kind="failure_notice", dedupe="order-failure-{order}")


def _webhook_orders(orders: list[FulfilmentOrder], event: str) -> None:
    from fulfillment.webhooks import webhook_enqueue_many

    webhook_enqueue_many(
        [
            (
                event,
                f"{event}:{order.pk}",
                {
                    "order_id": order.pk,
                    "redemption_id": order.redemption_id,
                    "campaign_id": order.campaign_id,
                    "product_sku": order.product.sku,
                    "price_fen": order.price_fen,
                    "status": order.status,
                    "account_masked": order.account_masked,
                    "occurred_at": (order.finished_at or timezone.now()).isoformat(),
                },
            )
            for order in orders
        ]
    )


def _webhook_redemptions(redemptions: list[Redemption]) -> None:
    """`redemption.created` for new redemptions (sent when their first attempts open)."""
    from fulfillment.webhooks import webhook_enqueue_many

    webhook_enqueue_many(
        [
            (
                "redemption.created",
                f"redemption.created:{redemption.pk}",
                {
                    "redemption_id": redemption.pk,
                    "campaign_id": redemption.campaign_id,
                    "units": redemption.units,
                    "amount_fen": redemption.amount_fen,
                    "phone_masked": redemption.phone_masked,
                    "branch_code": redemption.branch_code,
                    "created_at": redemption.created_at.isoformat(),
                },
            )
            for redemption in redemptions
        ]
    )


def order_ref(order: FulfilmentOrder) -> str:
    return f"{current_schema()}:{order.pk}"


def _bill_success(orders: list[FulfilmentOrder]) -> None:
    from billing.services import OrderUsage, usage_record_orders_succeeded

    usages = [
        OrderUsage(
            order_ref=order_ref(order),
            campaign_ref=str(order.campaign_id),
            campaign_name=order.campaign.name,
            product_sku=order.product.sku,
            product_name=order.product.name,
            price_fen=order.price_fen,
            occurred_at=order.finished_at or timezone.now(),
        )
        for order in orders
    ]
    try:
        with transaction.atomic():
            usage_record_orders_succeeded(bank=_bank(), usages=usages)
    except ApplicationError as error:
        logger.error("orders %s…: usage not recorded: %s", orders[0].pk, error)
        for order in orders:
            _event(order, "usage_not_recorded", from_status=order.status, error=str(error)[:200])


# --- manual review: the platform's actions ------------------------------------------------------


def manual_review_orders(*, limit: int = 200) -> list[FulfilmentOrder]:
    """Orders of the current bank waiting for a human (oldest first)."""
    return list(
        FulfilmentOrder.objects.filter(status=OrderStatus.MANUAL_REVIEW)
        .select_related("product", "campaign")
        .order_by("updated_at")[:limit]
    )


def manual_review_resolve(*, order_id: int, action: str, actor: str, evidence: str = "") -> str:
    """`succeeded` (with evidence: the supplier's confirmation), `fail` (code/quota/budget restored as the
    campaign says, cardholder told) or `retry` (only when every attempt is proven failed or the
    evidence says the open one never reached the supplier: the next offer is tried)."""
    with transaction.atomic():
        order = _lock(order_id)
        if order is None or order.status != OrderStatus.MANUAL_REVIEW:
            raise ApplicationError("fulfil.not_in_review", "订单不在人工处理队列中", status=409)
        attempt = _current_attempt(order)
        _event(
            order,
            "manual_action",
            from_status=order.status,
            attempt=attempt,
            action=action,
            actor=actor,
            evidence=evidence[:500],
        )
        if action == "succeeded":
            if not evidence.strip():
                raise ApplicationError("fulfil.evidence_required", "请填写到账凭证（供应商确认信息）")
            if attempt is None:
                raise ApplicationError("fulfil.no_attempt", "订单没有任何供应商尝试，不能标记为成功")
            if attempt.status != AttemptStatus.SUCCEEDED:
                attempt.status = AttemptStatus.SUCCEEDED
                attempt.resolved_at = timezone.now()
                attempt.save(update_fields=["status", "resolved_at"])
            order.next_check_at = None
            _move(order, OrderStatus.SUCCEEDED, "succeeded", attempt=attempt, source="manual", actor=actor)
            _succeeded_effects([order])
            return "succeeded"
        if action == "fail":
            if attempt is not None and attempt.status in OPEN_ATTEMPT:
                attempt.status = AttemptStatus.FAILED
                attempt.reason = f"manual: {evidence}"[:200]
                attempt.resolved_at = timezone.now()
                attempt.save(update_fields=["status", "reason", "resolved_at"])
            order_fail(order=order, reason="manual")
            return "failed"
        if action == "retry":
            if attempt is not None and attempt.status in OPEN_ATTEMPT:
                if not evidence.strip():
                    raise ApplicationError(
                        "fulfil.evidence_required", "当前尝试结果未知：请填写供应商确认未收到/已失败的凭证后再重试"
                    )
                attempt.status = AttemptStatus.FAILED
                attempt.reason = f"manual: {evidence}"[:200]
                attempt.resolved_at = timezone.now()
                attempt.save(update_fields=["status", "reason", "resolved_at"])
            _move(
                order,
                OrderStatus.CREATED,
                "manual_retry",
                attempt=attempt,
                actor=actor,
                after_attempt=order.attempt_count,
            )
            _send_submit(order.pk)
            return "retry"
        raise ApplicationError("fulfil.unknown_action", "未知操作")
