"""Writes for campaigns: create and edit, the lifecycle with its checks, grants, code batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import audit_record
from campaigns import bulk
from campaigns.events import campaign_event
from campaigns.models import (
    BatchStatus,
    BranchQuota,
    Campaign,
    CampaignItem,
    CampaignStatus,
    CodeBatch,
    DuplicatePolicy,
    Eligibility,
    Grant,
    GrantSource,
    PackageKind,
    ValidityKind,
)
from campaigns.phones import phone_digest, phone_mask, phone_normalize, phone_seal
from platform.errors import ApplicationError
from tenants.models import Bank

EDITABLE_FIELDS = (
    "name",
    "description",
    "starts_at",
    "ends_at",
    "package_kind",
    "choose_count",
    "split_parts",
    "split_interval_days",
    "validity_kind",
    "valid_until",
    "valid_days",
    "redemptions_per_code",
    "budget_fen",
    "budget_count",
    "daily_cap",
    "per_cardholder_limit",
    "per_period_limit",
    "limit_period",
    "eligibility",
    "duplicate_policy",
    "requires_otp",
    "restore_on_failure",
    "sms_text",
    "arrival_text",
    "rules_text",
)
# fields that may change while a campaign is live or paused (the rest would change what was promised)
LIVE_EDITABLE_FIELDS = (
    "description",
    "ends_at",
    "budget_fen",
    "budget_count",
    "daily_cap",
    "sms_text",
    "arrival_text",
    "rules_text",
)

# transition → (allowed from, resulting status, roles allowed)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "launch": ((CampaignStatus.DRAFT,), CampaignStatus.LIVE, (Role.ADMIN,)),
    "pause": ((CampaignStatus.LIVE, CampaignStatus.SCHEDULED), CampaignStatus.PAUSED, (Role.ADMIN, Role.OPERATOR)),
    "resume": ((CampaignStatus.PAUSED,), CampaignStatus.LIVE, (Role.ADMIN,)),
    "end": (
        (CampaignStatus.LIVE, CampaignStatus.PAUSED, CampaignStatus.SCHEDULED),
        CampaignStatus.ENDED,
        (Role.ADMIN,),
    ),
    "unschedule": ((CampaignStatus.SCHEDULED,), CampaignStatus.DRAFT, (Role.ADMIN,)),
}


def _actor_label(actor: User | None) -> str:
    return actor.get_username() if actor is not None else "system"


def _require_role(actor: User | None, roles: tuple[str, ...]) -> None:
    if actor is not None and actor.role not in roles:
        raise ApplicationError("campaign.forbidden", _("您的角色无权进行此操作"), status=403)


# --- create and edit ------------------------------------------------------------------------


def _clean_fields(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if not str(data.get("name", "")).strip():
        errors["name"] = _("请填写活动名称")
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if starts is None or ends is None:
        errors["starts_at"] = _("请填写活动时间")
    elif ends <= starts:
        errors["ends_at"] = _("结束时间须晚于开始时间")
    kind = data.get("package_kind", PackageKind.FIXED)
    if kind not in PackageKind.values:
        errors["package_kind"] = _("权益包类型无效")
    if kind == PackageKind.SPLIT and int(data.get("split_parts") or 0) < 2:
        errors["split_parts"] = _("分期权益至少 2 份")
    if kind == PackageKind.CHOOSE and int(data.get("choose_count") or 0) < 1:
        errors["choose_count"] = _("可选数量至少为 1")
    if data.get("validity_kind") == ValidityKind.FIXED_DATE and not data.get("valid_until"):
        errors["valid_until"] = _("请填写兑换码到期日")
    if data.get("validity_kind") == ValidityKind.DAYS_AFTER_GRANT and int(data.get("valid_days") or 0) < 1:
        errors["valid_days"] = _("有效天数至少为 1")
    if int(data.get("redemptions_per_code") or 1) < 1:
        errors["redemptions_per_code"] = _("每码可兑换次数至少为 1")
    for money in ("budget_fen",):
        if int(data.get(money) or 0) < 0:
            errors[money] = _("金额不能为负")
    if errors:
        raise ApplicationError("campaign.invalid", "；".join(errors.values()), extra={"fields": errors})
    return {name: data[name] for name in EDITABLE_FIELDS if name in data}


def campaign_create(*, actor: User | None, data: dict[str, Any]) -> Campaign:
    _require_role(actor, (Role.ADMIN, Role.OPERATOR))
    values = _clean_fields(data)
    with transaction.atomic():
        campaign = Campaign.objects.create(created_by=actor, **values)
        campaign_event(campaign=campaign, kind="created", actor_label=_actor_label(actor))
        audit_record(action="campaign.create", actor=actor, target=campaign, after={"name": campaign.name})
    return campaign


def campaign_update(*, campaign: Campaign, actor: User | None, data: dict[str, Any]) -> Campaign:
    _require_role(actor, (Role.ADMIN, Role.OPERATOR))
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status == CampaignStatus.ENDED:
            raise ApplicationError("campaign.not_editable", _("活动已结束，不能修改"))
        merged = {name: getattr(locked, name) for name in EDITABLE_FIELDS} | data
        values = _clean_fields(merged)
        allowed = EDITABLE_FIELDS if locked.status in (CampaignStatus.DRAFT,) else LIVE_EDITABLE_FIELDS
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name, value in values.items():
            if getattr(locked, name) != value:
                if name not in allowed:
                    raise ApplicationError(
                        "campaign.field_locked",
                        _("活动上线后不能修改此项：%(field)s")
                        % {"field": getattr(Campaign._meta.get_field(name), "verbose_name", name)},
                    )
                before[name], after[name] = str(getattr(locked, name)), str(value)
                setattr(locked, name, value)
        if after:
            locked.save()
            if "sms_text" in after and locked.status != CampaignStatus.DRAFT:
                from campaigns.delivery import campaign_sms_template_sync

                campaign_sms_template_sync(campaign=locked)
            campaign_event(
                campaign=locked, kind="edited", actor_label=_actor_label(actor), data={"fields": list(after)}
            )
            audit_record(action="campaign.update", actor=actor, target=locked, before=before, after=after)
    return locked


def campaign_set_items(*, campaign: Campaign, bank: Bank, product_ids: list[int], actor: User | None) -> None:
    """Choose the package's rights; each must be on the bank's price list, at the bank's price."""
    from rights_catalog.models import RightsProduct
    from rights_catalog.selectors import bank_price_for

    _require_role(actor, (Role.ADMIN, Role.OPERATOR))
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != CampaignStatus.DRAFT:
            raise ApplicationError("campaign.not_editable", _("只有草稿活动可以修改权益包"))
        products = {p.pk: p for p in RightsProduct.objects.filter(pk__in=product_ids)}
        items = []
        for position, product_id in enumerate(dict.fromkeys(product_ids)):
            product = products.get(product_id)
            price = bank_price_for(bank=bank, product=product) if product is not None else None
            if product is None or price is None:
                raise ApplicationError(
                    "campaign.product_not_on_price_list", _("所选权益不在本行价目表中：%(id)s") % {"id": product_id}
                )
            items.append(CampaignItem(campaign=locked, product=product, price_fen=price.price_fen, position=position))
        CampaignItem.objects.filter(campaign=locked).delete()
        CampaignItem.objects.bulk_create(items)
        campaign_event(
            campaign=locked,
            kind="items_set",
            actor_label=_actor_label(actor),
            data={"products": [i.product_id for i in items]},
        )
        audit_record(
            action="campaign.items", actor=actor, target=locked, after={"products": [i.product.sku for i in items]}
        )


