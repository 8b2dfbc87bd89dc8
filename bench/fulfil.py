"""Fulfilment throughput: N orders (default 2,000) from redemption to success through real Celery
workers to the supplier simulator over HTTP at 50 ms supplier latency, with the same run's baseline
of bare Celery no-op tasks on the same workers.

Each order is the real path: the redemption and its order committed (one transaction per
redemption, as H5 confirms commit; `--burst` commits several together), `orders_start` on commit,
the engine's collector and drain tasks (attempt rows committed as `submitting`, the signed supplier
requests sent side by side, the answers recorded under the orders' row locks), success, the arrival
SMS queued in the outbox, the usage recorded for billing and the bank's webhooks recorded. The
simulator answers direct top-ups synchronously (`processing_ms` 0, as most 直充 APIs do for
in-stock products); `--processing-ms` makes them asynchronous (then a status query finishes them).

Run: `python -m bench.fulfil [--orders N] [--workers 2] [--threads 4]` with DATABASE_URL and
REDIS_URL set (a database `<DATABASE_URL name>_fulfil_bench` is created afresh on that server; the
Redis database of REDIS_URL is flushed; the simulator listens on port 18420). Last line: JSON with
orders, per_s, p50_s, p99_s, baseline_per_s.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR_PORT = 18420


def _start_workers(count: int, threads: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "platform.celery", "worker", "-Q", "fulfilment,queries",
             "--pool=threads", f"--concurrency={threads}", "--loglevel=WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat", f"--hostname=fulfilbench{i}-{os.getpid()}@%h"],
            cwd=ROOT, env=env)
        for i in range(count)
    ]  # fmt: skip


def _start_simulator(latency_ms: int, processing_ms: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    knobs = {
        "latency_ms_min": latency_ms,
        "latency_ms_max": latency_ms,
        "processing_ms_min": processing_ms,
        "processing_ms_max": processing_ms,
        "query_min_delay_s": 0,
    }
    command = [
        sys.executable,
        "manage.py",
        "run_supplier_simulator",
        "--port",
        str(SIMULATOR_PORT),
        "--balance-fen",
        str(10**12),
    ]
    for name, value in knobs.items():
        command += ["--knob", f"{name}={json.dumps(value)}"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{SIMULATOR_PORT}/_sim/health", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("simulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="Celery threads per worker (each drain task is a batch)")
    parser.add_argument("--burst", type=int, default=1, help="redemptions committed together")
    parser.add_argument("--confirmers", type=int, default=8, help="threads committing redemptions side by side")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--processing-ms", type=int, default=0)
    parser.add_argument("--baseline", type=int, default=0, help="no-op tasks for the baseline (default N)")
    args = parser.parse_args()
    baseline_n = args.baseline or args.orders

    from bench.common import setup_django

    base_name = os.environ.get("DATABASE_URL", "quanyi").rsplit("/", 1)[-1].split("?")[0] or "quanyi"
    setup_django(f"{base_name}_fulfil_bench")

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.models import User
    from campaigns.phones import phone_digest, phone_mask, phone_seal
    from campaigns.services import campaign_create, campaign_set_items, campaign_transition
    from fulfillment.models import FulfilmentOrder, OrderStatus
    from fulfillment.services import orders_start
    from fulfillment.simulator.server import DEFAULT_CREDENTIALS
    from fulfillment.tasks import bench_noop_task
    from platform.crypto import encrypt
    from platform.redis import get_redis
    from rights_catalog.models import BankPrice, Category, RightsProduct, Supplier, SupplierOffer
    from rights_catalog.services import supplier_credentials_set
    from tenants.models import Bank
    from tenants.services import NewBankAdmin, bank_create, template_ensure

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()
    bank = Bank.objects.filter(slug="fulfilbench").first() or bank_create(
        slug="fulfilbench", name="压测银行", admin=NewBankAdmin(username="admin", password="Bench-pass-12345")
    )
    category, _ = Category.objects.get_or_create(code="bench-topup", defaults={"name": "话费"})
    product = RightsProduct.objects.create(
        sku=f"BENCH-{uuid.uuid4().hex[:6]}",
        name="话费30元",
        category=category,
        face_value_fen=3000,
        list_price_fen=3000,
        delivery_type="direct",
        account_format="mobile",
    )
    BankPrice.objects.create(bank=bank, product=product, price_fen=2900)
    creds = dict(DEFAULT_CREDENTIALS["md5form"])
    supplier = Supplier.objects.create(
        code=f"bench-{uuid.uuid4().hex[:6]}",
        name="压测供应商",
        dialect="md5form",
        endpoint=f"http://127.0.0.1:{SIMULATOR_PORT}",
        merchant_id=creds.pop("merchant_id"),
        read_timeout_s=5.0,
    )
    supplier_credentials_set(supplier=supplier, credentials=creds)
    SupplierOffer.objects.create(product=product, supplier=supplier, supplier_sku="MOBILE-CM-30", cost_fen=2850)
    with schema_context(bank.schema_name):
        admin = User.objects.get(username="admin")
        now = timezone.now()
        campaign = campaign_create(
            actor=admin,
            data={
                "name": "压测活动",
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(days=30),
                "budget_fen": 2900 * args.orders * 2,
                "budget_count": args.orders * 2,
                "valid_days": 30,
                "eligibility": "both",
                "sms_text": "您的兑换码 ${code}，点击 ${link} 领取",
                "requires_otp": False,
                "arrival_text": "请到手机营业厅查询。",
            },
        )
        campaign_set_items(campaign=campaign, bank=bank, product_ids=[product.pk], actor=admin)
        campaign = campaign_transition(campaign=campaign, bank=bank, action="launch", actor=admin)

    redis = get_redis()
    redis.flushdb()
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="platform.settings",
        FULFIL_CALLBACK_BASE_URL="none",
        FULFIL_QUERY_FIRST_S="0.2",
        FULFIL_QUERY_MIN_INTERVAL_S="0.2",
    )
    simulator = _start_simulator(args.latency_ms, args.processing_ms, env)
    workers = _start_workers(args.workers, args.threads, env)
    try:
        time.sleep(6)  # workers up
        with schema_context(bank.schema_name):
            started = time.perf_counter()
            for _ in range(baseline_n):
                bench_noop_task.apply_async(kwargs={"counter": "bench:noop"}, queue="fulfilment")
            while int(redis.get("bench:noop") or 0) < baseline_n:
                time.sleep(0.02)
            baseline_s = time.perf_counter() - started
        baseline_per_s = baseline_n / baseline_s
        print(
            f"baseline: {baseline_n} no-op tasks enqueued and drained in {baseline_s:.2f} s = "
            f"{baseline_per_s:.0f}/s ({args.workers} workers × {args.threads} threads)"
        )

        phone = "13812345678"
        digest, masked = phone_digest(phone), phone_mask(phone)
        with schema_context(bank.schema_name):
            sealed = phone_seal(phone)
            account = encrypt("13900000000", context=f"account:{bank.schema_name}")

        # the rows an H5 confirm writes (redemption, order, "created" event), in one statement so the
        # feeder's own cost stays small next to the engine's; the confirm itself is bench/redeem.py's
        insert = """
            WITH r AS (
              INSERT INTO fulfillment_redemption (phone_encrypted, phone_digest, phone_masked, branch_code,
                submission_key, access_token, units, amount_fen, status, created_at, campaign_id, code_id)
              SELECT %(sealed)s, %(digest)s, %(masked)s, '', md5(random()::text) || i, md5(random()::text) || i,
                1, 2900, 'fulfilling', now(), %(campaign)s, i
              FROM unnest(%(codes)s::bigint[]) AS i RETURNING id
            ), o AS (
              INSERT INTO fulfillment_fulfilmentorder (redemption_id, campaign_id, product_id, price_fen,
                account_encrypted, account_masked, status, attempt_count, card_secret_encrypted, created_at,
                updated_at)
              SELECT r.id, %(campaign)s, %(product)s, 2900, %(account)s, '139****0000', 'created', 0, '', now(),
                now() FROM r RETURNING id
            ), e AS (
              INSERT INTO fulfillment_orderevent (order_id, kind, from_status, to_status, data, created_at)
              SELECT o.id, 'created', '', 'created', '{}', now() FROM o
            )
            SELECT id FROM o"""

        def confirm(first: int) -> None:
            """One burst of redemptions (one, by default) committed like an H5 confirm, then handed on."""
            params: dict[str, Any] = {
                "sealed": sealed,
                "digest": digest,
                "masked": masked,
                "campaign": campaign.pk,
                "product": product.pk,
                "account": account,
                "codes": list(range(first + 1, min(args.orders, first + args.burst) + 1)),
            }
            with schema_context(bank.schema_name), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(insert, params)
                ids = [row[0] for row in cursor.fetchall()]
                transaction.on_commit(functools.partial(orders_start, order_ids=ids))

        def confirmer(firsts: list[int]) -> None:
            try:
                for first in firsts:
                    confirm(first)
            finally:
                connection.close()

        with schema_context(bank.schema_name):
            started = time.perf_counter()
            firsts = list(range(0, args.orders, args.burst))
            with ThreadPoolExecutor(max_workers=args.confirmers) as pool:  # like web workers side by side
                list(pool.map(confirmer, [firsts[i :: args.confirmers] for i in range(args.confirmers)]))
            created_s = time.perf_counter() - started
            done_states = [OrderStatus.SUCCEEDED, OrderStatus.FAILED, OrderStatus.MANUAL_REVIEW]
            while (done := FulfilmentOrder.objects.filter(status__in=done_states).count()) < args.orders:
                time.sleep(0.1)
                if any(w.poll() is not None for w in workers):
                    raise SystemExit("a worker died")
                if time.perf_counter() - started > 600:
                    raise SystemExit(f"only {done} of {args.orders} orders finished in 600 s")
            elapsed = time.perf_counter() - started
            rows = list(FulfilmentOrder.objects.values_list("status", "redemption__created_at", "finished_at"))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        simulator.terminate()
        simulator.wait(timeout=10)
        redis.flushdb()
    from bench.common import emit, percentile

    succeeded = sum(1 for status, _c, _f in rows if status == OrderStatus.SUCCEEDED)
    latencies = [(f - c).total_seconds() for status, c, f in rows if status == OrderStatus.SUCCEEDED and f]
    per_s = args.orders / elapsed
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(
        f"{args.orders} orders redeemed (all committed after {created_s:.1f} s) and fulfilled in {elapsed:.1f} s "
        f"= {per_s:.0f} orders/s; succeeded {succeeded}; redemption→success p50 {p50:.3f} s, p99 {p99:.3f} s; "
        f"supplier latency {args.latency_ms} ms; ratio to the bare Celery baseline {per_s / baseline_per_s:.2f}"
    )
    emit(
        {
            "orders": args.orders,
            "per_s": round(per_s, 1),
            "p50_s": round(p50, 3),
            "p99_s": round(p99, 3),
            "baseline_per_s": round(baseline_per_s, 1),
        }
    )


if __name__ == "__main__":
    main()
