"""Writes of the SMS outbox: enqueue, send (claim → rules → provider → record), query unknown
outcomes, operator decisions, delivery receipts, provider accounts, templates, launch batches.

Every state change of a message writes an `SmsEvent` in the same statement or transaction. The
hot paths (send, batch expansion) work on whole chunks with one SQL statement per step, so the
cost per message stays a few microseconds of Python.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from messaging.backends import BACKENDS, backend_class
from messaging.backends.base import OutgoingSms, ReceiptEvent, SendResult, SmsBackend
from messaging.models import (
    PROMOTIONAL_KINDS,
    SmsBatch,
    SmsBatchStatus,
    SmsEvent,
    SmsKind,
    SmsMessage,
    SmsProviderAccount,
    SmsReceipt,
    SmsStatus,
    SmsTemplate,
)
from messaging.texts import DEFAULT_TEMPLATES, TemplateSpec, text_render, text_segments
from messaging.throttle import bucket_take
from platform.bulk import rows_insert, rows_insert_new
from platform.crypto import decrypt, digest, encrypt, mask_phone
from platform.errors import ApplicationError
from platform.redis import get_redis
from platform.tenancy import current_schema
from tenants.models import Bank

logger = logging.getLogger(__name__)

CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
SEND_CHUNK = 1000  # messages per send task
EXPAND_CHUNK = 2000  # rows per batch-expansion step
EXPAND_HIGH_WATER = 20000  # queued rows of one batch before expansion waits for the senders
MAX_ATTEMPTS = 5
OTP_MAX_AGE = timedelta(minutes=5)
QUERY_DELAY_S = int(getattr(settings, "SMS_QUERY_DELAY_S", 60))

# per-number rules applied by the senders (shared by every worker through Redis)
OTP_PER_MINUTE = 1
OTP_PER_DAY = 10
RESEND_PER_DAY = 5  # a cardholder's "not received? send again", whatever the page in front allows


def phone_normalize(phone: str) -> str:
    """Mainland mobile numbers as 11 digits, others in E.164; anything else is refused."""
    cleaned = re.sub(r"[\s\-()]", "", phone or "")
    if cleaned.startswith("+86"):
        cleaned = cleaned[3:]
    if CN_MOBILE.match(cleaned) or E164.match(cleaned):
        return cleaned
    raise ApplicationError("sms.bad_phone", _("手机号格式不正确"))


def _pii_context() -> str:
    return f"sms:{current_schema()}"


# --- provider accounts ----------------------------------------------------------------------


def provider_account_active() -> SmsProviderAccount | None:
    return SmsProviderAccount.objects.filter(is_active=True).first()


def provider_credentials(account: SmsProviderAccount) -> dict[str, Any]:
    if not account.credentials_encrypted:
        return {}
    return cast(dict[str, Any], json.loads(decrypt(account.credentials_encrypted, context=_pii_context())))


def _account_key(account: SmsProviderAccount | None, credentials: dict[str, Any]) -> str:
    """The bucket and fake-provider name of an account: shared by every bank on the same login."""
    if account is None:
        return f"{settings.SMS_DEFAULT_BACKEND}:{current_schema()}:default"
    if credentials.get("namespace"):
        return f"{account.backend}:{credentials['namespace']}"
    if credentials.get("access_key_id"):
        return f"{account.backend}:{digest(str(credentials['access_key_id']), purpose='sms-account')[:24]}"
    return f"{account.backend}:{current_schema()}:{account.pk}"


_backend_cache: dict[tuple[str, int, str], SmsBackend] = {}


def backend_for(account: SmsProviderAccount | None) -> SmsBackend:
    if account is None:
        return backend_class(settings.SMS_DEFAULT_BACKEND)(credentials={}, account_key=_account_key(None, {}))
    cache_key = (current_schema(), account.pk, account.updated_at.isoformat())
    backend = _backend_cache.get(cache_key)
    if backend is None:
        credentials = provider_credentials(account)
        backend = backend_class(account.backend)(
            credentials=credentials, account_key=_account_key(account, credentials)
        )
        _backend_cache[cache_key] = backend
    return backend


def provider_account_save(
    *,
    backend: str,
    name: str,
    credentials: dict[str, Any],
    rate_per_s: int = 0,
    promotional_daily_max: int = 3,
    quiet_start_hour: int = 21,
    quiet_end_hour: int = 8,
    actor: User | None = None,
    request: Any = None,
) -> SmsProviderAccount:
    """Make `backend` with these credentials the bank's active provider (the old one is kept inactive)."""
    if backend not in BACKENDS:
        raise ApplicationError("sms.bad_backend", _("不支持的短信服务商"))
    if not (0 <= quiet_start_hour <= 23 and 0 <= quiet_end_hour <= 23):
        raise ApplicationError("sms.bad_quiet_hours", _("免打扰时段须为 0–23 点"))
    with transaction.atomic():
        previous = SmsProviderAccount.objects.select_for_update().filter(is_active=True).first()
        if previous is not None:
            previous.is_active = False
            previous.save(update_fields=["is_active", "updated_at"])
        account = SmsProviderAccount.objects.create(
            name=name.strip() or backend,
            backend=backend,
            credentials_encrypted=encrypt(json.dumps(credentials), context=_pii_context()) if credentials else "",
            rate_per_s=rate_per_s,
            receipt_token=secrets.token_urlsafe(24),
            promotional_daily_max=promotional_daily_max,
            quiet_start_hour=quiet_start_hour,
            quiet_end_hour=quiet_end_hour,
        )
        audit_record(
            action="sms.provider_save",
            actor=actor,
            target=account,
            before={"backend": previous.backend} if previous else None,
            # credentials are never written to the audit trail, only which fields were set
            after={"backend": backend, "fields": sorted(credentials), "rate_per_s": rate_per_s},
            request=request,
        )
    return account


