"""A 1,000,000-row whitelist (CSV) imported into one campaign: validation pass, then grants and
codes by COPY in one transaction, with the progress a card centre sees sampled while it runs.

Run: `python -m bench.whitelist [--rows N]` (database `quanyi_bench_whitelist`).
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from datetime import timedelta

from bench.common import emit, peak_rss_mb, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django("quanyi_bench_whitelist")

    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns.models import Campaign, Code, Grant
    from campaigns.progress import progress_get
    from campaigns.whitelist import whitelist_import_create, whitelist_import_run
    from tenants.services import bank_create, template_ensure

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()
    bank = bank_create(slug="bench-wl", name="白名单压测银行")
    phones = random.sample(range(13_000_000_000, 13_999_999_999), args.rows)
    content = ("手机号,网点\n" + "".join(f"{p},BR{p % 50:02d}\n" for p in phones)).encode()
    del phones
    with schema_context(bank.schema_name):
        now = timezone.now()
        campaign = Campaign.objects.create(
            name="白名单压测",
            starts_at=now,
            ends_at=now + timedelta(days=30),
            budget_count=args.rows,
            budget_fen=args.rows * 3000,
            status="draft",
        )
        job = whitelist_import_create(
            campaign=campaign, file_name="whitelist.csv", content=ContentFile(content), actor=None
        )
        del content
        samples: list[str] = []
        done = threading.Event()

        def watch() -> None:
            from django_tenants.utils import schema_context as ctx

            with ctx(bank.schema_name):
                while not done.wait(5):
                    progress = progress_get("whitelist", job.pk)
                    if progress:
                        samples.append(f"{progress['phase']} {progress['done']:,}")

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.perf_counter()
        job = whitelist_import_run(import_id=job.pk)
        wall = time.perf_counter() - started
        done.set()
        grants, codes = Grant.objects.filter(campaign=campaign).count(), Code.objects.filter(campaign=campaign).count()
    print(f"progress seen: {'; '.join(samples) or '(finished before the first sample)'}")
    print(
        f"{args.rows:,} rows → status {job.status}, {grants:,} grants and {codes:,} codes in {wall:.1f} s "
        f"({args.rows / wall:,.0f} rows/s), peak RSS {peak_rss_mb():.0f} MB"
    )
    emit(
        {
            "rows": args.rows,
            "status": job.status,
            "grants": grants,
            "codes": codes,
            "wall_s": round(wall, 1),
            "rows_per_s": round(args.rows / wall),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main()
