"""Both supplier adapters against the supplier simulator over real HTTP: what the fulfilment
engine sees for success, definite failure, timeouts, "processing then success" and every callback
fault the simulator can produce."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from fulfillment.suppliers import (
    Accepted,
    BalanceResult,
    CallbackRejected,
    CallbackRequest,
    NotFound,
    OrderState,
    OrderStatus,
    ProductInfo,
    Rejected,
    Statement,
    SubmitRequest,
    SubmitResult,
    Unknown,
    adapter_for,
    verify_callback,
)
from platform.crypto import encrypt
from rights_catalog.models import Supplier, SupplierAlert, SupplierCall
from rights_catalog.selectors import supplier_health
from rights_catalog.services import supplier_alerts_evaluate, supplier_credentials_set, supplier_health_check
from tests.support.processes import wait_for
from tests.support.simulator import (
    CallbackReceiver,
    SimulatorHandle,
    callback_receiver,
    simulator_credentials,
    supplier_simulator,
)

pytestmark = pytest.mark.slow

SIMULATOR_PORT = 18110
RECEIVER_PORT = 18111
DIALECTS = ["md5form", "hmacjson"]
ERROR_CODES = {
    "md5form": {"account": "2003", "offline": "2002", "stock": "2004"},
    "hmacjson": {"account": "INVALID_ACCOUNT", "offline": "SKU_UNAVAILABLE", "stock": "OUT_OF_STOCK"},
}


def _callback_supplier(dialect: str) -> Supplier:
    """An unsaved supplier for the receiver thread: verify_callback needs no database."""
    credentials = simulator_credentials(dialect)
    merchant_id = credentials.pop("merchant_id")
    return Supplier(
        code=f"cb-{dialect}",
        dialect=dialect,
        merchant_id=merchant_id,
        callback_ip_allowlist="127.0.0.1/32",
        credentials_encrypted=encrypt(json.dumps(credentials), context="supplier-credentials"),
    )


CALLBACK_SUPPLIERS = {dialect: _callback_supplier(dialect) for dialect in DIALECTS}


def _verify(request: CallbackRequest, remote_ip: str):  # type: ignore[no-untyped-def]
    dialect = request.path.split("/")[2]
    return verify_callback(CALLBACK_SUPPLIERS[dialect], request, remote_ip)


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorHandle]:
    with supplier_simulator(port=SIMULATOR_PORT, knobs={"latency_ms_min": 1, "latency_ms_max": 5}) as handle:
        yield handle


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    with callback_receiver(port=RECEIVER_PORT, verify=_verify) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _fresh_knobs(simulator: SimulatorHandle, receiver: CallbackReceiver) -> None:
    # fast defaults for tests: short processing, queries allowed soon, quick callback retries
    simulator.reset()
    simulator.set_knobs(
        processing_ms_min=100,
        processing_ms_max=150,
        query_min_delay_s=0.0,
        callback_retry_s=[0.1, 0.2, 0.3, 0.5, 1.0],
    )
    receiver.refuse_next = 0


def make_supplier(dialect: str, simulator: SimulatorHandle, **fields: Any) -> Supplier:
    credentials = simulator_credentials(dialect)
    supplier = Supplier.objects.create(
        code=f"sim-{dialect}-{uuid.uuid4().hex[:8]}",
        name=f"模拟供应商 {dialect}",
        dialect=dialect,
        endpoint=simulator.url,
        merchant_id=credentials.pop("merchant_id"),
        callback_ip_allowlist="127.0.0.1",
        read_timeout_s=fields.pop("read_timeout_s", 2.0),
        connect_timeout_s=0.5,
        **fields,
    )
    supplier_credentials_set(supplier=supplier, credentials=credentials)
    return supplier


def order_number() -> str:
    return f"T{uuid.uuid4().hex[:20].upper()}"


def submit(
    supplier: Supplier,
    receiver: CallbackReceiver,
    number: str,
    *,
    sku: str = "MOBILE-CM-100",
    account: str = "13812345678",
) -> SubmitResult:
    return adapter_for(supplier).submit(
        SubmitRequest(
            order_number=number,
            supplier_sku=sku,
            account=account,
            amount_fen=10_000,
            callback_url=receiver.url(f"/cb/{supplier.dialect}/{number}"),
        )
    )


def final_callbacks(receiver: CallbackReceiver, number: str, count: int = 1, timeout: float = 5.0) -> list:  # type: ignore[type-arg]
    wait_for(lambda: len(receiver.for_order(number)) >= count, timeout=timeout)
    return receiver.for_order(number)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_order_accepted_then_succeeds_by_callback_and_by_query(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    number = order_number()

    result = submit(supplier, receiver, number)

    assert isinstance(result, Accepted)
    assert result.state == OrderState.PROCESSING and result.supplier_order_id and not result.duplicate
    [callback] = final_callbacks(receiver, number)
    assert callback.event.status.state == OrderState.SUCCEEDED
    assert callback.event.status.amount_fen == 10_000
    assert callback.event.status.supplier_order_id == result.supplier_order_id
    queried = adapter_for(supplier).query(number)
    assert isinstance(queried, OrderStatus) and queried.state == OrderState.SUCCEEDED
    # acknowledged at the first attempt: the supplier stops calling
    wait_for(lambda: [c["outcome"] for c in simulator.callbacks(number)] == ["acked"])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_refused_account_is_a_definite_rejection(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(reject_accounts=["13900000000"])

    result = submit(supplier, receiver, order_number(), account="13900000000")

    assert isinstance(result, Rejected)
    assert result.code == ERROR_CODES[dialect]["account"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unavailable_product_is_a_definite_rejection(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(reject_rate=1.0)

    result = submit(supplier, receiver, order_number())

    assert isinstance(result, Rejected)
    assert result.code == ERROR_CODES[dialect]["offline"] and result.reason


@pytest.mark.parametrize("dialect", DIALECTS)
def test_accepted_order_that_fails_later_is_reported_failed(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(fail_accounts=["13700000000"])
    number = order_number()

    assert isinstance(submit(supplier, receiver, number, account="13700000000"), Accepted)

    [callback] = final_callbacks(receiver, number)
    assert callback.event.status.state == OrderState.FAILED
    assert callback.event.status.reason
    queried = adapter_for(supplier).query(number)
    assert isinstance(queried, OrderStatus) and queried.state == OrderState.FAILED


@pytest.mark.parametrize("dialect", DIALECTS)
def test_timeout_after_sending_is_unknown_and_never_a_rejection(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator, read_timeout_s=0.5)
    simulator.set_knobs(timeout_rate=1.0, hang_s=2.0)
    number = order_number()

    started = time.monotonic()
    result = submit(supplier, receiver, number)

    assert isinstance(result, Unknown)
    assert time.monotonic() - started < 1.5
    # the supplier did take it: a query (not a resubmission) tells the truth
    simulator.set_knobs(timeout_rate=0.0)
    wait_for(lambda: isinstance(q := adapter_for(supplier).query(number), OrderStatus) and q.state == "succeeded")
    assert len(simulator.requests(order_no=number, op="submit")) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
def test_server_error_is_unknown_and_query_finds_nothing(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(server_error_rate=1.0)
    number = order_number()

    assert isinstance(submit(supplier, receiver, number), Unknown)
    assert adapter_for(supplier).query(number) == NotFound(order_number=number)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_resubmitting_the_same_order_number_answers_the_first_order(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    number = order_number()
    first = submit(supplier, receiver, number)
    balance_after_first = simulator._admin("GET", "/_sim/balance")["balance_fen"][dialect]

    second = submit(supplier, receiver, number)

    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert second.duplicate and second.supplier_order_id == first.supplier_order_id
    assert len(simulator.requests(order_no=number, op="submit")) == 2
    # charged once
    assert simulator._admin("GET", "/_sim/balance")["balance_fen"][dialect] == balance_after_first


@pytest.mark.parametrize("dialect", DIALECTS)
def test_processing_then_success_by_query(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(processing_ms_min=1200, processing_ms_max=1200, callback_loss_rate=1.0)
    number = order_number()
    assert isinstance(submit(supplier, receiver, number), Accepted)

    early = adapter_for(supplier).query(number)
    assert isinstance(early, OrderStatus) and early.state == OrderState.PROCESSING

    time.sleep(1.3)
    late = adapter_for(supplier).query(number)
    assert isinstance(late, OrderStatus) and late.state == OrderState.SUCCEEDED


def test_md5form_query_too_early_is_unknown_with_a_wait(
    simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier("md5form", simulator)
    simulator.set_knobs(query_min_delay_s=5.0)
    number = order_number()
    assert isinstance(submit(supplier, receiver, number), Accepted)

    result = adapter_for(supplier).query(number)

    assert isinstance(result, Unknown)
    assert result.retry_after_s is not None and 3 < result.retry_after_s <= 5


def test_query_delay_configured_on_the_supplier_is_respected_without_asking(
    simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier("md5form", simulator, query_delay_s=60)
    number = order_number()

    result = adapter_for(supplier).query(number, submitted_at=timezone.now() - timedelta(seconds=10))

    assert isinstance(result, Unknown) and result.retry_after_s == pytest.approx(50, abs=2)
    assert simulator.requests(order_no=number, op="query") == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_lost_callback_leaves_the_query(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(callback_loss_rate=1.0)
    number = order_number()
    assert isinstance(submit(supplier, receiver, number), Accepted)

    wait_for(lambda: [c["outcome"] for c in simulator.callbacks(number)] == ["lost"])
    time.sleep(0.3)
    assert receiver.all_for(number) == []
    queried = adapter_for(supplier).query(number)
    assert isinstance(queried, OrderStatus) and queried.state == OrderState.SUCCEEDED


@pytest.mark.parametrize("dialect", DIALECTS)
def test_duplicate_callbacks_carry_the_same_final_status(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(callback_duplicates=2)
    number = order_number()
    submit(supplier, receiver, number)

    callbacks = final_callbacks(receiver, number, count=3)

    assert len({(c.event.status.state, c.event.status.supplier_order_id) for c in callbacks}) == 1
    assert callbacks[0].event.status.state == OrderState.SUCCEEDED


@pytest.mark.parametrize("dialect", DIALECTS)
def test_out_of_order_callback_arrives_stale_after_the_final_one(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(callback_out_of_order=True)
    number = order_number()
    submit(supplier, receiver, number)

    callbacks = final_callbacks(receiver, number, count=2)

    assert [c.event.status.state for c in callbacks] == [OrderState.SUCCEEDED, OrderState.PROCESSING]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_wrong_signature_callback_is_rejected_and_the_genuine_retry_accepted(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    simulator.set_knobs(callback_bad_signature_rate=1.0)
    number = order_number()
    submit(supplier, receiver, number)

    [genuine] = final_callbacks(receiver, number)

    assert genuine.event.status.state == OrderState.SUCCEEDED
    assert [c.rejected for c in receiver.all_for(number)] == ["callback.bad_signature", ""]
    wait_for(lambda: [c["outcome"] for c in simulator.callbacks(number)] == ["not_acked", "acked"])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unacknowledged_callback_is_retried_until_acknowledged(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    receiver.refuse_next = 2
    number = order_number()
    submit(supplier, receiver, number)

    final_callbacks(receiver, number, count=3)

    wait_for(lambda: [c["outcome"] for c in simulator.callbacks(number)] == ["not_acked", "not_acked", "acked"])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_callback_from_an_unlisted_address_is_refused(dialect: str) -> None:
    supplier = _callback_supplier(dialect)
    with pytest.raises(CallbackRejected) as raised:
        verify_callback(supplier, CallbackRequest(body=b"", path=f"/cb/{dialect}/x"), "10.1.2.3")
    assert raised.value.code == "callback.forbidden_ip"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_card_secret_products_issue_card_secrets(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    number = order_number()
    submit(supplier, receiver, number, sku="EC-CARD-JD100", account="")

    [callback] = final_callbacks(receiver, number)

    [card] = callback.event.status.card_secrets
    assert len(card.number) == 16 and len(card.pin) == 12
    queried = adapter_for(supplier).query(number)
    assert isinstance(queried, OrderStatus) and queried.card_secrets == (card,)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_balance_goes_down_and_stock_runs_out(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    adapter = adapter_for(supplier)
    before = adapter.balance()
    assert isinstance(before, BalanceResult)
    submit(supplier, receiver, order_number())
    after = adapter.balance()
    assert isinstance(after, BalanceResult) and after.balance_fen == before.balance_fen - 10_000

    sku = f"COFFEE-CARD-{uuid.uuid4().hex[:6]}"
    simulator.set_stock(sku=sku, stock=1, price_fen=2_800)
    info = adapter.product_check(sku)
    assert info == ProductInfo(supplier_sku=sku, available=True, stock=1, cost_fen=2_800)
    assert isinstance(submit(supplier, receiver, order_number(), sku=sku), Accepted)
    assert adapter.product_check(sku) == ProductInfo(supplier_sku=sku, available=False, stock=0, cost_fen=2_800)
    result = submit(supplier, receiver, order_number(), sku=sku)
    assert isinstance(result, Rejected) and result.code == ERROR_CODES[dialect]["stock"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_daily_statement_lists_finished_orders_with_amounts(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    number = order_number()
    submit(supplier, receiver, number)
    final_callbacks(receiver, number)

    statement = adapter_for(supplier).statement(timezone.localdate())

    assert isinstance(statement, Statement)
    [line] = [line for line in statement.lines if line.order_number == number]
    assert line.amount_fen == 10_000 and line.state == OrderState.SUCCEEDED


@pytest.mark.parametrize("dialect", DIALECTS)
def test_wrong_credentials_are_refused_by_the_supplier(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    supplier_credentials_set(supplier=supplier, credentials={"key": "nope", "secret": "nope"})

    result = submit(supplier, receiver, order_number())

    assert isinstance(result, Rejected)
    assert result.code == {"md5form": "1001", "hmacjson": "INVALID_SIGNATURE"}[dialect]


def test_unreachable_supplier_is_not_sent_and_safe_to_fail_over(db: None) -> None:
    supplier = Supplier.objects.create(
        code="nowhere",
        name="不可达",
        dialect="hmacjson",
        endpoint="http://127.0.0.1:18119",
        merchant_id="x",
        connect_timeout_s=0.5,
    )
    supplier_credentials_set(supplier=supplier, credentials={"secret": "s"})

    result = adapter_for(supplier).submit(
        SubmitRequest(order_number="N1", supplier_sku="X", account="13812345678", amount_fen=100)
    )

    assert isinstance(result, Rejected) and result.code == "network.not_sent"
    assert isinstance(adapter_for(supplier).query("N1"), Unknown)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_call_feeds_the_health_figures(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator)
    submit(supplier, receiver, order_number())
    simulator.set_knobs(reject_rate=1.0)
    submit(supplier, receiver, order_number())

    health = supplier_health(supplier=supplier, window=timedelta(hours=1))

    assert SupplierCall.objects.filter(supplier=supplier, operation="submit").count() == 2
    assert health["submits"] == 2 and health["success_rate"] == 50.0
    assert health["p50_ms"] is not None and health["p95_ms"] >= health["p50_ms"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_low_balance_opens_one_alert_until_topped_up(
    dialect: str, simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    supplier = make_supplier(dialect, simulator, balance_alert_fen=50_000)
    simulator.set_balance(dialect=dialect, balance_fen=30_000)

    opened = supplier_health_check(supplier=supplier)
    again = supplier_health_check(supplier=supplier)

    assert [a.kind for a in opened] == ["balance_low"] and again == []
    assert supplier.balance_fen == 30_000
    simulator.set_balance(dialect=dialect, balance_fen=80_000)
    supplier_health_check(supplier=supplier)
    assert not SupplierAlert.objects.filter(supplier=supplier, resolved_at__isnull=True).exists()


def test_low_success_rate_opens_an_alert(simulator: SimulatorHandle, receiver: CallbackReceiver, db: None) -> None:
    supplier = make_supplier("hmacjson", simulator, success_rate_alert_percent=80)
    simulator.set_knobs(reject_rate=1.0)
    for _ in range(3):
        submit(supplier, receiver, order_number())

    opened = supplier_alerts_evaluate(supplier=supplier, min_submits=3)

    assert [a.kind for a in opened] == ["success_rate_low"]
    assert "0.0%" in opened[0].message


def test_periodic_health_check_runs_once_per_interval(
    simulator: SimulatorHandle, receiver: CallbackReceiver, db: None
) -> None:
    from platform.redis import get_redis
    from rights_catalog.tasks import suppliers_health_check

    get_redis().delete("rights_catalog:health-check-lease")
    supplier = make_supplier("md5form", simulator)

    assert suppliers_health_check() >= 1
    assert suppliers_health_check() == 0  # another bank's copy of the same beat entry
    supplier.refresh_from_db()
    assert supplier.balance_fen is not None and supplier.balance_checked_at is not None
