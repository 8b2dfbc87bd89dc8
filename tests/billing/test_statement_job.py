"""Statement generation is a background job: the console asks, a Celery worker (queue `billing`)
renders and stores the PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, Plan, Statement, StatementStatus, UsageRecord
from billing.selectors import month_start
from tenants.models import Bank
from tests.support.processes import celery_worker, wait_for

pytestmark = pytest.mark.slow


def test_a_requested_statement_is_generated_by_a_worker(committed_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bank = Bank.objects.get(slug="beta")
    plan = Plan.objects.create(code="job-h8", name="任务套餐", monthly_fee_fen=100_000, fee_per_right_fen=20)
    account = BillingAccount.objects.create(bank=bank, plan=plan, stripe_customer_id="cus_job")
    try:
        services.usage_record_order_succeeded(
            bank=bank,
            order_ref="JOB-1",
            campaign_ref="cmp-job",
            campaign_name="分期礼",
            product_sku="SKU-JOB",
            product_name="咖啡券",
            price_fen=1_800,
            occurred_at=timezone.now(),
        )
        month = month_start(timezone.now())
        with celery_worker(queues="billing", extra_env={"MEDIA_ROOT": str(tmp_path)}):
            statement = services.statement_request(bank=bank, month=month)
            assert statement.status == StatementStatus.PENDING

            def ready() -> Statement | None:
                return Statement.objects.filter(pk=statement.pk, status=StatementStatus.READY).first()

            done = wait_for(ready, timeout=60)
        assert isinstance(done, Statement)
        assert done.total_fen == (100_000 + 1_820) + (101_820 * 600 + 5000) // 10000
        assert (tmp_path / done.pdf_name).read_bytes().startswith(b"%PDF")
    finally:
        Statement.objects.filter(bank=bank).delete()
        UsageRecord.objects.filter(bank=bank).delete()
        account.delete()
        plan.delete()
