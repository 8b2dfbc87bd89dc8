"""Reads for the dashboards: only the rollups and small tables (campaigns, quotas, batches),
never the raw code, grant or redemption tables (decision 0500)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from campaigns.models import BatchStatus, BranchQuota, Campaign, CodeBatch
from reports.models import CAMPAIGN_METRICS, TTR_BUCKETS, CampaignRollup

# a branch manager without a branch sees nothing rather than everything
NO_BRANCH = "\x00none"


@dataclass(frozen=True)
class Scope:
    """What one reader may see: a branch (None: all branches) and a date window."""

    branch: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def scope_for(*, user: User, branch: str = "", date_from: date | None = None, date_to: date | None = None) -> Scope:
    """Branch managers always see their own branch, whatever the request asks for."""
    if user.role == Role.BRANCH_MANAGER:
        return Scope(branch=user.branch_code or NO_BRANCH, date_from=date_from, date_to=date_to)
    return Scope(branch=branch.strip() or None, date_from=date_from, date_to=date_to)


def _rows(scope: Scope, campaign_ids: list[int] | None = None) -> QuerySet[CampaignRollup]:
    rows = CampaignRollup.objects.all()
    if campaign_ids is not None:
        rows = rows.filter(campaign_id__in=campaign_ids)
    if scope.branch is not None:
        rows = rows.filter(branch_code=scope.branch)
    if scope.date_from is not None:
        rows = rows.filter(day__gte=scope.date_from)
    if scope.date_to is not None:
        rows = rows.filter(day__lte=scope.date_to)
    return rows


def _sums() -> dict[str, Any]:
    return {name: Sum(name) for name in CAMPAIGN_METRICS}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {key: (value or 0) if key in CAMPAIGN_METRICS else value for key, value in row.items()}


def _derived(totals: dict[str, Any]) -> dict[str, Any]:
    granted, redeemed = totals.get("granted", 0), totals.get("redeemed", 0)
    rights, fulfilled = totals.get("rights", 0), totals.get("fulfilled", 0)
    return {
        **totals,
        "redemption_rate": _percent(redeemed, granted),
        "delivery_rate": _percent(totals.get("sms_delivered", 0), totals.get("sms_sent", 0)),
        "fulfilment_rate": _percent(fulfilled, rights),
    }


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def campaign_totals(*, campaign: Campaign, scope: Scope) -> dict[str, Any]:
    totals = _clean(_rows(scope, [campaign.pk]).aggregate(**_sums()))
    return _derived(totals)


def campaign_by_day(*, campaign: Campaign, scope: Scope) -> list[dict[str, Any]]:
    rows = _rows(scope, [campaign.pk]).values("day").annotate(**_sums()).order_by("day")
    return [_clean(row) for row in rows]


def campaign_by_product(*, campaign: Campaign, scope: Scope) -> list[dict[str, Any]]:
    from rights_catalog.models import RightsProduct

    rows = [
        _clean(row)
        for row in _rows(scope, [campaign.pk])
        .exclude(product_id=0)
        .values("product_id")
        .annotate(**_sums())
        .order_by("product_id")
    ]
    names = dict(RightsProduct.objects.filter(pk__in=[r["product_id"] for r in rows]).values_list("pk", "name"))
    for row in rows:
        row["name"] = names.get(row["product_id"], str(row["product_id"]))
        row["fulfilment_rate"] = _percent(row["fulfilled"], row["rights"])
    return rows


def campaign_by_branch(*, campaign: Campaign, scope: Scope) -> list[dict[str, Any]]:
    rows = [
        _derived(_clean(row))
        for row in _rows(scope, [campaign.pk]).values("branch_code").annotate(**_sums()).order_by("branch_code")
    ]
    quotas = dict(
        BranchQuota.objects.filter(campaign=campaign).values_list("branch_code", "quota")
        if scope.branch is None
        else BranchQuota.objects.filter(campaign=campaign, branch_code=scope.branch).values_list("branch_code", "quota")
    )
    for row in rows:
        row["quota"] = quotas.get(row["branch_code"])
    return rows


def funnel(totals: dict[str, Any]) -> list[dict[str, Any]]:
    """From grant to arrival, each step with its share of the first."""
    steps = [
        ("granted", _("已发放")),
        ("sms_sent", _("短信已发")),
        ("sms_delivered", _("短信送达")),
        ("h5_opened", _("打开 H5")),
        ("redeemed", _("兑换")),
        ("fulfilled", _("到账")),
    ]
    first = max(totals.get("granted", 0), 1)
    return [
        {"key": key, "label": label, "value": totals.get(key, 0), "share": round(100.0 * totals.get(key, 0) / first, 1)}
        for key, label in steps
    ]


TTR_LABELS = {
    "ttr_1h": _("< 1 小时"),
    "ttr_6h": _("1–6 小时"),
    "ttr_1d": _("6–24 小时"),
    "ttr_3d": _("1–3 天"),
    "ttr_7d": _("3–7 天"),
    "ttr_30d": _("7–30 天"),
    "ttr_more": _("> 30 天"),
}


def time_to_redeem(totals: dict[str, Any]) -> list[tuple[str, int]]:
    return [(str(TTR_LABELS[name]), int(totals.get(name, 0))) for name, _bound in TTR_BUCKETS]


def codes_issued(*, campaign: Campaign) -> int:
    """Codes of committed batches (from the batch rows, never by counting codes)."""
    total = CodeBatch.objects.filter(campaign=campaign, status=BatchStatus.COMMITTED).aggregate(n=Sum("created_count"))
    return int(total["n"] or 0)


def campaigns_overview(*, scope: Scope) -> list[dict[str, Any]]:
    """Every campaign side by side: its totals in the scope, spend against its budget."""
    campaigns = list(Campaign.objects.exclude(status="draft").order_by("-created_at")[:200]) + list(
        Campaign.objects.filter(status="draft").order_by("-created_at")[:20]
    )
    ids = [c.pk for c in campaigns]
    totals = {
        row["campaign_id"]: _derived(_clean(row))
        for row in _rows(scope, ids).values("campaign_id").annotate(**_sums()).order_by()
    }
    result = []
    for campaign in campaigns:
        row = totals.get(campaign.pk) or _derived(dict.fromkeys(CAMPAIGN_METRICS, 0))
        row["campaign"] = campaign
        row["budget_share"] = _percent(campaign.spent_fen, campaign.budget_fen)
        result.append(row)
    return result


def bank_trend(*, scope: Scope) -> list[dict[str, Any]]:
    return [_clean(row) for row in _rows(scope).values("day").annotate(**_sums()).order_by("day")]


def branches_known(*, campaign: Campaign | None = None) -> list[str]:
    """Branch codes for the filter: the campaign's quotas and the branches its rollups have seen."""
    rows = CampaignRollup.objects.exclude(branch_code="")
    quotas = BranchQuota.objects.all()
    if campaign is not None:
        rows = rows.filter(campaign_id=campaign.pk)
        quotas = quotas.filter(campaign=campaign)
    seen = set(rows.values_list("branch_code", flat=True).distinct()[:500])
    seen |= set(quotas.values_list("branch_code", flat=True))
    return sorted(seen)


def filter_q(scope: Scope) -> Q:
    """The same scope as a filter on raw rows with a `branch_code` and a `created_at` (exports)."""
    q = Q()
    if scope.branch is not None:
        q &= Q(branch_code=scope.branch)
    if scope.date_from is not None:
        q &= Q(created_at__date__gte=scope.date_from)
    if scope.date_to is not None:
        q &= Q(created_at__date__lte=scope.date_to)
    return q
