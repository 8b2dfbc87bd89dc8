"""Fault drills: a real Celery worker, real Redis, the supplier simulator over HTTP.

After each drill: every order is terminal or in manual review, no supplier order number was
submitted twice and no next attempt was made without a proven failure (checked against the
simulator's own request log and order book), and no accepted redemption is lost. Counts are printed
(`pytest -s` shows them)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django_tenants.utils import schema_context

from fulfillment.engine import orders_sweep
from fulfillment.models import FulfilmentOrder, OrderStatus
from fulfillment.services import orders_start
from tests.conftest import BankUnderTest
from tests.fulfillment.support import drill_report, fulfilment_setup, orders_create
from tests.support.processes import celery_worker, wait_for
from tests.support.simulator import SimulatorHandle, supplier_simulator

pytestmark = pytest.mark.slow

SIMULATOR_PORT = 18410
REDIS_PORT = 18411

# fast engine timings for the drills (the worker gets them in its environment; the sweeper here reads them too)
TIMINGS = {
    "FULFIL_QUERY_FIRST_S": "0.5",
    "FULFIL_QUERY_MIN_INTERVAL_S": "0.5",
    "FULFIL_QUERY_MAX_INTERVAL_S": "1.5",
    "FULFIL_NOT_FOUND_GRACE_S": "3",
    "FULFIL_REVIEW_AFTER_S": "40",
    "FULFIL_SWEEP_GRACE_S": "2",
    "FULFIL_CALLBACK_BASE_URL": "none",  # lost callbacks: the engine must get there by queries alone
}
QUEUES = "fulfilment,queries,callbacks"


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with supplier_simulator(port=SIMULATOR_PORT, knobs={"latency_ms_min": 5, "latency_ms_max": 20}) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _timings(simulator: SimulatorHandle) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in TIMINGS}
    os.environ.update(TIMINGS)
    simulator.reset()
    simulator.set_knobs(query_min_delay_s=0.0, hang_s=2.0)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _settle(bank: BankUnderTest, order_ids: list[int], *, timeout: float) -> None:
    """Wait until every order is terminal or in manual review, sweeping like beat would."""
    done = {OrderStatus.SUCCEEDED, OrderStatus.FAILED, OrderStatus.MANUAL_REVIEW}

    def settled() -> bool:
        with schema_context(bank.schema):
            orders_sweep()
            return not FulfilmentOrder.objects.filter(pk__in=order_ids).exclude(status__in=done).exists()

    wait_for(settled, timeout=timeout, interval=1.0)


def _assert_safe(counts: dict[str, int], n: int) -> None:
    assert counts["orders"] == n and counts["lost"] == 0
    assert counts["not_terminal"] == 0
    assert counts["resubmitted_numbers"] == 0
    assert counts["failover_without_proof"] == 0
    assert counts["double_topups"] == 0
    # our view agrees with the supplier's: every order we call succeeded did succeed there, once
    assert counts["succeeded"] <= counts["succeeded_at_supplier"]


def test_drill_supplier_faults(committed_db: None, simulator: SimulatorHandle) -> None:
    """Timeouts, 5xx, slow "processing", asynchronous failures and lost callbacks, two suppliers."""
    bank = BankUnderTest(bank=_bank("alpha"), host="")
    setup = fulfilment_setup(bank, simulator.url)
    simulator.set_knobs(
        timeout_rate=0.15,
        server_error_rate=0.15,
        fail_rate=0.1,
        processing_ms_min=300,
        processing_ms_max=3000,
        latency_ms_min=20,
        latency_ms_max=80,
    )
    n = 40
    with celery_worker(queues=QUEUES, concurrency=4, pool="threads", extra_env=TIMINGS):
        order_ids = orders_create(setup, n)
        with schema_context(bank.schema):
            orders_start(order_ids=order_ids)
        _settle(bank, order_ids, timeout=120)
    counts = drill_report("supplier_faults", bank, order_ids, simulator)
    _assert_safe(counts, n)
    assert counts["succeeded"] >= n * 0.7
    assert counts["attempts"] > n  # some failed over


def test_drill_worker_killed_mid_submission(committed_db: None, simulator: SimulatorHandle) -> None:
    """`kill -9` of the worker while submissions are on the wire; a new worker and the sweeper finish."""
    bank = BankUnderTest(bank=_bank("alpha"), host="")
    setup = fulfilment_setup(bank, simulator.url, read_timeout_s=3.0)
    simulator.set_knobs(latency_ms_min=800, latency_ms_max=1200, processing_ms_min=100, processing_ms_max=300)
    n = 12
    order_ids = orders_create(setup, n)
    with celery_worker(queues=QUEUES, concurrency=4, pool="threads", extra_env=TIMINGS) as worker:
        with schema_context(bank.schema):
            orders_start(order_ids=order_ids)
        wait_for(lambda: _submits(simulator, order_ids) >= 2, timeout=30, interval=0.05)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    with schema_context(bank.schema):
        in_flight = FulfilmentOrder.objects.filter(pk__in=order_ids, status=OrderStatus.SUBMITTING).count()
    print(f"\nkilled the worker with {in_flight} submissions in flight")
    simulator.set_knobs(latency_ms_min=5, latency_ms_max=20)
    with celery_worker(queues=QUEUES, concurrency=4, pool="threads", extra_env=TIMINGS):
        _settle(bank, order_ids, timeout=120)
    counts = drill_report("worker_kill_9", bank, order_ids, simulator)
    _assert_safe(counts, n)
    assert in_flight >= 1
    assert counts["succeeded"] == n  # nothing failed at the supplier: every order must arrive exactly once


@contextmanager
def _own_redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
    )
    import redis

    wait_for(lambda: _pings(redis, port), timeout=10)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _pings(redis: Any, port: int) -> bool:
    try:
        return bool(redis.Redis(port=port).ping())
    except redis.exceptions.ConnectionError:
        return False


@contextmanager
def _broker(url: str) -> Iterator[None]:
    """Point this process's Celery producer at another broker for the duration."""
    from platform.celery import app

    saved = app.conf.broker_url, app.conf.broker_write_url

    def reset() -> None:  # the connection and producer pools are made lazily from the URLs
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = app.conf.broker_write_url = url
    reset()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_write_url = saved
        reset()