# --- templates ------------------------------------------------------------------------------


def _bank_name() -> str:
    name = Bank.objects.filter(schema_name=current_schema()).values_list("name", flat=True).first()
    return str(name or "权益平台")


def template_resolve(*, key: str) -> TemplateSpec:
    row = SmsTemplate.objects.filter(key=key).first()
    if row is not None:
        return TemplateSpec(
            key=row.key, signature=row.signature, text=row.text, provider_template_code=row.provider_template_code
        )
    if key in DEFAULT_TEMPLATES:
        return TemplateSpec(key=key, signature=_bank_name(), text=DEFAULT_TEMPLATES[key][1])
    raise ApplicationError("sms.template_missing", _("短信模板不存在：%(key)s") % {"key": key})


def template_save(
    *,
    key: str,
    name: str,
    signature: str,
    text: str,
    provider_template_code: str = "",
    registered_text: str = "",
    actor: User | None = None,
    request: Any = None,
) -> SmsTemplate:
    key = key.strip()
    if not re.match(r"^[a-z0-9_\-]{1,60}$", key):
        raise ApplicationError("sms.bad_template_key", _("模板标识须为小写字母、数字、下划线"))
    if not 2 <= len(signature.strip()) <= 12:
        raise ApplicationError("sms.bad_signature", _("短信签名须为 2–12 个字"))
    if not text.strip():
        raise ApplicationError("sms.empty_template", _("模板内容不能为空"))
    row, created = SmsTemplate.objects.update_or_create(
        key=key,
        defaults={
            "name": name.strip() or key,
            "signature": signature.strip(),
            "text": text.strip(),
            "provider_template_code": provider_template_code.strip(),
            "registered_text": registered_text.strip(),
        },
    )
    audit_record(
        action="sms.template_save", actor=actor, target=row, after={"key": key, "created": created}, request=request
    )
    return row


@dataclass(frozen=True)
class TemplatePreview:
    text: str
    length: int
    segments: int
    problems: list[str]


SAMPLE_PARAMS = {
    "code": "K7QX-M3PA",
    "link": "https://b.cn/s/abc",
    "right_name": "视频会员月卡",
    "expiry": "5",
    "arrival_text": "请在App内查看。",
}


def template_preview(
    *, signature: str, text: str, provider_template_code: str = "", registered_text: str = ""
) -> TemplatePreview:
    spec = TemplateSpec(key="preview", signature=signature, text=text)
    params = {**SAMPLE_PARAMS}
    for name in re.findall(r"\$\{(\w+)\}", text):
        params.setdefault(name, "示例")
    rendered = text_render(spec=spec, params=params)
    length, segments = text_segments(rendered)
    account = provider_account_active()
    backend = backend_for(account)
    problems = backend.template_problems(
        text=text, provider_template_code=provider_template_code, registered_text=registered_text
    )
    return TemplatePreview(text=rendered, length=length, segments=segments, problems=problems)


