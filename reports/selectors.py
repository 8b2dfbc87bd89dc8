"""Reads for the dashboards: only the rollups and small tables (campaigns, quotas, batches),
never the raw code, grant or redemption tables (decision 0500)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
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


@dataclass(frozen=True)
class CampaignFigures:
    totals: dict[str, Any]
    by_day: list[dict[str, Any]]
    by_product: list[dict[str, Any]]
    by_branch: list[dict[str, Any]]


def campaign_figures(*, campaign: Campaign, scope: Scope) -> CampaignFigures:
    """Totals and the breakdowns by day, right and branch, in one pass over the campaign's rollup
    rows (`GROUPING SETS`): a few thousand rows however many codes the campaign has."""
    from rights_catalog.models import RightsProduct

    where = ["campaign_id = %s"]
    params: list[Any] = [campaign.pk]
    if scope.branch is not None:
        where.append("branch_code = %s")
        params.append(scope.branch)
    if scope.date_from is not None:
        where.append("day >= %s")
        params.append(scope.date_from)
    if scope.date_to is not None:
        where.append("day <= %s")
        params.append(scope.date_to)
    sums = ", ".join(f"COALESCE(SUM({name}), 0)" for name in CAMPAIGN_METRICS)
    sql = (
        "SELECT GROUPING(day), GROUPING(product_id), GROUPING(branch_code), day, product_id, branch_code, "
        f"{sums} FROM {CampaignRollup._meta.db_table} WHERE {' AND '.join(where)} "
        "GROUP BY GROUPING SETS ((), (day), (product_id), (branch_code)) ORDER BY 4, 5, 6"
    )
    totals: dict[str, Any] = dict.fromkeys(CAMPAIGN_METRICS, 0)
    by_day, by_product, by_branch = [], [], []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            no_day, no_product, no_branch, day, product_id, branch_code = row[:6]
            figures = {name: int(value) for name, value in zip(CAMPAIGN_METRICS, row[6:], strict=True)}
            if no_day and no_product and no_branch:
                totals = figures
            elif not no_day:
                by_day.append({"day": day, **figures})
            elif not no_product:
                if product_id:
                    by_product.append({"product_id": product_id, **figures})
            else:
                by_branch.append(_derived({"branch_code": branch_code, **figures}))
    names = dict(RightsProduct.objects.filter(pk__in=[r["product_id"] for r in by_product]).values_list("pk", "name"))
    for row in by_product:
        row["name"] = names.get(row["product_id"], str(row["product_id"]))
        row["fulfilment_rate"] = _percent(row["fulfilled"], row["rights"])
    quotas = BranchQuota.objects.filter(campaign=campaign)
    if scope.branch is not None:
        quotas = quotas.filter(branch_code=scope.branch)
    quota_of = dict(quotas.values_list("branch_code", "quota"))
    for row in by_branch:
        row["quota"] = quota_of.get(row["branch_code"])
    return CampaignFigures(totals=_derived(totals), by_day=by_day, by_product=by_product, by_branch=by_branch)


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