def test_drill_redis_restart(committed_db: None, simulator: SimulatorHandle) -> None:
    """The broker restarts (without persistence) while orders are queued and queries are counted down:
    the queued messages are gone; the sweeper finds every order and moves it on."""
    bank = BankUnderTest(bank=_bank("alpha"), host="")
    setup = fulfilment_setup(bank, simulator.url)
    simulator.set_knobs(processing_ms_min=1000, processing_ms_max=2000)
    broker = f"redis://127.0.0.1:{REDIS_PORT}/0"
    env = {**TIMINGS, "CELERY_BROKER_URL": broker}
    n = 20
    order_ids = orders_create(setup, n)
    with (
        _own_redis(REDIS_PORT) as redis_process,
        _broker(broker),
        celery_worker(queues=QUEUES, concurrency=2, pool="threads", extra_env=env),
    ):
        with schema_context(bank.schema):
            orders_start(order_ids=order_ids)
        wait_for(lambda: _submits(simulator, order_ids) >= 3, timeout=30, interval=0.05)
        redis_process.send_signal(signal.SIGKILL)
        redis_process.wait()
        time.sleep(1.0)
        with _own_redis(REDIS_PORT):
            _settle(bank, order_ids, timeout=120)
    counts = drill_report("redis_restart", bank, order_ids, simulator)
    _assert_safe(counts, n)
    assert counts["succeeded"] == n


def _submits(simulator: SimulatorHandle, order_ids: list[int]) -> int:
    """Submissions of these orders the simulator received (order numbers are `<schema>-<order id>-<n>`)."""
    mine = {str(i) for i in order_ids}
    parts = (str(r.get("order_no") or "").split("-") for r in simulator.requests(op="submit"))
    return sum(1 for p in parts if len(p) == 3 and p[1] in mine)


def _bank(slug: str):  # type: ignore[no-untyped-def]
    from tenants.models import Bank

    return Bank.objects.get(slug=slug)
