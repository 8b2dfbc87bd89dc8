"""The cardholder's redemption: checking a code and phone without helping a guesser, and the one
transaction that consumes the code, the campaign's count and money budget, the daily cap, the branch
quota and the cardholder's limits, and creates the redemption and its orders — all or nothing.

Hot counters (the campaign row, today's usage row) are touched last, just before commit, so their
row locks are held for the shortest time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import CampaignStatus, Code, CodeStatus, LimitPeriod, PackageKind
from campaigns.phones import phone_digest, phone_mask, phone_normalize, phone_seal
from campaigns.selectors import code_find
from fulfillment.models import FulfilmentOrder, OrderEvent, Redemption
from platform import ratelimit
from platform.bulk import rows_insert
from platform.crypto import encrypt
from platform.errors import ApplicationError
from platform.tenancy import current_schema

FAILURES_PER_PHONE = ratelimit.Limit("redeem-fail-phone", settings.H5_FAILURES_PER_PHONE, settings.H5_FAILURE_WINDOW_S)
FAILURES_PER_IP = ratelimit.Limit("redeem-fail-ip", settings.H5_FAILURES_PER_IP, settings.H5_FAILURE_WINDOW_S)
FAILURES_PER_CAMPAIGN = ratelimit.Limit(
    "redeem-fail-campaign", settings.H5_FAILURES_PER_CAMPAIGN, settings.H5_FAILURE_WINDOW_S
)


def _invalid() -> ApplicationError:
    # one answer for a wrong code and a wrong phone: a guesser learns nothing about which was wrong
    return ApplicationError("redeem.invalid", _("兑换码或手机号不正确"), status=400)


def _locked() -> ApplicationError:
    return ApplicationError("redeem.locked", _("尝试次数过多，请 10 分钟后再试"), status=429)


@dataclass(frozen=True)
class CheckedCode:
    code: Code
    phone: str


def redemption_check(*, code_text: str, phone_text: str, ip: str, code_id: int | None = None) -> CheckedCode:
    """Step 1: the code (typed, or from the SMS link) and the phone it was sent to. Failures count
    against the phone, the address and the campaign; over a limit, every attempt is refused."""
    phone = phone_normalize(phone_text)
    subject_phone = phone or "invalid"
    if ratelimit.is_blocked(FAILURES_PER_IP, ip) or ratelimit.is_blocked(FAILURES_PER_PHONE, subject_phone):
        raise _locked()
    if code_id is not None:
        code = Code.objects.filter(pk=code_id, batch__status="committed").select_related("campaign").first()
    else:
        code = code_find(text=code_text)
    if code is not None and ratelimit.is_blocked(FAILURES_PER_CAMPAIGN, str(code.campaign_id)):
        raise _locked()
    if (
        code is None
        or phone is None
        or (code.phone_digest is not None and bytes(code.phone_digest) != phone_digest(phone))
    ):
        ratelimit.hit(FAILURES_PER_IP, ip)
        ratelimit.hit(FAILURES_PER_PHONE, subject_phone)
        if code is not None:
            ratelimit.hit(FAILURES_PER_CAMPAIGN, str(code.campaign_id))
        raise _invalid()
    # from here on the person holds the code and its phone: precise answers help them
    now = timezone.now()
    if code.status == CodeStatus.REDEEMED or code.redemptions_left == 0:
        raise ApplicationError("redeem.used", _("该兑换码已使用，可在“我的权益”中查看进度"), status=409)
    if code.status in (CodeStatus.EXPIRED, CodeStatus.VOID) or code.valid_until <= now:
        raise ApplicationError("redeem.expired", _("该兑换码已过期"), status=410)
    if code.valid_from > now:
        raise ApplicationError(
            "redeem.not_yet",
            _("该兑换码将于 %(day)s 起可用") % {"day": timezone.localtime(code.valid_from).strftime("%Y-%m-%d")},
            status=409,
        )
    campaign_status_check(code.campaign.status)
    return CheckedCode(code=code, phone=phone)


def campaign_status_check(status: str) -> None:
    """Refuse, with the reason a cardholder understands, unless the campaign is live."""
    if status == CampaignStatus.LIVE:
        return
    messages: dict[str, str] = {
        CampaignStatus.SCHEDULED: _("活动尚未开始"),
        CampaignStatus.PAUSED: _("活动暂停中，请稍后再试"),
        CampaignStatus.ENDED: _("活动已结束"),
    }
    raise ApplicationError("redeem.campaign_closed", messages.get(status, _("活动未开始")), status=409)


@dataclass(frozen=True)
class Choice:
    product_id: int
    account: str  # normalised by rights_catalog.accounts.account_validate


def period_key(period: str, at: datetime) -> str:
    local = timezone.localtime(at)
    if period == LimitPeriod.DAY:
        return local.strftime("%Y-%m-%d")
    if period == LimitPeriod.WEEK:
        year, week, _day = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m")


@dataclass(frozen=True)
class _Rules:
    """What the transaction needs of the campaign, read with the code's own update."""

    status: str
    package_kind: str
    choose_count: int
    per_cardholder_limit: int | None
    per_period_limit: int | None
    limit_period: str
    daily_cap: int | None


