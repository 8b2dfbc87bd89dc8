"""Demo data for the dashboards: two weeks of a campaign's history (grants across four branches,
their texts, opened links, redemptions), folded at once; the beat folds the rest every minute."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

from django.utils import timezone

from accounts.models import Role, User
from campaigns.models import Campaign, Code, Grant
from tenants.models import Bank
from tenants.services import bank_host

BRANCHES = ("BR01", "BR02", "BR03", "BR04")


def seed(bank: Bank) -> list[str]:
    from campaigns.delivery import grant_codes_send
    from campaigns.services import grant_create
    from fulfillment.models import Redemption
    from fulfillment.redemption import Choice, redemption_confirm
    from platform.demo import DEMO_PASSWORD
    from reports.fold import fold_run, h5_open_record

    campaign = Campaign.objects.filter(name="新客首刷礼").first()
    if campaign is None:
        return []
    if not User.objects.filter(username="branch").exists():
        User.objects.create_user(
            username="branch", password=DEMO_PASSWORD, role=Role.BRANCH_MANAGER, branch_code="BR01"
        )
    if campaign.grants.count() < 5:
        product_id = campaign.items.values_list("product_id", flat=True).first()
        now = timezone.now()
        for index in range(36):
            phone = f"1391234{index:04d}"
            result = grant_create(
                campaign_id=campaign.pk,
                bank=bank,
                phone=phone,
                branch_code=BRANCHES[index % len(BRANCHES)],
                actor_label="demo",
            )
            grant_codes_send(grant=result.grant, codes=result.codes)
            days_ago = 13 - index % 14
            Grant.objects.filter(pk=result.grant.pk).update(created_at=now - timedelta(days=days_ago, hours=2))
            code = Code.objects.filter(grant=result.grant).order_by("part").first()
            if code is None or product_id is None or index % 5 == 4:
                continue
            h5_open_record(code_id=code.pk)
            if index % 3 == 2:
                continue
            redemption = redemption_confirm(
                code_id=code.pk,
                phone=phone,
                choices=[Choice(product_id=product_id, account=phone)],
                submission_key=uuid.uuid4().hex,
                ip="127.0.0.1",
            )
            Redemption.objects.filter(pk=redemption.pk).update(
                created_at=now - timedelta(days=days_ago, hours=2) + timedelta(hours=1 + index % 30)
            )
    fold_run()
    port = os.environ.get("PORT", "8000")
    host = bank_host(bank.slug)
    return [
        f"  {bank.name:<12} 活动数据 http://{host}:{port}/console/reports/campaigns/{campaign.pk}/"
        "   （admin 看全部网点；branch 只看 BR01；数据每分钟汇总）",
        f"  {bank.name:<12} 数据总览 http://{host}:{port}/console/reports/",
    ]


def seed_public() -> list[str]:
    from django.conf import settings

    port = os.environ.get("PORT", "8000")
    return [f"  平台运营总览     http://{settings.PLATFORM_HOST}:{port}/operations/   （platform 登录）"]