# --- enqueue --------------------------------------------------------------------------------


def sms_dispatch(*, message_ids: list[int], countdown: float = 0) -> None:
    """Hand ids to the senders (call on commit)."""
    from messaging.tasks import sms_send_task

    for start in range(0, len(message_ids), SEND_CHUNK):
        chunk = message_ids[start : start + SEND_CHUNK]
        sms_send_task.apply_async(kwargs={"message_ids": chunk}, queue="sms", countdown=countdown)


@dataclass(frozen=True)
class SmsRequest:
    """One text to queue: `dedupe_key` makes the request idempotent (the same key again is the same row)."""

    kind: str
    phone: str
    template_key: str
    params: dict[str, str]
    campaign_ref: str = ""
    dedupe_key: str | None = None


def sms_enqueue(
    *,
    kind: str,
    phone: str,
    template_key: str,
    params: dict[str, str],
    campaign_ref: str = "",
    dedupe_key: str | None = None,
) -> SmsMessage:
    """Create one outbox row in the current bank's schema (see `sms_enqueue_many`)."""
    request = SmsRequest(kind, phone, template_key, params, campaign_ref, dedupe_key)
    return sms_enqueue_many([request])[0]


def sms_enqueue_many(requests: list[SmsRequest]) -> list[SmsMessage]:
    """Create the outbox rows in the current bank's schema, in a few statements whatever their number;
    they are sent once the transaction commits. A request whose `dedupe_key` is already there gets
    the existing row and sends nothing. Any invalid request refuses them all (nothing written)."""
    specs: dict[str, TemplateSpec] = {}
    rows: list[SmsMessage] = []
    for request in requests:
        if request.kind not in SmsKind.values:
            raise ApplicationError("sms.bad_kind", _("未知的短信类型"))
        phone = phone_normalize(request.phone)
        params = {str(k): str(v) for k, v in request.params.items()}
        if request.template_key not in specs:
            specs[request.template_key] = template_resolve(key=request.template_key)
        text_render(spec=specs[request.template_key], params=params)  # refuse what could never be sent
        rows.append(
            SmsMessage(
                kind=request.kind,
                phone_encrypted=encrypt(phone, context=_pii_context()),
                phone_digest=digest(phone, purpose="phone"),
                phone_masked=mask_phone(phone),
                template_key=request.template_key,
                params_encrypted=encrypt(json.dumps(params, ensure_ascii=False), context=_pii_context()),
                campaign_ref=request.campaign_ref,
                dedupe_key=request.dedupe_key,
            )
        )
    with transaction.atomic():
        inserted = rows_insert_new(SmsMessage, rows, key="dedupe_key")
        rows_insert([SmsEvent(message=message, status=SmsStatus.QUEUED) for message in inserted])
    if inserted:
        message_ids = [message.pk for message in inserted]
        transaction.on_commit(lambda: sms_dispatch(message_ids=message_ids), robust=True)  # lost: sms_sweep
    new = {id(message) for message in inserted}
    repeated = [row.dedupe_key for row in rows if id(row) not in new]
    existing = {m.dedupe_key: m for m in SmsMessage.objects.filter(dedupe_key__in=repeated)} if repeated else {}
    return [row if id(row) in new else existing[row.dedupe_key] for row in rows]


# --- sending --------------------------------------------------------------------------------


@dataclass
class SendSummary:
    claimed: int = 0
    accepted: int = 0
    retry: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    failed: int = 0
    expired: int = 0
    deferred: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    phone_encrypted: str
    phone_digest: str
    template_key: str
    params_encrypted: str
    attempts: int
    created_at: datetime


_EVENTS_FROM = (
    "INSERT INTO messaging_smsevent (message_id, status, detail, created_at) "
    "SELECT id, status, {detail}, now() FROM {source}"
)


def _in_quiet_hours(account: SmsProviderAccount | None, now: datetime) -> datetime | None:
    """The end of the current quiet period, or None when sending is allowed now."""
    if account is None or account.quiet_start_hour == account.quiet_end_hour:
        return None
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    start, end, hour = account.quiet_start_hour, account.quiet_end_hour, local.hour
    quiet = (start <= hour < end) if start < end else (hour >= start or hour < end)
    if not quiet:
        return None
    end_at = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at


