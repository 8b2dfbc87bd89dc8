"""Supplier adapter + simulator throughput: N orders per dialect submitted over real HTTP by T
threads to the supplier simulator (a subprocess, no added latency, instant processing), every
result called back to a local receiver that verifies the signature and acknowledges.

Run: `python -m bench.suppliers [--orders 2000] [--threads 8] [--port 18190]` with DATABASE_URL and
REDIS_URL set (no database rows are written). Prints per dialect: submits/s, submit p50/p95 ms,
seconds until every callback was acknowledged; last line JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform.settings")


def main() -> None:
    import django

    django.setup()
    from fulfillment.simulator.server import DEFAULT_CREDENTIALS
    from fulfillment.suppliers import DIALECTS, Accepted, CallbackRequest, SubmitRequest, SupplierConfig
    from tests.support.processes import wait_for
    from tests.support.simulator import callback_receiver, supplier_simulator

    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=18190)
    args = parser.parse_args()
    knobs = {"latency_ms_min": 0, "latency_ms_max": 0, "processing_ms_min": 0, "processing_ms_max": 0}
    results: dict[str, Any] = {}
    adapters = {}
    for dialect, adapter_class in DIALECTS.items():
        credentials = dict(DEFAULT_CREDENTIALS[dialect])
        adapters[dialect] = adapter_class(
            config=SupplierConfig(
                code=dialect,
                endpoint=f"http://127.0.0.1:{args.port}",
                merchant_id=credentials.pop("merchant_id"),
                credentials=credentials,
            )
        )

    def verify(request: CallbackRequest, remote_ip: str) -> Any:
        return adapters[request.path.split("/")[2]].parse_callback(request)

    with (
        supplier_simulator(port=args.port, knobs=knobs, seed=1),
        callback_receiver(port=args.port + 1, verify=verify) as receiver,
    ):
        for dialect, adapter in adapters.items():
            run = uuid.uuid4().hex[:6]

            def one(i: int, adapter: Any = adapter, dialect: str = dialect, run: str = run) -> float:
                number = f"B{run}{i:07d}"
                started = time.perf_counter()
                result = adapter.submit(
                    SubmitRequest(
                        order_number=number,
                        supplier_sku="PHONE-CM-100",
                        account="13812345678",
                        amount_fen=10_000,
                        callback_url=receiver.url(f"/cb/{dialect}/{number}"),
                    )
                )
                assert isinstance(result, Accepted), result
                return (time.perf_counter() - started) * 1000

            started = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                latencies = sorted(pool.map(one, range(args.orders)))
            submit_s = time.perf_counter() - started

            def acknowledged(dialect: str = dialect, run: str = run) -> bool:
                with receiver.lock:
                    done = sum(
                        1
                        for c in receiver.received
                        if c.event is not None and c.event.status.order_number.startswith(f"B{run}")
                    )
                return done >= args.orders

            wait_for(acknowledged, timeout=600, interval=0.2)
            all_s = time.perf_counter() - started
            results[dialect] = {
                "orders": args.orders,
                "submits_per_s": round(args.orders / submit_s, 1),
                "submit_p50_ms": round(statistics.median(latencies), 1),
                "submit_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
                "all_callbacks_acked_s": round(all_s, 2),
            }
            print(dialect, results[dialect], file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