def campaign_set_branch_quotas(*, campaign: Campaign, quotas: dict[str, int], actor: User | None) -> None:
    _require_role(actor, (Role.ADMIN, Role.OPERATOR))
    bad = [code for code, quota in quotas.items() if not code.strip() or quota < 0]
    if bad:
        raise ApplicationError("campaign.bad_quota", _("网点名额无效：%(codes)s") % {"codes": ", ".join(bad)})
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        for code, quota in quotas.items():
            existing = BranchQuota.objects.filter(campaign=locked, branch_code=code).first()
            if existing is not None and quota < existing.used:
                raise ApplicationError(
                    "campaign.quota_below_used",
                    _("网点 %(code)s 的名额不能低于已用数 %(used)s") % {"code": code, "used": existing.used},
                )
            BranchQuota.objects.update_or_create(campaign=locked, branch_code=code, defaults={"quota": quota})
        BranchQuota.objects.filter(campaign=locked).exclude(branch_code__in=list(quotas)).filter(used=0).delete()
        audit_record(action="campaign.quotas", actor=actor, target=locked, after={"quotas": quotas})


# --- what a grant may cost, and the checks before going live ------------------------------


def units_per_grant(campaign: Campaign) -> int:
    """How many rights one grant can turn into at most."""
    per_code = {PackageKind.CHOOSE: campaign.choose_count}.get(campaign.package_kind, 1)  # type: ignore[call-overload]
    parts = campaign.split_parts if campaign.package_kind == PackageKind.SPLIT else 1
    return per_code * parts * campaign.redemptions_per_code