def _prepare(ids: list[int], account: SmsProviderAccount | None, summary: SendSummary) -> list[_Claimed]:
    """Hold promotional texts in quiet hours, then claim what may go now."""
    with connection.cursor() as cursor:
        quiet_end = _in_quiet_hours(account, timezone.now())
        if quiet_end is not None:
            cursor.execute(
                "WITH held AS (UPDATE messaging_smsmessage SET not_before = %s, updated_at = now() "
                "WHERE id = ANY(%s) AND status = 'queued' AND kind = ANY(%s) "
                "AND (not_before IS NULL OR not_before < %s) RETURNING id, status) "
                + _EVENTS_FROM.format(detail="'quiet_hours'", source="held"),
                [quiet_end, ids, sorted(PROMOTIONAL_KINDS), quiet_end],
            )
            summary.deferred += cursor.rowcount
        cursor.execute(
            "WITH claimed AS (UPDATE messaging_smsmessage m SET status = 'sending', attempts = attempts + 1, "
            "updated_at = now() WHERE m.id = ANY(%s) AND m.status = 'queued' "
            "AND (m.not_before IS NULL OR m.not_before <= now()) "
            "AND (m.batch_id IS NULL OR NOT EXISTS (SELECT 1 FROM messaging_smsbatch b "
            "WHERE b.id = m.batch_id AND b.status = 'paused')) "
            "RETURNING m.id, m.kind, m.phone_encrypted, m.phone_digest, m.template_key, m.params_encrypted, "
            "m.attempts, m.created_at, m.status), "
            "ev AS (" + _EVENTS_FROM.format(detail="''", source="claimed") + ") "
            "SELECT id, kind, phone_encrypted, phone_digest, template_key, params_encrypted, attempts, created_at "
            "FROM claimed",
            [ids],
        )
        return [_Claimed(*row) for row in cursor.fetchall()]


# INCR many counters at once, each given its window on first use → their new values
_COUNT_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, tonumber(ARGV[i])) end
  out[i] = count
