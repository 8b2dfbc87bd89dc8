"""200 cardholders race through real HTTP for 10 codes: exactly 10 redemptions, 10 sets of orders,
10 budget deductions — never one more."""

from __future__ import annotations

import random
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.codes import code_format
from campaigns.models import Code, CodeStatus
from fulfillment.models import FulfilmentOrder, Redemption
from tenants.models import Bank
from tests.campaigns.factories import launched_campaign, pool_codes
from tests.conftest import BankUnderTest
from tests.support.server import live_server

pytestmark = pytest.mark.slow
PORT = 18052
CLIENTS = 200
CODES = 10


def cardholder_flow(base: str, host: str, code: str, phone: str) -> str:
    """One cardholder from code entry to confirmation; returns how it ended."""
    session = requests.Session()
    session.headers["Host"] = host
    session.get(f"{base}/", timeout=30)
    headers = {"X-CSRFToken": session.cookies.get("csrftoken", "")}
    start = session.post(
        f"{base}/redeem/", data={"code": code, "phone": phone}, headers=headers, allow_redirects=False, timeout=30
    )
    if start.status_code != 302:
        return f"start:{start.status_code}"
    choose = session.get(f"{base}/redeem/choose/", timeout=30).text
    fields = {name: phone for name in re.findall(r'name="(account2?_\d+)"', choose)}
    chosen = session.post(f"{base}/redeem/choose/", data=fields, headers=headers, allow_redirects=False, timeout=30)
    if chosen.status_code != 302:
        return f"choose:{chosen.status_code}"
    page = session.get(f"{base}/redeem/confirm/", timeout=30).text
    match = re.search(r'name="submission_key" value="([^"]+)"', page)
    if match is None:
        return "confirm:no-form"
    done = session.post(
        f"{base}/redeem/confirm/",
        data={"submission_key": match.group(1)},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )
    return (
        "redeemed" if done.status_code == 302 and "/p/" in done.headers["Location"] else f"confirm:{done.status_code}"
    )


def test_two_hundred_cardholders_ten_codes(committed_db) -> None:  # type: ignore[no-untyped-def]
    alpha = BankUnderTest(bank=Bank.objects.get(slug="alpha"), host="alpha.quanyi.localhost")
    price = 2900
    campaign = launched_campaign(
        alpha,
        name=f"抢兑 {uuid.uuid4().hex[:6]}",
        sku=f"RACE-{uuid.uuid4().hex[:6]}",
        budget_count=CODES,
        budget_fen=CODES * price,
        eligibility="whitelist",
    )
    with schema_context(alpha.schema):
        codes = pool_codes(campaign, CODES)
    phones = [f"139{random.randrange(10**8):08d}" for _i in range(CLIENTS)]
    jobs = [(code_format(codes[i % CODES]), phones[i]) for i in range(CLIENTS)]
    random.shuffle(jobs)
    with live_server(port=PORT, workers=2, threads=16) as base, ThreadPoolExecutor(max_workers=64) as pool:
        outcomes = list(pool.map(lambda job: cardholder_flow(base, alpha.host, *job), jobs))
    redeemed = outcomes.count("redeemed")
    print(
        f"\n{CLIENTS} clients, {CODES} codes: {redeemed} redeemed; other outcomes: "
        f"{ {o: outcomes.count(o) for o in set(outcomes) if o != 'redeemed'} }"
    )
    with schema_context(alpha.schema):
        redemptions = Redemption.objects.filter(campaign=campaign)
        assert redemptions.count() == CODES == redeemed
        assert redemptions.values("code_id").distinct().count() == CODES
        assert FulfilmentOrder.objects.filter(campaign=campaign).count() == CODES
        campaign.refresh_from_db()
        assert (campaign.spent_count, campaign.spent_fen) == (CODES, CODES * price)
        assert set(Code.objects.filter(campaign=campaign).values_list("status", flat=True)) == {CodeStatus.REDEEMED}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM campaigns_campaign WHERE spent_count > budget_count OR spent_fen > budget_fen"
            )
            assert cursor.fetchone()[0] == 0
