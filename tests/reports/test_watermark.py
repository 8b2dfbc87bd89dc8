"""Ids commit out of order: a row whose transaction took id 10 may become visible after id 11 was
folded. The fold must count it anyway (and only once). Real separate connections, committed rows."""

from __future__ import annotations

import uuid

import psycopg
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.models import Campaign, Grant
from reports import selectors
from reports.fold import fold_run
from reports.models import FoldState
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest


def _connect(schema: str, *, autocommit: bool) -> psycopg.Connection:
    db = connection.settings_dict
    conn = psycopg.connect(
        dbname=str(db["NAME"]),
        user=str(db["USER"]),
        password=str(db["PASSWORD"] or "") or None,
        host=str(db["HOST"]),
        port=str(db["PORT"] or 5432),
        autocommit=autocommit,
    )
    conn.execute(f"SET search_path = {schema}, public")
    return conn


def _grant_sql(conn: psycopg.Connection, campaign_id: int, branch: str) -> int:
    row = conn.execute(
        "INSERT INTO campaigns_grant (campaign_id, phone_encrypted, phone_digest, phone_masked, branch_code, "
        "customer_ref, source, created_at) VALUES (%s, 'x', %s, '139****0000', %s, '', 'api', now()) RETURNING id",
        [campaign_id, uuid.uuid4().bytes, branch],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _granted(campaign: Campaign) -> int:
    return int(selectors.campaign_figures(campaign=campaign, scope=selectors.Scope()).totals["granted"])


def test_a_row_committed_after_higher_ids_were_folded_is_still_counted_once(committed_db) -> None:  # type: ignore[no-untyped-def]
    from tenants.models import Bank
    from tenants.services import bank_host

    alpha = BankUnderTest(bank=Bank.objects.get(slug="alpha"), host=bank_host("alpha"))
    campaign = launched_campaign(alpha, sku=f"RPT-WM-{uuid.uuid4().hex[:6]}", name=f"水位 {uuid.uuid4().hex[:6]}")
    slow = _connect(alpha.schema, autocommit=False)  # takes its id first, commits last
    fast = _connect(alpha.schema, autocommit=True)
    try:
        early_id = _grant_sql(slow, campaign.pk, "SLOW")
        late_id = _grant_sql(fast, campaign.pk, "FAST")
        assert early_id < late_id
        with schema_context(alpha.schema):
            fold_run()  # sees only the later id
            assert _granted(campaign) == 1
            fold_run()  # the slow transaction is still open: nothing below it may be sealed
            state = FoldState.objects.get(source="campaigns_grant")
            assert state.sealed_id < early_id
            assert _granted(campaign) == 1
        slow.commit()
        with schema_context(alpha.schema):
            fold_run()
            assert _granted(campaign) == 2
            fold_run()
            fold_run()
            assert FoldState.objects.get(source="campaigns_grant").sealed_id >= late_id
            assert _granted(campaign) == 2 == Grant.objects.filter(campaign=campaign).count()
            branches = {
                row["branch_code"]: row["granted"]
                for row in selectors.campaign_figures(campaign=campaign, scope=selectors.Scope()).by_branch
            }
            assert branches == {"SLOW": 1, "FAST": 1}
    finally:
        slow.close()
        fast.close()
