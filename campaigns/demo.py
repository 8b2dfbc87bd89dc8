"""Demo campaigns for README command 1: a live campaign per demo bank with codes to try on the H5."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from campaigns import bulk
from campaigns.codes import code_format
from campaigns.models import Campaign, GrantSource
from campaigns.services import campaign_create, campaign_set_items, campaign_transition, grant_create
from tenants.models import Bank

DEMO_PHONE = "13800138000"


def seed(bank: Bank) -> list[str]:
    from rights_catalog.selectors import bank_price_list

    if Campaign.objects.exists():
        return []
    prices = bank_price_list(bank=bank)
    topups = [p for p in prices if p.product.account_format == "mobile" and p.product.delivery_type == "direct"]
    others = [p for p in prices if p.product.account_format == "none"]
    if not topups:
        return []
    admin = User.objects.get(username="admin")
    now = timezone.now()
    first_swipe = campaign_create(
        actor=admin,
        data={
            "name": "新客首刷礼",
            "description": "新户首笔消费满 188 元送话费",
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=60),
            "budget_fen": topups[0].price_fen * 200,
            "budget_count": 200,
            "valid_days": 30,
            "eligibility": "both",
            "requires_otp": False,
            "per_cardholder_limit": 1,
            "sms_text": "尊敬的客户，您的首刷礼${right_name}兑换码${code}，点击 ${link} 领取，${expiry}前有效。",
            "arrival_text": "话费已充值，请留意运营商短信。",
            "rules_text": (
                "1. 活动期间新户首笔消费满 188 元可获赠话费一份。\n2. 每位持卡人限领一次。\n3. 兑换码 30 天内有效。"
            ),
        },
    )
    campaign_set_items(campaign=first_swipe, bank=bank, product_ids=[topups[0].product_id], actor=admin)
    campaign_transition(campaign=first_swipe, bank=bank, action="launch", actor=admin)
    granted = grant_create(
        campaign_id=first_swipe.pk, bank=bank, phone=DEMO_PHONE, source=GrantSource.API, actor_label="demo"
    )
    from campaigns.delivery import grant_codes_send

    grant_codes_send(grant=granted.grant, codes=granted.codes)
    lines = [f"  {bank.name} demo: code {code_format(granted.codes[0])} for phone {DEMO_PHONE} (新客首刷礼)"]
    if len(others) >= 3:
        choose = campaign_create(
            actor=admin,
            data={
                "name": "分期好礼 三选二",
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=90),
                "package_kind": "choose",
                "choose_count": 2,
                "budget_fen": 1_000_000,
                "budget_count": 200,
                "eligibility": "whitelist",
                "requires_otp": True,
                "sms_text": "分期好礼兑换码${code}，${link}",
                "rules_text": "分期满 6 期可在以下权益中任选两项。",
            },
        )
        campaign_set_items(campaign=choose, bank=bank, product_ids=[p.product_id for p in others[:3]], actor=admin)
        campaign_transition(campaign=choose, bank=bank, action="launch", actor=admin)
        pool = bulk.pool_codes_write(
            campaign=choose, count=5, valid_from=now - timedelta(minutes=1), valid_until=now + timedelta(days=30)
        )
        lines.append(
            f"  {bank.name} demo: pool code {code_format(pool[0])} for any phone (分期好礼 三选二, "
            "one-time SMS code printed by the console SMS backend)"
        )
    return lines
