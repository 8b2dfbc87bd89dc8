"""SMS launch throughput: N personalised messages (default 1,000,000) from a launch batch through
the outbox to the in-memory provider fake with no rate cap, sent by real Celery workers
(subprocesses, `--pool=solo`), with the same run's baseline of bare enqueue-and-drain of no-op tasks.

Run: `python -m bench.sms [--messages N] [--workers 2] [--baseline N]` with DATABASE_URL and
REDIS_URL set (a database `<DATABASE_URL name>_sms_bench` is created afresh on that server; the
Redis database of REDIS_URL is flushed). Prints messages/s, peak worker memory (VmHWM of every
worker process), and a last line of JSON: messages, per_s, peak_rss_mb, baseline_per_s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def synthetic_recipients(
    *, count: int, seed: str, after: str | None = None
) -> Iterator[tuple[str, dict[str, str], str]]:
    """The batch source of the benchmark: distinct numbers, personal params, resumable by key."""
    start = int(after.rsplit(":", 1)[1]) + 1 if after else 0
    for i in range(start, count):
        yield (
            f"13{i:09d}",
            {
                "right_name": f"视频会员月卡{i % 7}",
                "code": f"K{i:08X}",
                "link": f"https://b.cn/s/{i:x}",
                "expiry": "12-31",
            },
            f"bench:{seed}:{i:09d}",
        )


synthetic_recipients.count = lambda *, count, seed: count  # type: ignore[attr-defined]


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: what the workers cost, whatever else runs."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    workers = []
    for i in range(count):
        command = [
            sys.executable, "-m", "celery", "-A", "platform.celery", "worker", "-Q", "sms,bulk",
            "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
            f"--hostname=smsbench{i}-{os.getpid()}@%h",
        ]  # fmt: skip
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env))
    return workers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=0, help="no-op tasks for the baseline (default min(N, 3000))")
    args = parser.parse_args()
    baseline_n = args.baseline or min(args.messages, 3000)

    from bench.common import setup_django

    base_name = os.environ.get("DATABASE_URL", "quanyi").rsplit("/", 1)[-1].split("?")[0] or "quanyi"
    setup_django(f"{base_name}_sms_bench")

    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from messaging.backends import test as fake
    from messaging.models import SmsKind, SmsMessage, SmsStatus
    from messaging.services import provider_account_save, sms_batch_create
    from messaging.tasks import sms_bench_noop_task
    from platform.redis import get_redis
    from tenants.models import Bank
    from tenants.services import bank_create, template_ensure

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()
    bank = Bank.objects.filter(slug="smsbench").first() or bank_create(slug="smsbench", name="压测银行")
    redis = get_redis()
    redis.flushdb()
    env = dict(os.environ, PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="platform.settings")
    workers = _start_workers(args.workers, env)
    try:
        time.sleep(6)  # workers up
        # --- baseline: bare enqueue-and-drain of no-op tasks on the same workers
        with schema_context(bank.schema_name):
            started = time.perf_counter()
            for _ in range(baseline_n):
                sms_bench_noop_task.apply_async(kwargs={"counter": "bench:noop"}, queue="sms")
            while int(redis.get("bench:noop") or 0) < baseline_n:
                time.sleep(0.05)
            baseline_s = time.perf_counter() - started
        baseline_per_s = baseline_n / baseline_s
        print(f"baseline: {baseline_n} no-op tasks enqueued and drained in {baseline_s:.1f} s = {baseline_per_s:.0f}/s")

        # --- the launch
        namespace = f"bench-{int(time.time())}"
        with schema_context(bank.schema_name):
            provider_account_save(
                backend="test",
                name="bench fake",
                credentials={"namespace": namespace, "record": False},
                rate_per_s=0,
                promotional_daily_max=3,
                quiet_start_hour=0,
                quiet_end_hour=0,
            )
            cpu_before = sum(_cpu_seconds(w.pid) for w in workers)
            started = time.perf_counter()
            batch = sms_batch_create(
                name="bench launch",
                source="bench.sms.synthetic_recipients",
                source_kwargs={"count": args.messages, "seed": namespace},
                template_key="code_delivery",
                kind=SmsKind.CODE_DELIVERY,
            )
            last_report = started
            while fake.received_count(f"test:{namespace}") < args.messages:
                time.sleep(0.2)
                if time.perf_counter() - last_report > 30:
                    last_report = time.perf_counter()
                    done = fake.received_count(f"test:{namespace}")
                    rss = max(_peak_rss_mb(w.pid) for w in workers)
                    print(f"  {done} sent after {last_report - started:.0f} s; worker peak so far {rss:.0f} MB")
                if any(w.poll() is not None for w in workers):
                    raise SystemExit("a worker died")
            # the provider fake has them all; done when every row is recorded `sent` in the outbox
            while (sent := SmsMessage.objects.filter(batch=batch, status=SmsStatus.SENT).count()) < args.messages:
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            worker_cpu = sum(_cpu_seconds(w.pid) for w in workers) - cpu_before
            peaks = [_peak_rss_mb(w.pid) for w in workers]
            other = SmsMessage.objects.filter(batch=batch).exclude(status=SmsStatus.SENT).count()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        redis.flushdb()
    per_s = args.messages / elapsed
    print(
        f"{args.messages} messages expanded, sent and recorded in {elapsed:.1f} s = {per_s:.0f} messages/s "
        f"with {args.workers} solo workers; rows sent {sent}, not sent {other}; "
        f"peak worker RSS {', '.join(f'{p:.0f}' for p in peaks)} MB"
    )
    print(
        f"worker CPU {worker_cpu:.0f} s = {1e6 * worker_cpu / args.messages:.0f} µs per message "
        f"({args.messages / max(worker_cpu, 1e-9):.0f} messages per worker-CPU-second; PostgreSQL not included); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    figures: dict[str, Any] = {
        "messages": args.messages,
        "per_s": round(per_s, 1),
        "peak_rss_mb": round(max(peaks), 1),
        "baseline_per_s": round(baseline_per_s, 1),
    }
    from bench.common import emit

    emit(figures)


if __name__ == "__main__":
    main()