def value_per_grant(campaign: Campaign) -> int:
    """The most money one grant can cost, in fen."""
    prices = sorted((item.price_fen for item in campaign.items.all()), reverse=True)
    if not prices:
        return 0
    # choose K of N: the K dearest; a fixed or split right: its one price
    per_code = sum(prices[: campaign.choose_count]) if campaign.package_kind == PackageKind.CHOOSE else prices[0]
    parts = campaign.split_parts if campaign.package_kind == PackageKind.SPLIT else 1
    return per_code * parts * campaign.redemptions_per_code


def budget_covers(campaign: Campaign, *, grants: int) -> tuple[bool, bool]:
    """Whether the count and the money budget cover `grants` grants fully redeemed (DESIGN §4.2:
    a campaign whose budget cannot cover its grants cannot go live, nor grant more)."""
    count_ok = campaign.budget_count >= grants * units_per_grant(campaign)
    money_ok = campaign.budget_fen >= grants * value_per_grant(campaign)
    return count_ok, money_ok


def campaign_problems(*, campaign: Campaign, bank: Bank, extra_grants: int = 0) -> list[str]:
    """Why this campaign cannot go live (empty when it can). Also shown live in the console."""
    from rights_catalog.selectors import bank_price_for

    problems: list[str] = []
    now = timezone.now()
    items = list(campaign.items.select_related("product"))
    if not items:
        problems.append(_("权益包为空：请选择权益"))
    if campaign.package_kind in (PackageKind.FIXED, PackageKind.SPLIT) and len(items) > 1:
        problems.append(_("固定权益与分期权益只能包含一个权益"))
    if campaign.package_kind == PackageKind.CHOOSE and items and campaign.choose_count > len(items):
        problems.append(_("可选数量 K 大于权益数量 N"))
    for item in items:
        price = bank_price_for(bank=bank, product=item.product)
        if price is None:
            problems.append(_("权益不在本行价目表中或已下架：%(name)s") % {"name": item.product.name})
    if campaign.ends_at <= now:
        problems.append(_("活动结束时间已过"))
    if campaign.validity_kind == ValidityKind.FIXED_DATE and campaign.valid_until and campaign.valid_until <= now:
        problems.append(_("兑换码到期日已过"))
    if campaign.budget_fen <= 0 or campaign.budget_count <= 0:
        problems.append(_("请设置金额预算与数量预算"))
    grants = campaign.granted_count + extra_grants
    if items and grants:
        count_ok, money_ok = budget_covers(campaign, grants=grants)
        if not count_ok:
            problems.append(_("数量预算不足以覆盖已发放的 %(n)s 份权益") % {"n": grants})
        if not money_ok:
            problems.append(_("金额预算不足以覆盖已发放的 %(n)s 份权益") % {"n": grants})
    if not campaign.sms_text.strip() and campaign.eligibility != Eligibility.API:
        problems.append(_("请填写发码短信"))
    elif campaign.sms_text.strip() and "${code}" not in campaign.sms_text and "${link}" not in campaign.sms_text:
        problems.append(_("发码短信须包含 ${code} 或 ${link}"))
    return problems


def _credit_check(*, bank: Bank, amount_fen: int) -> None:
    try:
        from billing.services import credit_check
    except ImportError:  # billing not installed yet in this build
        return
    credit_check(bank=bank, amount_fen=amount_fen)


def campaign_transition(*, campaign: Campaign, bank: Bank, action: str, actor: User | None) -> Campaign:
    if action not in TRANSITIONS:
        raise ApplicationError("campaign.unknown_action", _("未知操作"))
    sources, target, roles = TRANSITIONS[action]
    _require_role(actor, roles)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in sources:
            raise ApplicationError(
                "campaign.bad_transition",
                _("当前状态（%(status)s）不能执行此操作") % {"status": locked.get_status_display()},
                status=409,
            )
        if action in ("launch", "resume"):
            problems = campaign_problems(campaign=locked, bank=bank)
            if problems:
                raise ApplicationError("campaign.not_ready", "；".join(problems), extra={"problems": problems})
            if action == "launch":
                _credit_check(bank=bank, amount_fen=locked.budget_fen)
                _refresh_prices(locked, bank)
                locked.launched_at = timezone.now()
            from campaigns.delivery import campaign_sms_template_sync

            campaign_sms_template_sync(campaign=locked)
            if locked.starts_at > timezone.now():
                target = CampaignStatus.SCHEDULED
        before = locked.status
        locked.status = target
        locked.save(update_fields=["status", "launched_at", "updated_at"])
        campaign_event(
            campaign=locked,
            kind=f"status:{target}",
            actor_label=_actor_label(actor),
            data={"from": before, "action": action},
        )
        audit_record(
            action=f"campaign.{action}", actor=actor, target=locked, before={"status": before}, after={"status": target}
        )
    return locked


