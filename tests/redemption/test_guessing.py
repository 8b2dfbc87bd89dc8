"""Guessing codes gets nowhere: failures per phone, per address and per campaign lock out, across
processes, with the same answer for a wrong code and a wrong phone."""

from __future__ import annotations

import uuid

import pytest
import requests
from django.test import Client
from django_tenants.utils import schema_context

from campaigns.codes import code_format, code_generate_many
from tenants.models import Bank
from tests.campaigns.factories import launched_campaign, pool_codes
from tests.conftest import BankUnderTest
from tests.support.server import live_server


def test_five_failures_lock_a_phone_even_for_the_right_code(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    with schema_context(bank_a.schema):
        real = code_format(pool_codes(campaign, 1)[0])
    phone = "13855556666"
    for guess in code_generate_many(5):
        response = Client(HTTP_HOST=bank_a.host, REMOTE_ADDR=f"10.9.0.{len(guess)}").post(
            "/redeem/", {"code": code_format(guess), "phone": phone}
        )
        assert response.status_code == 400 and "兑换码或手机号不正确" in response.content.decode()
    locked = Client(HTTP_HOST=bank_a.host, REMOTE_ADDR="10.9.1.1").post("/redeem/", {"code": real, "phone": phone})
    assert locked.status_code == 429 and "尝试次数过多" in locked.content.decode()
    # another phone with the same code still gets in
    other = Client(HTTP_HOST=bank_a.host, REMOTE_ADDR="10.9.1.2").post(
        "/redeem/", {"code": real, "phone": "13855556667"}
    )
    assert other.status_code == 302


def test_twenty_failures_lock_an_address(bank_a: BankUnderTest) -> None:
    for i, guess in enumerate(code_generate_many(20)):
        response = Client(HTTP_HOST=bank_a.host, REMOTE_ADDR="10.8.0.1").post(
            "/redeem/", {"code": code_format(guess), "phone": f"1360000{i:04d}"}
        )
        assert response.status_code == 400
    locked = Client(HTTP_HOST=bank_a.host, REMOTE_ADDR="10.8.0.1").post(
        "/redeem/", {"code": "x", "phone": "13600009999"}
    )
    assert locked.status_code == 429
    assert (
        Client(HTTP_HOST=bank_a.host, REMOTE_ADDR="10.8.0.2")
        .post("/redeem/", {"code": "x", "phone": "13600009999"})
        .status_code
        == 400
    )


@pytest.mark.slow
def test_the_lock_holds_across_server_processes(committed_db) -> None:  # type: ignore[no-untyped-def]
    alpha = BankUnderTest(bank=Bank.objects.get(slug="alpha"), host="alpha.quanyi.localhost")
    campaign = launched_campaign(alpha, name=f"防刷 {uuid.uuid4().hex[:6]}", sku=f"GUESS-{uuid.uuid4().hex[:6]}")
    with schema_context(alpha.schema):
        real = code_format(pool_codes(campaign, 1)[0])
    phone = "13877778888"
    statuses = []
    with live_server(port=18053, workers=3, threads=1) as base:
        for guess in code_generate_many(5):
            session = requests.Session()  # a fresh connection and session each time: any worker may answer
            session.headers["Host"] = alpha.host
            session.get(f"{base}/", timeout=10)
            statuses.append(
                session.post(
                    f"{base}/redeem/",
                    data={"code": code_format(guess), "phone": phone},
                    headers={"X-CSRFToken": session.cookies["csrftoken"]},
                    allow_redirects=False,
                    timeout=10,
                ).status_code
            )
        session = requests.Session()
        session.headers["Host"] = alpha.host
        session.get(f"{base}/", timeout=10)
        final = session.post(
            f"{base}/redeem/",
            data={"code": real, "phone": phone},
            headers={"X-CSRFToken": session.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=10,
        )
    assert statuses == [400] * 5 and final.status_code == 429
