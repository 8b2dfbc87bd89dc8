"""Billing's real servers for tests: the project's fake Stripe and moto's S3, each a subprocess on
this suite's ports, plus factories for plans, accounts and orders."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from billing.models import BillingAccount, Plan
from billing.selectors import local_zone, month_start
from tests.support.processes import ROOT, process_env, process_stop, wait_for

# this suite's ports: the first free one of each range (another run of the suite may hold one)
FAKE_STRIPE_PORTS = range(18301, 18320)
MOTO_PORTS = range(18340, 18360)


def _free_port(ports: range) -> int:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {ports}")


@contextmanager
def _serve(command: list[str], health_url: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, cwd=ROOT, env=process_env(), stdout=subprocess.DEVNULL)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{command[1:4]} exited with {process.returncode}")
        try:
            return requests.get(health_url, timeout=0.5).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, timeout=60)
        yield process
    finally:
        process_stop(process)


@pytest.fixture(scope="session")
def fake_stripe_server(django_db_setup) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = _free_port(FAKE_STRIPE_PORTS)
    base = f"http://127.0.0.1:{port}"
    with _serve([sys.executable, "manage.py", "run_fake_stripe", "--port", str(port)], f"{base}/_fake/health"):
        yield base


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
    port = _free_port(MOTO_PORTS)
    base = f"http://127.0.0.1:{port}"
    with _serve([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], f"{base}/moto-api/"):
        yield base


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
