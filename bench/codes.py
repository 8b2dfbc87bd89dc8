"""Generate and durably store 1,000,000 codes for one campaign (the same service the background job
runs), with the same run's baseline: a plain COPY of 1,000,000 random strings into a bare table.

Run: `python -m bench.codes [--codes N]` (database `quanyi_bench_codes` on DATABASE_URL's server).
"""

from __future__ import annotations

import argparse
import secrets
import time
from datetime import timedelta

from bench.common import emit, peak_rss_mb, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django("quanyi_bench_codes")

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns import bulk
    from campaigns.models import Campaign, Code, CodeBatch, GrantSource
    from campaigns.services import code_batch_generate
    from tenants.services import bank_create, template_ensure

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()
    bank = bank_create(slug="bench-codes", name="压测银行")

    with schema_context(bank.schema_name):
        # baseline: COPY of random strings into a bare table, same server, same transaction shape
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, value text NOT NULL)")
        started = time.perf_counter()
        with transaction.atomic():
            raw = bulk.raw_connection()
            with raw.cursor() as cursor, cursor.copy("COPY bench_baseline (value) FROM STDIN") as copy:
                for _chunk in range(0, args.codes, 20_000):
                    copy.write("".join(secrets.token_urlsafe(10) + "\n" for _i in range(20_000)).encode())
        baseline_s = time.perf_counter() - started

        now = timezone.now()
        campaign = Campaign.objects.create(name="压测活动", starts_at=now, ends_at=now + timedelta(days=30))
        batch = CodeBatch.objects.create(campaign=campaign, source=GrantSource.POOL, requested_count=args.codes)
        started = time.perf_counter()
        code_batch_generate(batch_id=batch.pk)
        wall_s = time.perf_counter() - started
        stored = Code.objects.filter(batch=batch).count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) - count(DISTINCT digest) FROM campaigns_code")
            duplicates = cursor.fetchone()[0]

    print(
        f"{stored:,} codes stored in {wall_s:.2f} s ({stored / wall_s:,.0f} codes/s), peak RSS {peak_rss_mb():.0f} MB, "
        f"duplicates {duplicates}; baseline plain COPY of {args.codes:,} strings {baseline_s:.2f} s"
    )
    emit(
        {
            "codes": stored,
            "wall_s": round(wall_s, 2),
            "codes_per_s": round(stored / wall_s),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "duplicates": duplicates,
            "baseline_copy_s": round(baseline_s, 2),
        }
    )


if __name__ == "__main__":
    main()