def _refresh_prices(campaign: Campaign, bank: Bank) -> None:
    from rights_catalog.selectors import bank_price_for

    for item in campaign.items.select_related("product"):
        price = bank_price_for(bank=bank, product=item.product)
        if price is not None and price.price_fen != item.price_fen:
            CampaignItem.objects.filter(pk=item.pk).update(price_fen=price.price_fen)


def campaigns_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Scheduled campaigns go live at their start, live and paused ones end at their end."""
    now = now or timezone.now()
    started = 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, starts_at__lte=now):
        with transaction.atomic():
            if Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
                status=CampaignStatus.LIVE
            ):
                campaign_event(campaign=campaign, kind="status:live", actor_label="system", data={"from": "scheduled"})
                started += 1
    ended = 0
    for campaign in Campaign.objects.filter(
        status__in=[CampaignStatus.LIVE, CampaignStatus.PAUSED, CampaignStatus.SCHEDULED], ends_at__lte=now
    ):
        with transaction.atomic():
            if Campaign.objects.filter(pk=campaign.pk, status=campaign.status).update(status=CampaignStatus.ENDED):
                campaign_event(
                    campaign=campaign, kind="status:ended", actor_label="system", data={"from": campaign.status}
                )
                ended += 1
    from campaigns.delivery import split_parts_send

    return {"started": started, "ended": ended, "split_parts_texted": split_parts_send(now=now)}


# --- grants and codes -----------------------------------------------------------------------


def code_window(campaign: Campaign, *, granted_at: datetime, part: int) -> tuple[datetime, datetime]:
    valid_from = max(granted_at, campaign.starts_at) + timedelta(days=campaign.split_interval_days * (part - 1))
    if campaign.validity_kind == ValidityKind.FIXED_DATE and campaign.valid_until is not None:
        valid_until = max(campaign.valid_until, valid_from + timedelta(days=1))
    else:
        valid_until = valid_from + timedelta(days=campaign.valid_days)
    return valid_from, valid_until


def parts_per_grant(campaign: Campaign) -> int:
    return campaign.split_parts if campaign.package_kind == PackageKind.SPLIT else 1


@dataclass
class GrantResult:
    grant: Grant
    created: bool
    codes: list[str] = field(default_factory=list)  # plaintext, for the SMS only; never stored or logged


def grant_create(
    *,
    campaign_id: int,
    bank: Bank,
    phone: str,
    branch_code: str = "",
    customer_ref: str = "",
    source: str = GrantSource.API,
    actor_label: str,
) -> GrantResult:
    """Grant one cardholder the campaign's package: a grant row and its codes, bound to the phone."""
    normalized = phone_normalize(phone)
    if normalized is None:
        raise ApplicationError("grant.invalid_phone", _("手机号格式不正确"), status=422)
    if len(branch_code) > 32 or len(customer_ref) > 64:
        raise ApplicationError("grant.invalid_field", _("网点代码或客户编号过长"), status=422)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise ApplicationError("campaign.not_found", _("活动不存在"), status=404)
        if source == GrantSource.API and campaign.eligibility == Eligibility.WHITELIST:
            raise ApplicationError("campaign.api_grants_disabled", _("该活动不接受接口发放"), status=409)
        if campaign.status not in (CampaignStatus.LIVE, CampaignStatus.SCHEDULED):
            raise ApplicationError("campaign.not_live", _("活动未在进行中"), status=409)
        digest = phone_digest(normalized)
        if campaign.duplicate_policy != DuplicatePolicy.ALLOW:
            existing = Grant.objects.filter(campaign=campaign, phone_digest=digest).first()
            if existing is not None:
                raise ApplicationError(
                    "grant.duplicate", _("该手机号已获得本活动权益"), status=409, extra={"grant_id": existing.pk}
                )
        if not all(budget_covers(campaign, grants=campaign.granted_count + 1)):
            raise ApplicationError("campaign.budget_exhausted", _("活动预算已发放完毕"), status=409)
        grant = Grant.objects.create(
            campaign=campaign,
            phone_encrypted=phone_seal(normalized),
            phone_digest=digest,
            phone_masked=phone_mask(normalized),
            branch_code=branch_code.strip(),
            customer_ref=customer_ref.strip(),
            source=source,
        )
        batch = CodeBatch.objects.create(
            campaign=campaign,
            source=source,
            requested_count=parts_per_grant(campaign),
            status=BatchStatus.COMMITTED,
            finished_at=timezone.now(),
        )
        plaintext: list[str] = []
        specs = [
            bulk.CodeSpec(grant.pk, digest, part, *code_window(campaign, granted_at=grant.created_at, part=part))
            for part in range(1, parts_per_grant(campaign) + 1)
        ]
        created = bulk.codes_copy(
            campaign_id=campaign.pk,
            batch_id=batch.pk,
            redemptions=campaign.redemptions_per_code,
            specs=specs,
            keep_plaintext=lambda codes, _specs: plaintext.extend(codes),
        )
        CodeBatch.objects.filter(pk=batch.pk).update(created_count=created)
        Campaign.objects.filter(pk=campaign.pk).update(granted_count=F("granted_count") + 1)
        audit_record(
            action="grant.create",
            actor_label=actor_label,
            target=grant,
            after={"campaign": campaign.pk, "phone": grant.phone_masked, "source": source},
        )
    return GrantResult(grant=grant, created=True, codes=plaintext)