def choices_check(*, campaign_id: int, rules: _Rules, choices: list[Choice]) -> list[tuple[int, int]]:
    """The chosen rights against the package's rules; returns (product id, price) per choice."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT product_id, price_fen FROM campaigns_campaignitem WHERE campaign_id = %s", [campaign_id])
        prices = dict(cursor.fetchall())
    wanted = rules.choose_count if rules.package_kind == PackageKind.CHOOSE else 1
    ids = [choice.product_id for choice in choices]
    if len(ids) != wanted or len(set(ids)) != len(ids) or not set(ids) <= set(prices):
        raise ApplicationError("redeem.bad_choice", _("请选择 %(n)s 项权益") % {"n": wanted}, status=422)
    return [(product_id, prices[product_id]) for product_id in ids]


def redemption_confirm(
    *, code_id: int, phone: str, choices: list[Choice], submission_key: str, ip: str | None
) -> Redemption:
    """Step 3: consume everything and create the redemption and its orders in one transaction.

    A repeat of the same submission (double tap, back button) returns the first redemption.
    """
    existing = Redemption.objects.filter(submission_key=submission_key).first()
    if existing is not None:
        return existing
    now = timezone.now()
    digest = phone_digest(phone)
    try:
        with transaction.atomic():
            redemption, order_ids = _consume_and_create(
                code_id=code_id,
                phone=phone,
                digest=digest,
                choices=choices,
                submission_key=submission_key,
                ip=ip,
                now=now,
            )
    except IntegrityError:
        # the same submission committed a moment ago in another request
        existing = Redemption.objects.filter(submission_key=submission_key).first()
        if existing is None:
            raise
        return existing

    from fulfillment.services import orders_start

    transaction.on_commit(lambda: orders_start(order_ids=order_ids))
    return redemption


def _one(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()  # type: ignore[no-any-return]


def _consume_and_create(
    *,
    code_id: int,
    phone: str,
    digest: bytes,
    choices: list[Choice],
    submission_key: str,
    ip: str | None,
    now: datetime,
) -> tuple[Redemption, list[int]]:
    # the code, with what the rest needs of its campaign and grant in the same statement (the
    # campaign's row is read, not locked: its counters are updated last, below)
    code_row = _one(
        "UPDATE campaigns_code AS c SET redemptions_left = c.redemptions_left - 1, "
        "status = CASE WHEN c.redemptions_left = 1 THEN 'redeemed' ELSE c.status END, redeemed_at = %s "
        "FROM campaigns_campaign AS cp WHERE c.id = %s AND cp.id = c.campaign_id AND c.status = 'active' "
        "AND c.redemptions_left > 0 AND c.valid_from <= %s AND c.valid_until > %s "
        "RETURNING c.campaign_id, c.grant_id, (SELECT branch_code FROM campaigns_grant AS g WHERE g.id = c.grant_id), "
        "cp.status, cp.package_kind, cp.choose_count, cp.per_cardholder_limit, cp.per_period_limit, cp.limit_period, "
        "cp.daily_cap",
        [now, code_id, now, now],
    )
    if code_row is None:
        raise ApplicationError("redeem.used", _("该兑换码已使用，可在“我的权益”中查看进度"), status=409)
    campaign_id, grant_id, branch = int(code_row[0]), code_row[1], str(code_row[2] or "")
    rules = _Rules(*code_row[3:])
    campaign_status_check(rules.status)
    priced = choices_check(campaign_id=campaign_id, rules=rules, choices=choices)
    units, amount = len(priced), sum(price for _product, price in priced)
    has_quota = bool(branch) and _one(
        "SELECT 1 FROM campaigns_branchquota WHERE campaign_id = %s AND branch_code = %s", [campaign_id, branch]
    )
    quota_taken = not has_quota or _one(
        "UPDATE campaigns_branchquota SET used = used + %s WHERE campaign_id = %s AND branch_code = %s "
        "AND used + %s <= quota RETURNING id",
        [units, campaign_id, branch, units],
    )
    if not quota_taken:
        raise ApplicationError("redeem.branch_quota", _("本网点名额已领完"), status=409)
    limits = []
    if rules.per_cardholder_limit:
        limits.append(("all", rules.per_cardholder_limit))
    if rules.per_period_limit:
        limits.append((period_key(rules.limit_period, now), rules.per_period_limit))
    for key, limit in limits:
        if (
            _one(
                "INSERT INTO campaigns_cardholderusage (campaign_id, phone_digest, period_key, used) "
                "VALUES (%s, %s, %s, 1) ON CONFLICT (campaign_id, phone_digest, period_key) "
                "DO UPDATE SET used = campaigns_cardholderusage.used + 1 "
                "WHERE campaigns_cardholderusage.used < %s RETURNING used",
                [campaign_id, digest, key, limit],
            )
            is None
        ):
            raise ApplicationError("redeem.cardholder_limit", _("您已达到本活动的兑换次数上限"), status=409)

    redemption = Redemption.objects.create(
        campaign_id=campaign_id,
        code_id=code_id,
        grant_id=grant_id,
        phone_encrypted=phone_seal(phone),
        phone_digest=digest,
        phone_masked=phone_mask(phone),
        branch_code=branch,
        submission_key=submission_key,
        access_token=secrets.token_urlsafe(24),
        units=units,
        amount_fen=amount,
        ip_address=ip,
    )
    accounts = {choice.product_id: choice.account for choice in choices}
    context = f"account:{current_schema()}"
    orders = rows_insert(
        [
            FulfilmentOrder(
                redemption=redemption,
                campaign_id=campaign_id,
                product_id=product_id,
                price_fen=price,
                account_encrypted=encrypt(accounts[product_id], context=context) if accounts[product_id] else "",
                account_masked=_mask_account(accounts[product_id]),
            )
            for product_id, price in priced
        ]
    )
    rows_insert(
        [
            OrderEvent(order=order, kind="created", to_status=order.status, data={"redemption": redemption.pk})
            for order in orders
        ]
    )

    # the two hot rows last: their locks are held only until the commit that follows
    if rules.daily_cap:
        day = timezone.localtime(now).date()
        if (
            _one(
                "INSERT INTO campaigns_dailyusage (campaign_id, day, used) VALUES (%s, %s, %s) "
                "ON CONFLICT (campaign_id, day) DO UPDATE SET used = campaigns_dailyusage.used + %s "
                "WHERE campaigns_dailyusage.used + %s <= %s RETURNING used",
                [campaign_id, day, units, units, units, rules.daily_cap],
            )
            is None
        ):
            raise ApplicationError("redeem.daily_cap", _("今日名额已领完，请明天再来"), status=409)
    if (
        _one(
            "UPDATE campaigns_campaign SET spent_count = spent_count + %s, spent_fen = spent_fen + %s "
            "WHERE id = %s AND status = 'live' AND spent_count + %s <= budget_count AND spent_fen + %s <= budget_fen "
            "RETURNING id",
            [units, amount, campaign_id, units, amount],
        )
        is None
    ):
        raise ApplicationError("redeem.budget_exhausted", _("活动名额已领完"), status=409)
    return redemption, [order.pk for order in orders]


def _mask_account(account: str) -> str:
    if not account:
        return ""
    if len(account) == 11 and account.isdigit():
        return phone_mask(account)
    return account[:2] + "****" + account[-2:] if len(account) > 6 else "****"
