"""The campaign dashboard at scale: a bank with 10,000,000 codes and 1,000,000 redemptions.

Seeding runs in the database (`INSERT … SELECT generate_series`: the rows never cross the wire;
secondary indexes are dropped and rebuilt around the load and foreign-key triggers skipped, as a
restore would): 10M codes,
2M grants, 2M code texts with their events, 1M redemptions with their orders and order events, over
60 days and 20 branches. Then the real fold (`reports.fold_run`) runs twice (the first records the
sequences' values, the second seals them) and a production-configured gunicorn serves the console:
the campaign dashboard is loaded 50 times by a signed-in admin (p50/p95), and the console home
page 50 times as the same run's baseline of a trivial page.

Run: `python -m bench.dashboard [--codes 10000000] [--redemptions 1000000] [--loads 50]`
(database `quanyi_bench_dashboard`). Last line: one JSON object with `p50_ms`, `p95_ms`,
`baseline_p95_ms` and the seeding and fold times.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import time
import urllib.parse
from datetime import timedelta
from typing import Any

from bench.common import emit, percentile, production_server, setup_django

PORT = 18064
HOST = "bench.quanyi.localhost"
PASSWORD = "Bench-pass-2026"
DAYS = 60
BRANCHES = 20
SEEDED = (
    "campaigns_grant",
    "campaigns_code",
    "fulfillment_redemption",
    "fulfillment_fulfilmentorder",
    "fulfillment_orderevent",
    "messaging_smsmessage",
    "messaging_smsevent",
)


class Browser:
    """One keep-alive connection with its cookies: a signed-in member of staff."""

    def __init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
        headers = {"Host": HOST, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{HOST}{path}"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _sep, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def login(self, username: str) -> None:
        _status, page = self.request("GET", "/console/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, "no CSRF token on the login page"
        status, page = self.request(
            "POST",
            "/console/login/",
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1).decode()},
        )
        errors = re.findall(rb"role=.alert.>([^<]*)<", page)
        assert status == 302, f"login answered {status}: {errors}"

    def timed(self, path: str) -> float:
        started = time.perf_counter()
        status, _page = self.request("GET", path)
        elapsed = (time.perf_counter() - started) * 1000
        assert status == 200, f"{path} answered {status}"
        return elapsed


class _Clock:
    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, what: str) -> None:
        now = time.perf_counter()
        print(f"  {what}: {now - self.last:.1f} s")
        self.last = now


def _indexes_drop(conn: Any, schema: str) -> list[tuple[str, list[str], list[str]]]:
    """Drop the seeded tables' secondary indexes and unique constraints (the primary keys stay):
    rebuilding an index once, sorted, is far faster than millions of random insertions into it."""
    saved = []
    for table in SEEDED:
        definitions = [
            row[0]
            for row in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')",
                [schema, table, table],
            ).fetchall()
        ]
        names = [
            row[0]
            for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')",
                [schema, table, table],
            ).fetchall()
        ]
        uniques = [
            row[0]
            for row in conn.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'u'", [table]
            ).fetchall()
        ]
        for name in uniques:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name in names:
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        saved.append((table, definitions, uniques))
    return saved


def _indexes_restore(conn: Any, saved: list[tuple[str, list[str], list[str]]]) -> None:
    for table, definitions, uniques in saved:
        for definition in definitions:
            conn.execute(definition)
        for name in uniques:  # the unique constraints, back on the indexes they had
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"')


def seed(*, schema: str, campaign_id: int, batch_id: int, product_ids: list[int], codes: int, redemptions: int) -> None:
    """Everything in SQL on the server, in the bank's schema."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    grants = min(codes, 2 * redemptions)
    products = "ARRAY[" + ",".join(str(p) for p in product_ids) + "]::bigint[]"
    with psycopg.connect(
        dbname=str(db["NAME"]),
        user=str(db["USER"]),
        password=str(db["PASSWORD"] or "") or None,
        host=str(db["HOST"]),
        port=str(db["PORT"] or 5432),
    ) as conn:
        conn.execute(f"SET search_path = {schema}, public")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        # the rows are consistent by construction: skip the millions of deferred foreign-key checks
        # a commit would run one by one (needs the superuser the benchmark database is made with)
        conn.execute("SET session_replication_role = replica")
        saved = _indexes_drop(conn, schema)
        clock = _Clock()
        day = f"now() - (mod(i, {DAYS}) * interval '1 day') - (mod(i, 997) * interval '1 minute')"
        # day, branch and right vary independently of each other (a rollup row for each combination)
        branch = f"'BR' || lpad(mod(i / {DAYS}, {BRANCHES})::text, 2, '0')"
        conn.execute(
            "INSERT INTO campaigns_grant (id, campaign_id, phone_encrypted, phone_digest, phone_masked, branch_code, "
            "customer_ref, source, created_at) OVERRIDING SYSTEM VALUE "
            f"SELECT i, %s, 'x', decode(md5('p' || i), 'hex'), '139****0000', {branch}, '', 'api', {day} "
            "FROM generate_series(1, %s) AS i",
            [campaign_id, grants],
        )
        conn.execute(
            "INSERT INTO campaigns_code (id, campaign_id, batch_id, grant_id, digest, sealed, tail, phone_digest, "
            "status, redemptions_left, part, valid_from, valid_until, redeemed_at) OVERRIDING SYSTEM VALUE "
            "SELECT i, %s, %s, CASE WHEN i <= %s THEN i END, decode(md5(i::text), 'hex'), '\\x00'::bytea, 'K7QX', "
            "NULL, CASE WHEN i <= %s THEN 'redeemed' ELSE 'active' END, CASE WHEN i <= %s THEN 0 ELSE 1 END, 1, "
            f"{day}, now() + interval '90 days', NULL FROM generate_series(1, %s) AS i",
            [campaign_id, batch_id, grants, redemptions, redemptions, codes],
        )
        redeemed_at = f"{day} + (mod(i, 50) * interval '1 hour')"
        conn.execute(
            "INSERT INTO fulfillment_redemption (id, campaign_id, code_id, grant_id, phone_encrypted, phone_digest, "
            "phone_masked, branch_code, submission_key, access_token, units, amount_fen, status, ip_address, "
            "created_at) OVERRIDING SYSTEM VALUE "
            f"SELECT i, %s, i, i, 'x', decode(md5('p' || i), 'hex'), '139****0000', {branch}, md5('s' || i), "
            "md5('a' || i), 1, 2900, CASE WHEN mod(i, 23) = 0 THEN 'failed' ELSE 'completed' END, NULL, "
            f"{redeemed_at} FROM generate_series(1, %s) AS i",
            [campaign_id, redemptions],
        )
        conn.execute(
            "INSERT INTO fulfillment_fulfilmentorder (id, redemption_id, campaign_id, product_id, price_fen, "
            "account_encrypted, account_masked, status, attempt_count, card_secret_encrypted, created_at, "
            "updated_at, finished_at) OVERRIDING SYSTEM VALUE "
            f"SELECT i, i, %s, ({products})[1 + mod(i / {DAYS * BRANCHES}, {len(product_ids)})], 2900, '', "
            "'139****0000', "
            "CASE WHEN mod(i, 23) = 0 THEN 'failed' WHEN mod(i, 97) = 0 THEN 'manual_review' "
            "ELSE 'succeeded' END, 1, '', "
            f"{redeemed_at}, {redeemed_at}, {redeemed_at} FROM generate_series(1, %s) AS i",
            [campaign_id, redemptions],
        )
        conn.execute(
            "INSERT INTO fulfillment_orderevent (order_id, kind, from_status, to_status, data, created_at) "
            "SELECT o.id, e.kind, e.from_status, e.to_status, '{}'::jsonb, o.created_at FROM "
            "fulfillment_fulfilmentorder o CROSS JOIN LATERAL (VALUES ('created', '', 'created'), "
            "(CASE o.status WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'failed' ELSE 'manual_review' END, "
            "'created', o.status)) AS e(kind, from_status, to_status) ORDER BY o.id"
        )
        conn.execute(
            "INSERT INTO messaging_smsmessage (id, kind, phone_encrypted, phone_digest, phone_masked, template_key, "
            "params_encrypted, campaign_ref, dedupe_key, status, backend, provider_message_id, attempts, segments, "
            "error_code, created_at, updated_at) OVERRIDING SYSTEM VALUE "
            "SELECT i, 'code_delivery', 'x', md5('p' || i), '139****0000', 'code_delivery', 'x', %s, "
            "'grant-' || i || '-part-1', CASE WHEN mod(i, 29) = 0 THEN 'failed' ELSE 'delivered' END, 'console', "
            f"'c-' || i, 1, 1, '', {day}, {day} FROM generate_series(1, %s) AS i",
            [str(campaign_id), grants],
        )
        conn.execute(
            "INSERT INTO messaging_smsevent (message_id, status, detail, created_at) "
            "SELECT m.id, e.status, '', m.created_at FROM messaging_smsmessage m CROSS JOIN LATERAL "
            "(VALUES ('queued'), ('sent'), (m.status)) AS e(status) ORDER BY m.id"
        )
        clock.lap("rows")
        _indexes_restore(conn, saved)
        clock.lap("indexes")
        for table in SEEDED:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(max(id), 1) FROM {table}))"
            )
        conn.execute(
            "UPDATE campaigns_codebatch SET created_count = %s, requested_count = %s, status = 'committed' "
            "WHERE id = %s",
            [codes, codes, batch_id],
        )
        conn.execute(
            "UPDATE campaigns_campaign SET spent_fen = %s, spent_count = %s, granted_count = %s WHERE id = %s",
            [2900 * redemptions, redemptions, grants, campaign_id],
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("SET session_replication_role = DEFAULT")
        for table in SEEDED:
            conn.execute(f"VACUUM ANALYZE {table}")
        clock.lap("vacuum analyze")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=10_000_000)
    parser.add_argument("--redemptions", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    setup_django("quanyi_bench_dashboard")

    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.models import Role, User
    from campaigns.models import BatchStatus, CodeBatch, GrantSource
    from campaigns.services import campaign_create, campaign_set_items, campaign_transition
    from platform.redis import get_redis
    from reports.fold import fold_run
    from rights_catalog.models import BankPrice, Category, RightsProduct
    from tenants.services import NewBankAdmin, bank_create, template_ensure

    get_redis().flushdb()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure()
    bank = bank_create(slug="bench", name="压测银行", admin=NewBankAdmin(username="admin", password=PASSWORD))
    category = Category.objects.create(code="topup", name="话费")
    product_ids = []
    for index, name in enumerate(["话费三十元", "视频会员月卡", "咖啡券"]):
        product = RightsProduct.objects.create(
            sku=f"BENCH-{index}",
            name=name,
            category=category,
            face_value_fen=3000,
            list_price_fen=3000,
            delivery_type="direct",
            account_format="mobile",
        )
        BankPrice.objects.create(bank=bank, product=product, price_fen=2900)
        product_ids.append(product.pk)
    with schema_context(bank.schema_name):
        admin = User.objects.get(username="admin")
        User.objects.create_user(username="branch", password=PASSWORD, role=Role.BRANCH_MANAGER, branch_code="BR03")
        # the server runs with production settings, whose hashers do not read the test suite's MD5
        from django.contrib.auth.hashers import PBKDF2PasswordHasher

        hasher = PBKDF2PasswordHasher()
        for user in User.objects.filter(username__in=["admin", "branch"]):
            user.password = hasher.encode(PASSWORD, hasher.salt())
            user.save(update_fields=["password"])
        now = timezone.now()
        campaign = campaign_create(
            actor=admin,
            data={
                "name": "千万兑换码活动",
                "starts_at": now - timedelta(days=DAYS + 1),
                "ends_at": now + timedelta(days=30),
                "budget_fen": 2900 * args.redemptions * 2,
                "budget_count": args.redemptions * 2,
                "requires_otp": False,
                "eligibility": "both",
                "sms_text": "兑换码 ${code}",
            },
        )
        campaign_set_items(campaign=campaign, bank=bank, product_ids=product_ids[:1], actor=admin)
        campaign_transition(campaign=campaign, bank=bank, action="launch", actor=admin)
        batch = CodeBatch.objects.create(
            campaign=campaign, source=GrantSource.POOL, requested_count=args.codes, status=BatchStatus.RUNNING
        )
    connections.close_all()
    started = time.perf_counter()
    seed(
        schema=bank.schema_name,
        campaign_id=campaign.pk,
        batch_id=batch.pk,
        product_ids=product_ids,
        codes=args.codes,
        redemptions=args.redemptions,
    )
    seed_s = time.perf_counter() - started
    print(f"seeded {args.codes:,} codes and {args.redemptions:,} redemptions in {seed_s:.1f} s")
    with schema_context(bank.schema_name):
        started = time.perf_counter()
        fold_run()
        first_fold_s = time.perf_counter() - started
        started = time.perf_counter()
        result = fold_run()
        second_fold_s = time.perf_counter() - started
        print(f"fold: {first_fold_s:.1f} s (all recent), {second_fold_s:.1f} s (sealed {result.sealed})")
        started = time.perf_counter()
        fold_run()
        idle_fold_ms = (time.perf_counter() - started) * 1000
        from reports.models import CampaignRollup

        rollup_rows = CampaignRollup.objects.count()
    connections.close_all()

    server = production_server(port=PORT, workers=args.workers)
    try:
        dashboard = f"/console/reports/campaigns/{campaign.pk}/"
        figures: dict[str, float] = {}
        for who in ("admin", "branch"):
            browser = Browser()
            browser.login(who)
            for _i in range(10):  # warm every worker
                browser.timed(dashboard)
                browser.timed("/console/")
            loads = [browser.timed(dashboard) for _i in range(args.loads)]
            baseline = [browser.timed("/console/") for _i in range(args.loads)]
            if who == "admin":
                figures |= {
                    "p50_ms": round(percentile(loads, 50), 1),
                    "p95_ms": round(percentile(loads, 95), 1),
                    "baseline_p50_ms": round(percentile(baseline, 50), 1),
                    "baseline_p95_ms": round(percentile(baseline, 95), 1),
                }
            else:
                figures["branch_manager_p95_ms"] = round(percentile(loads, 95), 1)
            print(
                f"{who}: dashboard p50 {percentile(loads, 50):.1f} ms p95 {percentile(loads, 95):.1f} ms; "
                f"console home p50 {percentile(baseline, 50):.1f} ms p95 {percentile(baseline, 95):.1f} ms"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    emit(
        {
            **figures,
            "loads": args.loads,
            "codes": args.codes,
            "redemptions": args.redemptions,
            "seed_s": round(seed_s, 1),
            "first_fold_s": round(first_fold_s, 1),
            "second_fold_s": round(second_fold_s, 1),
            "idle_fold_ms": round(idle_fold_ms, 1),
            "rollup_rows": rollup_rows,
        }
    )


if __name__ == "__main__":
    main()
