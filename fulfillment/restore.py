"""Give back what one failed order consumed, as its campaign says (used by the engine when an order
fails with no offer left, and by the platform's "fail and restore" action).

Per order: the budget (count 1 and the order's price) always goes back; with `restore_on_failure`
the branch quota and the daily cap go back one unit each. Per redemption, once its *last* order has
failed (one code use and one cardholder-limit use cover all the rights redeemed together): the code
use and the cardholder's limits. Conditional UPDATEs in the caller's transaction; idempotent through
the order's `restored` event row (checked under the order's row lock, which the caller holds)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from fulfillment.models import FulfilmentOrder, OrderEvent, OrderStatus


def _update(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def order_restore(*, order: FulfilmentOrder) -> bool:
    """Restore one failed order's share; False when it was restored already."""
    if OrderEvent.objects.filter(order=order, kind="restored").exists():
        return False
    redemption, campaign = order.redemption, order.campaign
    done: dict[str, int] = {}
    done["budget"] = _update(
        "UPDATE campaigns_campaign SET spent_count = spent_count - 1, spent_fen = spent_fen - %s "
        "WHERE id = %s AND spent_count >= 1 AND spent_fen >= %s",
        [order.price_fen, campaign.pk, order.price_fen],
    )
    if campaign.restore_on_failure:
        if redemption.branch_code:
            done["branch_quota"] = _update(
                "UPDATE campaigns_branchquota SET used = used - 1 WHERE campaign_id = %s AND branch_code = %s "
                "AND used > 0",
                [campaign.pk, redemption.branch_code],
            )
        done["daily"] = _update(
            "UPDATE campaigns_dailyusage SET used = used - 1 WHERE campaign_id = %s AND day = %s AND used > 0",
            [campaign.pk, timezone.localtime(redemption.created_at).date()],
        )
        others_open = (
            FulfilmentOrder.objects.filter(redemption_id=redemption.pk)
            .exclude(pk=order.pk)
            .exclude(status=OrderStatus.FAILED)
            .exists()
        )
        if not others_open:
            from fulfillment.redemption import period_key

            done["code"] = _update(
                "UPDATE campaigns_code SET redemptions_left = redemptions_left + 1, status = 'active', "
                "redeemed_at = NULL WHERE id = %s AND status IN ('active', 'redeemed')",
                [redemption.code_id],
            )
            done["cardholder"] = _update(
                "UPDATE campaigns_cardholderusage SET used = used - 1 WHERE campaign_id = %s AND phone_digest = %s "
                "AND used > 0 AND period_key IN ('all', %s)",
                [campaign.pk, redemption.phone_digest, period_key(campaign.limit_period, redemption.created_at)],
            )
    OrderEvent.objects.create(order=order, kind="restored", from_status=order.status, to_status=order.status, data=done)
    return True
