"""Demo data for billing: plans, a billing account per demo bank (synced to the local fake Stripe),
last month's usage and its statement PDF; and the fake Stripe as a child of `manage.py demo`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests
from django.conf import settings
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, Plan, Statement, StatementStatus
from billing.selectors import local_zone, month_start
from platform.errors import ApplicationError
from tenants.models import Bank
from tenants.services import bank_host

ROOT = Path(__file__).resolve().parent.parent
PLANS = [
    {"code": "standard", "name": "标准套餐", "monthly_fee_fen": 300_000, "fee_per_right_fen": 80, "tax_rate_bp": 600},
    {
        "code": "enterprise",
        "name": "企业套餐",
        "monthly_fee_fen": 1_000_000,
        "fee_per_right_fen": 50,
        "tax_rate_bp": 600,
    },
]
CAMPAIGNS = [("demo-first-swipe", "新户首刷礼"), ("demo-instalment", "分期有礼")]
PRODUCTS = [
    ("TOPUP-CM-50", "移动话费直充 50 元", 4_880),
    ("VIDEO-TX-M", "腾讯视频 VIP 月卡", 1_650),
    ("COFFEE-LK", "瑞幸咖啡饮品券", 1_290),
]


def fake_stripe_start() -> subprocess.Popen[bytes] | None:
    """Start the fake Stripe for the demo unless Stripe is configured elsewhere or it already runs."""
    base = f"http://127.0.0.1:{settings.FAKE_STRIPE_PORT}"
    if base != settings.STRIPE_API_BASE:
        return None
    try:
        if requests.get(f"{base}/_fake/health", timeout=0.5).ok:
            return None
    except requests.RequestException:
        pass
    state = ROOT / "var" / "fake-stripe.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "manage.py", "run_fake_stripe", "--port", str(settings.FAKE_STRIPE_PORT)]
    process = subprocess.Popen(  # noqa: S603 - our own command
        [*command, "--state-file", str(state)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/_fake/health", timeout=0.5).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    return process


def seed_plans() -> list[str]:
    for spec in PLANS:
        Plan.objects.get_or_create(code=spec["code"], defaults=spec)
    return []


def seed_bank(bank: Bank) -> list[str]:
    """A billing account, last month's orders as usage, and last month's statement."""
    seed_plans()
    account = BillingAccount.objects.filter(bank=bank).first()
    note = ""
    if account is None:
        try:
            account = services.account_open(
                bank=bank,
                plan=Plan.objects.get(code="standard"),
                email=f"billing@{bank.slug}.example.com",
                credit_limit_fen=5_000_000,
            )
        except ApplicationError as error:
            note = f"（Stripe 同步失败：{error.message}）"
    this_month = month_start(timezone.now())
    last_month = (datetime.combine(this_month, datetime.min.time()) - timedelta(days=1)).date().replace(day=1)
    start = datetime.combine(last_month, datetime.min.time(), tzinfo=local_zone())
    for index in range(24):
        campaign_ref, campaign_name = CAMPAIGNS[index % 2]
        sku, name, price = PRODUCTS[index % 3]
        services.usage_record_order_succeeded(
            bank=bank,
            order_ref=f"DEMO-{last_month:%Y%m}-{index:03d}",
            campaign_ref=campaign_ref,
            campaign_name=campaign_name,
            product_sku=sku,
            product_name=name,
            price_fen=price,
            occurred_at=start + timedelta(days=index, hours=10 + index % 8),
        )
    statement = Statement.objects.filter(bank=bank, month=last_month, status=StatementStatus.READY).first()
    if statement is None:
        statement = services.statement_generate(bank=bank, month=last_month)
    port = os.environ.get("PORT", "8000")
    return [
        f"  {bank.name:<12} 账单     http://{bank_host(bank.slug)}:{port}/console/billing/"
        f"   （{last_month:%Y-%m} 对账单 PDF，管理员/审计可见）{note}"
    ]