end
return out
"""


def _number_rules(claimed: list[_Claimed], account: SmsProviderAccount | None) -> set[int]:
    """Ids over a per-number limit. Counted on a message's first attempt only, in Redis, so
    the limits hold across every worker."""
    checks: list[tuple[int, str, int, int]] = []  # (message id, key, max, window)
    schema = current_schema()
    promo_max = account.promotional_daily_max if account is not None else 3
    for item in claimed:
        if item.attempts != 1:
            continue
        if item.kind == SmsKind.OTP:
            checks.append((item.id, f"rl:{schema}:sms-otp-min:{item.phone_digest}", OTP_PER_MINUTE, 60))
            checks.append((item.id, f"rl:{schema}:sms-otp-day:{item.phone_digest}", OTP_PER_DAY, 86400))
        elif item.kind == SmsKind.RESEND:
            checks.append((item.id, f"rl:{schema}:sms-resend-day:{item.phone_digest}", RESEND_PER_DAY, 86400))
        elif item.kind in PROMOTIONAL_KINDS:
            checks.append((item.id, f"rl:{schema}:sms-promo-day:{item.phone_digest}", promo_max, 86400))
    if not checks:
        return set()
    counts = get_redis().eval(
        _COUNT_MANY, len(checks), *[check[1] for check in checks], *[check[3] for check in checks]
    )
    return {check[0] for check, count in zip(checks, counts, strict=True) if int(count) > check[2]}


def _json_rows(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    return json.dumps([dict(zip(names, row, strict=True)) for row in rows], ensure_ascii=False)


def _record(results: list[tuple[int, str, str, str, int, int]], backend_name: str) -> None:
    """Apply (id, status, provider id, error, segments, retry delay s) to messages still 'sending'."""
    if not results:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            # one JSON document, not six arrays: the C JSON encoder is far cheaper than array dumping
            "WITH v AS (SELECT * FROM json_to_recordset(%s::json) "
            "AS v(id bigint, status text, pid text, err text, segments int, delay int)), "
            "upd AS (UPDATE messaging_smsmessage m SET status = v.status, backend = %s, "
            "provider_message_id = CASE WHEN v.pid <> '' THEN v.pid ELSE m.provider_message_id END, "
            "error_code = v.err, segments = CASE WHEN v.segments > 0 THEN v.segments ELSE m.segments END, "
            "not_before = CASE WHEN v.delay > 0 THEN now() + v.delay * interval '1 second' ELSE m.not_before END, "
            "updated_at = now() FROM v WHERE m.id = v.id AND m.status = 'sending' "
            "RETURNING m.id, m.status, m.error_code) "
            "INSERT INTO messaging_smsevent (message_id, status, detail, created_at) "
            "SELECT id, status, error_code, now() FROM upd",
            [_json_rows(("id", "status", "pid", "err", "segments", "delay"), results), backend_name],
        )


def _retry_delay(attempts: int) -> int:
    return int(min(900, 30 * 2 ** max(0, attempts - 1)))


def sms_send(*, message_ids: list[int]) -> SendSummary:
    """Send these messages if they are still queued: the one path every text takes to a provider."""
    summary = SendSummary()
    account = provider_account_active()
    backend = backend_for(account)
    claimed = _prepare(message_ids, account, summary)
    summary.claimed = len(claimed)
    if not claimed:
        return summary
    results: list[tuple[int, str, str, str, int, int]] = []
    # a code text that waited longer than the code lives is useless: expire it, send nothing
    too_old = timezone.now() - OTP_MAX_AGE
    stale = {item.id for item in claimed if item.kind == SmsKind.OTP and item.created_at < too_old}
    for message_id in stale:
        results.append((message_id, SmsStatus.EXPIRED, "", "too_old", 0, 0))
    summary.expired = len(stale)
    claimed = [item for item in claimed if item.id not in stale]
    limited = _number_rules(claimed, account)
    specs: dict[str, TemplateSpec | None] = {}
    outgoing: list[OutgoingSms] = []
    segments: dict[int, int] = {}
    context = _pii_context()
    for item in claimed:
        if item.id in limited:
            results.append((item.id, SmsStatus.FAILED, "", "number_limit", 0, 0))
            continue
        if item.template_key not in specs:
            try:
                specs[item.template_key] = template_resolve(key=item.template_key)
            except ApplicationError:
                specs[item.template_key] = None
        spec = specs[item.template_key]
        try:
            if spec is None:
                raise ApplicationError("sms.template_missing", "template missing")
            phone = decrypt(item.phone_encrypted, context=context)
            params = json.loads(decrypt(item.params_encrypted, context=context))
            text = text_render(spec=spec, params=params)
        except (ApplicationError, ValueError) as error:
            code = error.code if isinstance(error, ApplicationError) else "undecryptable"
            results.append((item.id, SmsStatus.FAILED, "", code, 0, 0))
            continue
        segments[item.id] = text_segments(text)[1]
        outgoing.append(
            OutgoingSms(
                message_id=item.id,
                phone=phone,
                text=text,
                signature=spec.signature,
                template_key=spec.key,
                provider_template_code=spec.provider_template_code,
                params=params,
                kind=item.kind,
                promotional=item.kind in PROMOTIONAL_KINDS,
            )
        )
    attempts = {item.id: item.attempts for item in claimed}
    rate = account.rate_per_s if account is not None else 0
    for start in range(0, len(outgoing), backend.max_batch):
        group = outgoing[start : start + backend.max_batch]
        bucket_take(account_key=backend.account_key, rate_per_s=rate, tokens=len(group))
        try:
            sent = backend.send_many(group)
        except Exception:  # a bug or an unmapped error mid-call: we cannot know what left
            logger.exception("SMS backend %s raised; %d messages marked unknown", backend.name, len(group))
            sent = [SendResult(m.message_id, "unknown", error_code="backend_error") for m in group]
        for result in sent:
            if result.outcome == "accepted":
                summary.accepted += 1
                results.append(
                    (result.message_id, SmsStatus.SENT, result.provider_message_id, "", segments[result.message_id], 0)
                )
            elif result.outcome == "rejected" and result.retryable and attempts[result.message_id] < MAX_ATTEMPTS:
                summary.retry.append(result.message_id)
                delay = _retry_delay(attempts[result.message_id])
                results.append((result.message_id, SmsStatus.QUEUED, "", result.error_code, 0, delay))
            elif result.outcome == "rejected":
                results.append((result.message_id, SmsStatus.FAILED, "", result.error_code or "rejected", 0, 0))
            else:
                summary.unknown.append(result.message_id)
                results.append((result.message_id, SmsStatus.UNKNOWN, "", result.error_code or "unknown", 0, 0))
    summary.failed = sum(1 for r in results if r[1] == SmsStatus.FAILED)
    _record(results, backend.name)
    if summary.retry:
        by_delay: dict[int, list[int]] = {}
        for message_id in summary.retry:
            by_delay.setdefault(_retry_delay(attempts[message_id]), []).append(message_id)
        for delay, ids in by_delay.items():
            sms_dispatch(message_ids=ids, countdown=delay)
    if summary.unknown and backend.supports_query:
        from messaging.tasks import sms_query_task

        sms_query_task.apply_async(kwargs={"message_ids": summary.unknown}, queue="sms", countdown=QUERY_DELAY_S)
    return summary


def _transition(message: SmsMessage, *, to: str, detail: str = "", **changes: Any) -> None:
    """Move one locked message to `to` and write its event."""
    message.status = to
    for name, value in changes.items():
        setattr(message, name, value)
    message.save(update_fields=["status", "updated_at", *changes])
    SmsEvent.objects.create(message=message, status=to, detail=detail[:300])


def sms_query(*, message_ids: list[int]) -> dict[str, int]:
    """Ask the provider what became of messages whose send outcome we did not see. Only a
    provider's "never got it" puts a message back in the queue."""
    account = provider_account_active()
    backend = backend_for(account)
    counts: dict[str, int] = {}
    requeued: list[int] = []
    for message_id in message_ids:
        with transaction.atomic():
            message = SmsMessage.objects.select_for_update().filter(pk=message_id, status=SmsStatus.UNKNOWN).first()
            if message is None:
                continue
            answer = backend.query(
                message_id=message.pk,
                phone=decrypt(message.phone_encrypted, context=_pii_context()),
                provider_message_id=message.provider_message_id,
                sent_on=timezone.localdate(message.updated_at).isoformat(),
            )
            counts[answer.state] = counts.get(answer.state, 0) + 1
            if answer.state == "accepted":
                _transition(
                    message, to=SmsStatus.SENT, detail="query:accepted", provider_message_id=answer.provider_message_id
                )
            elif answer.state == "delivered":
                _transition(message, to=SmsStatus.DELIVERED, detail="query:delivered")
            elif answer.state == "failed":
                _transition(message, to=SmsStatus.FAILED, detail="query:failed", error_code=answer.error_code[:60])
            elif answer.state == "not_found":
                _transition(message, to=SmsStatus.QUEUED, detail="query:not_found")
                requeued.append(message.pk)
    if requeued:
        transaction.on_commit(lambda: sms_dispatch(message_ids=requeued))
    return counts


