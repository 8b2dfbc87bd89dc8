"""Redemptions through the real H5 endpoints of a production-configured gunicorn server.

Phase 1 (`flow_per_s`): 32 clients run whole cardholder flows (landing → code and phone → choice →
confirm page → confirm) for 30 s. Phase 2 (`per_s`, latencies): the same clients first walk sessions
up to the confirm page, then for 30 s fire only the confirming requests, each of which runs the
redemption transaction. Baseline: the same server's bare view doing one indexed SELECT and one
UPDATE, under the same 32 clients for 10 s.

Run: `python -m bench.redeem [--clients 32] [--seconds 30]` (database `quanyi_bench_redeem`).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import timedelta

from bench.common import emit, percentile, production_server, setup_django

PORT = 18060
HOST = "bench.quanyi.localhost"
KEY_RE = re.compile(rb'name="submission_key" value="([^"]+)"')


class Client:
    """One keep-alive connection with its own cookies, like one phone's browser."""

    def __init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes, str]:
        headers = {"Host": HOST, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            raise
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data, response.getheader("Location") or ""

    def prepare(self, code: str, phone: str, product_id: int) -> str | None:
        """Landing to confirm page; returns the submission key, or None if a step failed."""
        self.cookies.pop("sessionid", None)
        if "csrftoken" not in self.cookies:
            self.request("GET", "/")
        status, _, _ = self.request("POST", "/redeem/", {"code": code, "phone": phone})
        if status != 302:
            return None
        status, _, _ = self.request("POST", "/redeem/choose/", {"product": str(product_id)})
        if status != 302:
            return None
        status, page, _ = self.request("GET", "/redeem/confirm/")
        match = KEY_RE.search(page)
        return match.group(1).decode() if match else None

    def confirm(self, key: str) -> bool:
        status, _, location = self.request("POST", "/redeem/confirm/", {"submission_key": key})
        return status == 302 and location.startswith("/p/")


def run_clients(clients: int, seconds: float, work: Callable[[int, Client], None]) -> None:
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        client = Client()
        while time.monotonic() < stop:
            work(index, client)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--codes", type=int, default=60_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    setup_django("quanyi_bench_redeem")

    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.models import User
    from campaigns import bulk
    from campaigns.codes import code_format
    from campaigns.services import campaign_create, campaign_set_items, campaign_transition
    from platform.redis import get_redis
    from rights_catalog.models import BankPrice, Category, RightsProduct
    from tenants.services import NewBankAdmin, bank_create, template_ensure

    get_redis().flushdb()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()
    bank = bank_create(slug="bench", name="压测银行", admin=NewBankAdmin(username="admin", password="Bench-pass-2026"))
    category = Category.objects.create(code="coffee", name="咖啡")
    product = RightsProduct.objects.create(
        sku="BENCH-COFFEE",
        name="咖啡券",
        category=category,
        face_value_fen=3000,
        list_price_fen=3000,
        delivery_type="card_secret",
        account_format="none",
    )
    BankPrice.objects.create(bank=bank, product=product, price_fen=2500)
    with schema_context(bank.schema_name):
        admin = User.objects.get(username="admin")
        now = timezone.now()
        campaign = campaign_create(
            actor=admin,
            data={
                "name": "压测活动",
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(days=1),
                "budget_fen": 2500 * args.codes,
                "budget_count": args.codes,
                "requires_otp": False,
                "eligibility": "whitelist",
                "sms_text": "兑换码 ${code}",
            },
        )
        campaign_set_items(campaign=campaign, bank=bank, product_ids=[product.pk], actor=admin)
        campaign_transition(campaign=campaign, bank=bank, action="launch", actor=admin)
        codes = bulk.pool_codes_write(
            campaign=campaign,
            count=args.codes,
            valid_from=now - timedelta(minutes=5),
            valid_until=now + timedelta(days=1),
        )
        code_ids = list(campaign.codes.order_by("pk").values_list("pk", flat=True)[:1000])
    from django.db import connections

    connections.close_all()

    server = production_server(port=PORT, workers=args.workers, extra_env={"BENCH_BASELINE_VIEW": "1"})
    try:
        code_iter = iter(codes)
        lock = threading.Lock()

        def next_code() -> str | None:
            with lock:
                return next(code_iter, None)

        # phase 1: whole flows
        flows = [0]
        flow_errors = [0]

        def whole_flow(index: int, client: Client) -> None:
            code = next_code()
            if code is None:
                time.sleep(0.01)
                return
            key = client.prepare(code_format(code), f"135{index:04d}{flows[0] % 10000:04d}", product.pk)
            ok = key is not None and client.confirm(key)
            with lock:
                flows[0] += ok
                flow_errors[0] += not ok

        started = time.monotonic()
        run_clients(args.clients, args.seconds, whole_flow)
        flow_per_s = flows[0] / (time.monotonic() - started)
        print(f"whole flows: {flows[0]} in {args.seconds:.0f} s = {flow_per_s:.1f}/s, errors {flow_errors[0]}")

        # phase 2: prepare sessions, then only confirms
        prepared: list[list[tuple[Client, str]]] = [[] for _i in range(args.clients)]
        target = int(args.seconds * 500 / args.clients) + 10

        def prepare(index: int) -> None:
            deadline = time.monotonic() + 300
            while len(prepared[index]) < target and time.monotonic() < deadline:
                code = next_code()
                if code is None:
                    return
                fresh = Client()
                key = fresh.prepare(code_format(code), f"136{index:04d}{len(prepared[index]):04d}", product.pk)
                if key is not None:
                    prepared[index].append((fresh, key))

        prep_started = time.monotonic()
        workers = [threading.Thread(target=prepare, args=(i,)) for i in range(args.clients)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        print(f"prepared {sum(map(len, prepared))} sessions in {time.monotonic() - prep_started:.0f} s")
        latencies: list[float] = []
        errors = [0]

        def confirm_only(index: int, _client: Client) -> None:
            if not prepared[index]:
                time.sleep(0.01)
                return
            client, key = prepared[index].pop()
            began = time.perf_counter()
            try:
                ok = client.confirm(key)
            except (OSError, http.client.HTTPException):
                ok = False
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                errors[0] += not ok

        started = time.monotonic()
        run_clients(args.clients, args.seconds, confirm_only)
        span = time.monotonic() - started
        confirmed = len(latencies) - errors[0]
        per_s = confirmed / span
        print(
            f"confirms: {confirmed} in {span:.1f} s = {per_s:.1f}/s, p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p95 {percentile(latencies, 95) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms, "
            f"errors {errors[0]}"
        )

        # baseline: bare SELECT + UPDATE view, same server, same clients
        base_latencies: list[float] = []

        def bare(index: int, client: Client) -> None:
            began = time.perf_counter()
            client.request("GET", f"/bench/baseline/{code_ids[index % len(code_ids)]}")
            with lock:
                base_latencies.append(time.perf_counter() - began)

        started = time.monotonic()
        run_clients(args.clients, min(10.0, args.seconds), bare)
        baseline_per_s = len(base_latencies) / (time.monotonic() - started)
        print(
            f"baseline bare SELECT+UPDATE view: {baseline_per_s:.0f}/s, p99 "
            f"{percentile(base_latencies, 99) * 1000:.1f} ms; redemption/baseline = {per_s / baseline_per_s:.2f}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    emit(
        {
            "clients": args.clients,
            "per_s": round(per_s, 1),
            "flow_per_s": round(flow_per_s, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p95_ms": round(percentile(latencies, 95) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "errors": errors[0] + flow_errors[0],
            "baseline_per_s": round(baseline_per_s, 1),
            "baseline_p99_ms": round(percentile(base_latencies, 99) * 1000, 1),
        }
    )


if __name__ == "__main__":
    main()
