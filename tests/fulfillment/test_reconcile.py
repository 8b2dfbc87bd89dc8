"""Reconciliation against the simulator's statement: missing, extra and amount mismatches are flagged
once; matching orders are not."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from fulfillment import engine
from fulfillment.models import AttemptStatus, FulfilmentAttempt, FulfilmentOrder, OrderStatus, ReconciliationFlag
from fulfillment.reconcile import CHINA, reconcile_day
from fulfillment.suppliers import SubmitRequest, adapter_for
from tests.conftest import BankUnderTest
from tests.fulfillment.support import fulfilment_setup, orders_create
from tests.support.simulator import SimulatorHandle, supplier_simulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with supplier_simulator(
        port=18412, knobs={"latency_ms_min": 1, "latency_ms_max": 3, "processing_ms_min": 0, "processing_ms_max": 0}
    ) as handle:
        yield handle


def test_statement_differences_are_flagged_once(
    bank_a: BankUnderTest, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULFIL_CALLBACK_BASE_URL", "none")
    setup = fulfilment_setup(bank_a, simulator.url, dialects=("md5form",))
    ok, extra, missing, amount = orders_create(setup, 4)
    supplier = setup.suppliers[0]
    with schema_context(bank_a.schema):
        for order_id in (ok, extra):
            assert engine.order_submit(order_id=order_id) == "succeeded"
        # we believe `extra` failed (say a query lied), the supplier's statement says success
        FulfilmentAttempt.objects.filter(order_id=extra).update(status=AttemptStatus.FAILED)
        # `missing`: we count it succeeded, the supplier never saw it
        FulfilmentAttempt.objects.create(
            order_id=missing,
            number=1,
            order_number=f"bankalpha-{missing}-1",
            supplier=supplier,
            supplier_sku="X",
            cost_fen=1,
            status=AttemptStatus.SUCCEEDED,
            resolved_at=timezone.now(),
        )
        # `amount`: the supplier booked another amount than the product's face value
        number = f"bankalpha-{amount}-1"
        adapter_for(supplier).submit(
            SubmitRequest(order_number=number, supplier_sku="MOBILE-CM-30", account="13900000000", amount_fen=5000)
        )
        FulfilmentAttempt.objects.create(
            order_id=amount,
            number=1,
            order_number=number,
            supplier=supplier,
            supplier_sku="X",
            cost_fen=1,
            status=AttemptStatus.SUCCEEDED,
            resolved_at=timezone.now(),
        )
        day = datetime.now(CHINA).date()
        counts = reconcile_day(day=day)[supplier.code]
        again = reconcile_day(day=day)[supplier.code]
        flags = {(f.order_number.split("-")[1], f.kind) for f in ReconciliationFlag.objects.filter(supplier=supplier)}
        assert FulfilmentOrder.objects.get(pk=ok).status == OrderStatus.SUCCEEDED
    assert counts is not None and again is not None
    assert (counts["missing"], counts["extra"], counts["amount_mismatch"]) == (1, 1, 1)
    assert (again["missing"], again["extra"], again["amount_mismatch"]) == (0, 0, 0)
    assert flags == {(str(missing), "missing"), (str(extra), "extra"), (str(amount), "amount_mismatch")}
    assert os.environ["FULFIL_CALLBACK_BASE_URL"] == "none"