def sms_operator_decide(*, message: SmsMessage, decision: str, actor: User | None, request: Any = None) -> SmsMessage:
    """An operator settles a message whose outcome is unknown: send it again, or give it up."""
    if decision not in ("resend", "fail"):
        raise ApplicationError("sms.bad_decision", _("未知的处理方式"))
    with transaction.atomic():
        locked = SmsMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status != SmsStatus.UNKNOWN:
            raise ApplicationError("sms.not_unknown", _("只有结果未知的短信需要人工处理"))
        if decision == "resend":
            _transition(locked, to=SmsStatus.QUEUED, detail=f"operator_resend:{actor.get_username() if actor else '-'}")
            message_id = locked.pk
            transaction.on_commit(lambda: sms_dispatch(message_ids=[message_id]))
        else:
            _transition(
                locked,
                to=SmsStatus.FAILED,
                detail=f"operator_fail:{actor.get_username() if actor else '-'}",
                error_code="operator",
            )
        audit_record(action=f"sms.operator_{decision}", actor=actor, target=locked, request=request)
    return locked


# --- delivery receipts ----------------------------------------------------------------------


def sms_receipts_apply(*, backend_name: str, events: list[ReceiptEvent]) -> dict[str, int]:
    """Apply provider receipts once each; a receipt for a message this bank does not have, or a
    replay, changes nothing."""
    counts = {"applied": 0, "duplicate": 0, "unmatched": 0}
    for event in events:
        with transaction.atomic():
            _receipt, created = SmsReceipt.objects.get_or_create(
                backend=backend_name,
                event_key=event.event_key[:200],
                defaults={"provider_message_id": event.provider_message_id[:100], "status": event.status},
            )
            if not created:
                counts["duplicate"] += 1
                continue
            message = (
                SmsMessage.objects.select_for_update()
                .filter(
                    backend=backend_name,
                    provider_message_id=event.provider_message_id,
                    status__in=[SmsStatus.SENT, SmsStatus.UNKNOWN, SmsStatus.SENDING],
                )
                .first()
            )
            if message is None or not event.provider_message_id:
                counts["unmatched"] += 1
                continue
            if event.status == "delivered":
                _transition(message, to=SmsStatus.DELIVERED, detail="receipt")
            else:
                _transition(
                    message, to=SmsStatus.FAILED, detail="receipt", error_code=event.error_code[:60] or "undelivered"
                )
            counts["applied"] += 1
    return counts


