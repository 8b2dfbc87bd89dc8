"""Billing's real servers for tests: the project's fake Stripe and moto's S3, each a subprocess on
this suite's ports, plus factories for plans, accounts and orders."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from billing.models import BillingAccount, Plan
from billing.selectors import local_zone, month_start
from tests.support.processes import ROOT, process_env, wait_for

FAKE_STRIPE_PORT = 18301
MOTO_PORT = 18302


def _serve(command: list[str], health_url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, cwd=ROOT, env=process_env(), stdout=subprocess.DEVNULL)

    def healthy() -> bool:
        try:
            return requests.get(health_url, timeout=0.5).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, timeout=30)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def fake_stripe_server(django_db_setup) -> Iterator[str]:  # type: ignore[no-untyped-def]
    base = f"http://127.0.0.1:{FAKE_STRIPE_PORT}"
    yield from (
        base
        for _process in _serve(
            [sys.executable, "manage.py", "run_fake_stripe", "--port", str(FAKE_STRIPE_PORT)], f"{base}/_fake/health"
        )
    )


@pytest.fixture
def fake_stripe(fake_stripe_server: str, settings: Any) -> Iterator[str]:
    """The stripe library of this process pointed at the fake (as development settings do)."""
    settings.STRIPE_API_BASE = fake_stripe_server
    yield fake_stripe_server
    requests.post(
        f"{fake_stripe_server}/_fake/faults",
        json={"meter_events_fail_before": 0, "meter_events_fail_after": 0},
        timeout=5,
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    base = f"http://127.0.0.1:{MOTO_PORT}"
    yield from (
        base
        for _process in _serve(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(MOTO_PORT)], f"{base}/moto-api/"
        )
    )


def make_plan(code: str = "standard", **fields: Any) -> Plan:
    defaults = {"name": "标准套餐", "monthly_fee_fen": 500_000, "fee_per_right_fen": 50, "tax_rate_bp": 600}
    return Plan.objects.create(code=code, **{**defaults, **fields})


def make_account(bank: Any, plan: Plan, **fields: Any) -> BillingAccount:
    """An account as if already synced (no Stripe call): for tests of webhooks, credit, consoles."""
    defaults = {"stripe_customer_id": f"cus_test_{bank.slug}", "status": "active"}
    return BillingAccount.objects.create(bank=bank, plan=plan, **{**defaults, **fields})


def moments_this_month(count: int) -> list[datetime]:
    """`count` moments spread over the current month (Asia/Shanghai) up to now, oldest first."""
    now = timezone.now()
    start = datetime.combine(month_start(now), datetime.min.time(), tzinfo=local_zone())
    span = max((now - start).total_seconds() - 120, 60)
    return [start + timedelta(seconds=int(span * (i + 1) / (count + 1))) for i in range(count)]