def code_batch_create(*, campaign: Campaign, count: int, actor: User | None) -> CodeBatch:
    """Queue a batch of offline codes (a code pool, not bound to phones); generated in the background."""
    _require_role(actor, (Role.ADMIN, Role.OPERATOR))
    if not 1 <= count <= 10_000_000:
        raise ApplicationError("codes.bad_count", _("数量须在 1 到 10,000,000 之间"))
    from campaigns.tasks import code_batch_generate_task

    with transaction.atomic():
        batch = CodeBatch.objects.create(
            campaign=campaign, source=GrantSource.POOL, requested_count=count, created_by=actor
        )
        campaign_event(
            campaign=campaign,
            kind="code_batch_requested",
            actor_label=_actor_label(actor),
            data={"batch": batch.pk, "count": count},
        )
        audit_record(action="codes.generate", actor=actor, target=batch, after={"count": count})
        transaction.on_commit(lambda: code_batch_generate_task.delay(batch_id=batch.pk))
    return batch


def code_batch_generate(*, batch_id: int, progress: Any = None) -> CodeBatch:
    """Generate a pool batch's codes. They are written by parallel COPY streams and become visible
    only when the batch row is marked committed; a failure removes them all."""
    batch = CodeBatch.objects.select_related("campaign").get(pk=batch_id)
    if batch.status == BatchStatus.COMMITTED:
        return batch  # a redelivered task: nothing to do
    campaign = batch.campaign
    valid_from, valid_until = code_window(campaign, granted_at=timezone.now(), part=1)
    leftovers = batch.status != BatchStatus.PENDING  # a crashed earlier run may have written rows
    for attempt in range(3):
        if leftovers or attempt:
            _batch_discard_codes(batch.pk)
        CodeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
        try:
            created = bulk.codes_copy_parallel(
                campaign_id=campaign.pk,
                batch_id=batch.pk,
                redemptions=campaign.redemptions_per_code,
                count=batch.requested_count,
                valid_from=valid_from,
                valid_until=valid_until,
                on_progress=progress,
            )
        except IntegrityError:
            # a 60-bit collision with an existing code: astronomically rare; generate the batch again
            if attempt == 2:
                _batch_discard_codes(batch.pk)
                CodeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error="collision")
                raise
            continue
        except Exception:
            _batch_discard_codes(batch.pk)
            CodeBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error="generation failed")
            raise
        with transaction.atomic():
            CodeBatch.objects.filter(pk=batch.pk).update(
                status=BatchStatus.COMMITTED, created_count=created, finished_at=timezone.now()
            )
            campaign_event(
                campaign=campaign,
                kind="code_batch_committed",
                actor_label="system",
                data={"batch": batch.pk, "count": created},
            )
        break
    batch.refresh_from_db()
    return batch


def _batch_discard_codes(batch_id: int) -> None:
    # pool codes of an uncommitted batch were never visible, so nothing refers to them
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM campaigns_code WHERE batch_id = %s", [batch_id])
