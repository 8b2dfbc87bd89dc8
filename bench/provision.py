"""Bank provisioning: time to create one bank (p50/p95 over 50), and a no-op `migrate_schemas` over
200 banks, with the same run's baseline of a bare `CREATE SCHEMA` (p95 over 50).

Run: `python -m bench.provision` (uses DATABASE_URL's server, in a database `quanyi_bench_provision`).
"""

from __future__ import annotations

import argparse
import time

from bench.common import emit, percentile, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--create", type=int, default=50)
    parser.add_argument("--banks", type=int, default=200)
    args = parser.parse_args()
    setup_django("quanyi_bench_provision")

    from django.core.management import call_command
    from django.db import connection

    from tenants.services import bank_create, template_ensure

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()

    baseline = []
    for i in range(args.create):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "baseline_{i}"')
        baseline.append(time.perf_counter() - started)

    create = []
    for i in range(args.banks):
        started = time.perf_counter()
        bank_create(slug=f"bench-{i:04d}", name=f"压测银行{i}")
        elapsed = time.perf_counter() - started
        if i < args.create:
            create.append(elapsed)
    print(
        f"created {args.banks} banks; first {args.create}: p50 {percentile(create, 50) * 1000:.1f} ms, "
        f"p95 {percentile(create, 95) * 1000:.1f} ms; bare CREATE SCHEMA p95 {percentile(baseline, 95) * 1000:.2f} ms"
    )

    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    migrate_noop = time.perf_counter() - started
    print(f"no-op migrate_schemas over {args.banks} banks (+ public and template): {migrate_noop:.1f} s")

    emit(
        {
            "create_p50_s": round(percentile(create, 50), 4),
            "create_p95_s": round(percentile(create, 95), 4),
            "migrate_noop_200_s": round(migrate_noop, 2),
            "baseline_create_schema_p95_s": round(percentile(baseline, 95), 5),
        }
    )


if __name__ == "__main__":
    main()
