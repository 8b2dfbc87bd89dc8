"""Billing: recording usage (per order), reporting it to the fake Stripe (rows/s; two meter events
per row), and generating a month's statement PDF over those rows.

Run: `python -m bench.billing [--orders 2000] [--stripe-port 18320]` (uses DATABASE_URL's server, in
a database `quanyi_bench_billing`; starts the fake Stripe on the given port).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import requests

from bench.common import ROOT, emit, percentile, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--stripe-port", type=int, default=18320)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.stripe_port}"
    os.environ["STRIPE_API_BASE"] = base
    os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-media"))
    setup_django("quanyi_bench_billing")
    fake = subprocess.Popen(
        [sys.executable, "manage.py", "run_fake_stripe", "--port", str(args.stripe_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/_fake/health", timeout=0.5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        run(args.orders)
    finally:
        fake.terminate()
        fake.wait()


def run(orders: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from billing import services
    from billing.models import Plan
    from billing.selectors import local_zone, month_start
    from tenants.services import bank_create, template_ensure

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()
    bank = bank_create(slug="bench-billing", name="压测银行")
    plan = Plan.objects.create(code="bench", name="压测套餐", monthly_fee_fen=300_000, fee_per_right_fen=80)
    services.account_open(bank=bank, plan=plan)

    now = timezone.now()
    start = datetime.combine(month_start(now), datetime.min.time(), tzinfo=local_zone())
    span = max((now - start).total_seconds() - 60, 60)
    record_times = []
    for index in range(orders):
        started = time.perf_counter()
        services.usage_record_order_succeeded(
            bank=bank,
            order_ref=f"BENCH-{index:06d}",
            campaign_ref=f"cmp-{index % 5}",
            campaign_name=f"压测活动 {index % 5}",
            product_sku=f"SKU-{index % 12}",
            product_name=f"压测权益 {index % 12}",
            price_fen=1_000 + index % 4_000,
            occurred_at=start + timedelta(seconds=span * index / orders),
        )
        record_times.append(time.perf_counter() - started)

    started = time.perf_counter()
    reported = 0
    while True:
        result = services.usage_report_pending()
        reported += result.reported
        if not result.reported:
            break
    report_s = time.perf_counter() - started

    started = time.perf_counter()
    statement = services.statement_generate(bank=bank, month=month_start(now))
    statement_s = time.perf_counter() - started
    print(
        f"{orders} orders: record p50 {percentile(record_times, 50) * 1000:.2f} ms, p95 "
        f"{percentile(record_times, 95) * 1000:.2f} ms; reported {reported} rows in {report_s:.1f} s "
        f"({reported / report_s:.0f} rows/s); statement in {statement_s:.2f} s "
        f"({len(statement.data['days'])} days, total {statement.total_fen} fen)"
    )
    emit(
        {
            "orders": orders,
            "record_p50_ms": round(percentile(record_times, 50) * 1000, 3),
            "record_p95_ms": round(percentile(record_times, 95) * 1000, 3),
            "report_rows_per_s": round(reported / report_s, 1),
            "statement_s": round(statement_s, 3),
        }
    )


if __name__ == "__main__":
    main()