# --- launch batches -------------------------------------------------------------------------

Source = Callable[..., Iterator[tuple[str, dict[str, str], str]]]


def _source(path: str) -> Source:
    try:
        function: Source = import_string(path)
    except ImportError as error:
        raise ApplicationError("sms.bad_source", _("批量发送的数据来源不存在")) from error
    return function


def sms_batch_create(
    *,
    name: str,
    source: str,
    source_kwargs: dict[str, Any],
    template_key: str,
    kind: str,
    campaign_ref: str = "",
) -> SmsBatch:
    """A large send, expanded into the outbox in the background chunk by chunk.

    `source` is the dotted path of a generator `(**source_kwargs, after: str | None)` yielding
    `(phone, params, dedupe_key)` in a stable order, resuming after the given dedupe key. It may
    carry a `count(**source_kwargs) -> int` attribute for the progress bar.
    """
    if kind not in SmsKind.values:
        raise ApplicationError("sms.bad_kind", _("未知的短信类型"))
    function = _source(source)
    template_resolve(key=template_key)
    counter = getattr(function, "count", None)
    total = int(counter(**source_kwargs)) if callable(counter) else None
    batch = SmsBatch.objects.create(
        name=name,
        source=source,
        source_kwargs=source_kwargs,
        template_key=template_key,
        kind=kind,
        campaign_ref=campaign_ref,
        total=total,
    )
    batch_id = batch.pk
    transaction.on_commit(lambda: _batch_schedule(batch_id=batch_id))
    return batch


def _batch_schedule(*, batch_id: int, countdown: float = 0) -> None:
    from messaging.tasks import sms_batch_expand_task

    sms_batch_expand_task.apply_async(kwargs={"batch_id": batch_id}, queue="bulk", countdown=countdown)


def sms_batch_expand_step(*, batch_id: int) -> str:
    """Expand the next chunk of a running batch. Returns `more`, `wait` (senders are behind),
    `stop` (paused or finished). Memory is one chunk, whatever the batch's size."""
    with transaction.atomic():
        batch = SmsBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status != SmsBatchStatus.RUNNING:
            return "stop"
        waiting = SmsMessage.objects.filter(batch_id=batch_id, status=SmsStatus.QUEUED).count()
        if waiting >= EXPAND_HIGH_WATER:
            return "wait"
        function = _source(batch.source)
        items = list(islice(function(**batch.source_kwargs, after=batch.cursor or None), EXPAND_CHUNK))
        if not items:
            batch.status = SmsBatchStatus.DONE
            batch.finished_at = timezone.now()
            batch.save(update_fields=["status", "finished_at"])
            return "stop"
        new_ids = _batch_insert(batch=batch, items=items)
        batch.cursor = items[-1][2]
        batch.expanded += len(items)
        batch.save(update_fields=["cursor", "expanded"])
        transaction.on_commit(lambda: sms_dispatch(message_ids=new_ids))
    return "more"


def _batch_insert(*, batch: SmsBatch, items: list[tuple[str, dict[str, str], str]]) -> list[int]:
    context = _pii_context()
    rows: list[tuple[str, str, str, str, str]] = []
    for phone, params, dedupe_key in items:
        try:
            phone = phone_normalize(phone)
        except ApplicationError:
            phone = phone.strip()[:20]  # kept, and failed at send time, so the row tells the story
        rows.append(
            (
                encrypt(phone, context=context),
                digest(phone, purpose="phone"),
                mask_phone(phone),
                encrypt(json.dumps(params, ensure_ascii=False), context=context),
                dedupe_key,
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH ins AS (INSERT INTO messaging_smsmessage (kind, phone_encrypted, phone_digest, phone_masked, "
            "template_key, params_encrypted, campaign_ref, dedupe_key, batch_id, status, backend, "
            "provider_message_id, attempts, segments, error_code, created_at, updated_at) "
            "SELECT %s, pe, pd, pm, %s, pa, %s, dk, %s, 'queued', '', '', 0, 0, '', now(), now() "
            "FROM json_to_recordset(%s::json) AS t(pe text, pd text, pm text, pa text, dk text) "
            "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING id, status), "
            "ev AS (" + _EVENTS_FROM.format(detail="'batch'", source="ins") + ") "
            "SELECT id FROM ins",
            [
                batch.kind,
                batch.template_key,
                batch.campaign_ref,
                batch.pk,
                _json_rows(("pe", "pd", "pm", "pa", "dk"), rows),
            ],
        )
        return [row[0] for row in cursor.fetchall()]


def sms_batch_pause(*, batch: SmsBatch, actor: User | None = None, request: Any = None) -> SmsBatch:
    with transaction.atomic():
        locked = SmsBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != SmsBatchStatus.RUNNING:
            raise ApplicationError("sms.batch_not_running", _("该批次不在进行中"))
        locked.status = SmsBatchStatus.PAUSED
        locked.save(update_fields=["status"])
        audit_record(action="sms.batch_pause", actor=actor, target=locked, request=request)
    return locked


def sms_batch_resume(*, batch: SmsBatch, actor: User | None = None, request: Any = None) -> SmsBatch:
    with transaction.atomic():
        locked = SmsBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != SmsBatchStatus.PAUSED:
            raise ApplicationError("sms.batch_not_paused", _("该批次未暂停"))
        locked.status = SmsBatchStatus.RUNNING
        locked.save(update_fields=["status"])
        audit_record(action="sms.batch_resume", actor=actor, target=locked, request=request)
        batch_id = locked.pk
        transaction.on_commit(lambda: _batch_requeue_and_schedule(batch_id=batch_id))
    return locked


def _batch_requeue_and_schedule(*, batch_id: int) -> None:
    """Senders skipped this batch's rows while it was paused: hand them out again (bounded by
    the expansion's high-water mark), then carry on expanding."""
    queued = SmsMessage.objects.filter(batch_id=batch_id, status=SmsStatus.QUEUED).order_by("pk")
    ids = list(queued.values_list("pk", flat=True)[: EXPAND_HIGH_WATER + EXPAND_CHUNK])
    sms_dispatch(message_ids=ids)
    _batch_schedule(batch_id=batch_id)


# --- the sweeper (periodic, per bank) -------------------------------------------------------


def sms_sweep() -> dict[str, int]:
    """Nothing accepted is lost: re-hand queued rows whose task was lost or whose hold ended, and
    turn rows stuck in `sending` (a worker died mid-call) into `unknown`, to be queried."""
    stale = timezone.now() - timedelta(minutes=5)
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH stuck AS (UPDATE messaging_smsmessage SET status = 'unknown', error_code = 'worker_lost', "
            "updated_at = now() WHERE status = 'sending' AND updated_at < %s RETURNING id, status) "
            + _EVENTS_FROM.format(detail="'worker_lost'", source="stuck")
            + " RETURNING message_id",
            [stale],
        )
        stuck = [row[0] for row in cursor.fetchall()]
    due = list(
        SmsMessage.objects.filter(status=SmsStatus.QUEUED, updated_at__lt=stale)
        .exclude(not_before__gt=timezone.now())
        .exclude(batch__status=SmsBatchStatus.PAUSED)
        .order_by("pk")
        .values_list("pk", flat=True)[:50000]
    )
    sms_dispatch(message_ids=due)
    if stuck and backend_for(provider_account_active()).supports_query:
        from messaging.tasks import sms_query_task

        sms_query_task.apply_async(kwargs={"message_ids": stuck}, queue="sms")
    return {"stuck": len(stuck), "redispatched": len(due)}
