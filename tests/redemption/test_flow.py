"""A cardholder goes from code to confirmation in a few plain form posts, in the bank's colours."""

from __future__ import annotations

import re

from django.test import Client
from django_tenants.utils import schema_context

from campaigns.codes import code_format
from campaigns.models import Campaign, Code, CodeStatus
from fulfillment.models import FulfilmentOrder, Redemption
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest
from tests.support.api import bank_system
from tests.support.catalog import product_on_price_list
from tests.support.sms import last_sms_params


def _grant(bank: BankUnderTest, campaign: Campaign, phone: str) -> str:
    system = bank_system(bank)
    response = system.request(
        "POST",
        "/api/v1/grants",
        {"campaign_id": campaign.pk, "phone": phone},
        headers={"Idempotency-Key": f"flow-{phone}-{campaign.pk}"},
    )
    assert response.status_code == 201, response.content
    with schema_context(bank.schema):
        return last_sms_params(phone=phone, kind="code_delivery")["code"]


def test_code_phone_otp_account_confirm_progress(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, requires_otp=True, arrival_text="请在运营商 App 查询余额")
    code = _grant(bank_a, campaign, "13811112222")
    client = Client(HTTP_HOST=bank_a.host)
    landing = client.get("/")
    assert landing.status_code == 200 and bank_a.bank.color_primary in landing.content.decode()
    step = client.post("/redeem/", {"code": code.lower(), "phone": "138 1111 2222"})
    assert step.status_code == 302 and step["Location"] == "/redeem/verify/"
    with schema_context(bank_a.schema):
        otp = last_sms_params(phone="13811112222", kind="otp")["code"]
    assert client.post("/redeem/verify/", {"otp": "000000" if otp != "000000" else "111111"}).status_code == 400
    assert client.post("/redeem/verify/", {"otp": otp})["Location"] == "/redeem/choose/"
    choose = client.get("/redeem/choose/")
    assert "13811112222" in choose.content.decode()  # the own phone is offered as the account
    product_id = re.search(r'name="account_(\d+)"', choose.content.decode()).group(1)  # type: ignore[union-attr]
    mismatch = client.post(
        "/redeem/choose/", {f"account_{product_id}": "13900001111", f"account2_{product_id}": "13900001112"}
    )
    assert mismatch.status_code == 422 and "不一致" in mismatch.content.decode()
    assert (
        client.post(
            "/redeem/choose/", {f"account_{product_id}": "13900001111", f"account2_{product_id}": "13900001111"}
        )["Location"]
        == "/redeem/confirm/"
    )
    confirm = client.get("/redeem/confirm/")
    assert "13900001111" in confirm.content.decode()
    key = re.search(r'name="submission_key" value="([^"]+)"', confirm.content.decode()).group(1)  # type: ignore[union-attr]
    done = client.post("/redeem/confirm/", {"submission_key": key})
    assert done.status_code == 302 and done["Location"].startswith("/p/")
    page = client.get(done["Location"]).content.decode()
    assert "正在发放" in page or "等待发放" in page
    # a second tap of the same confirm button lands on the same redemption
    again = client.post("/redeem/confirm/", {"submission_key": key})
    assert again["Location"] == done["Location"]
    with schema_context(bank_a.schema):
        redemption = Redemption.objects.get(campaign=campaign)
        order = FulfilmentOrder.objects.get(redemption=redemption)
        assert order.account_masked == "139****1111" and "13900001111" not in order.account_encrypted
        assert Code.objects.get(pk=redemption.code_id).status == CodeStatus.REDEEMED
        campaign.refresh_from_db()
        assert (campaign.spent_count, campaign.spent_fen) == (1, 2900)
    used = Client(HTTP_HOST=bank_a.host).post("/redeem/", {"code": code, "phone": "13811112222"})
    assert used.status_code == 409 and "已使用" in used.content.decode()


def test_the_sms_link_needs_only_the_phone(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    phone = "13822223333"
    _grant(bank_a, campaign, phone)
    with schema_context(bank_a.schema):
        link = last_sms_params(phone=phone, kind="code_delivery")["link"]
    path = "/" + link.split("/", 3)[3]
    client = Client(HTTP_HOST=bank_a.host)
    response = client.get(path, follow=True)
    assert response.status_code == 200 and "已填好" in response.content.decode()
    assert client.post("/redeem/", {"via_link": "1", "phone": phone})["Location"] == "/redeem/choose/"


def test_wrong_code_and_wrong_phone_get_the_same_answer(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    code = _grant(bank_a, campaign, "13833334444")
    client = Client(HTTP_HOST=bank_a.host, REMOTE_ADDR="10.1.1.1")
    wrong_phone = client.post("/redeem/", {"code": code, "phone": "13833334445"})
    wrong_code = client.post("/redeem/", {"code": code_format("2" * 13), "phone": "13833334444"})
    assert wrong_phone.status_code == wrong_code.status_code == 400
    message = "兑换码或手机号不正确"
    assert message in wrong_phone.content.decode() and message in wrong_code.content.decode()


def test_choose_k_of_n(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, package_kind="choose", choose_count=2, launch=False)
    from accounts.models import User
    from campaigns.services import campaign_set_items, campaign_transition

    products = [
        product_on_price_list(
            bank=bank_a.bank, sku=f"CHOOSE-{i}", account_format="none", delivery_type="card_secret", price_fen=1000 + i
        )
        for i in range(3)
    ]
    with schema_context(bank_a.schema):
        admin = User.objects.get(username="admin")
        campaign_set_items(campaign=campaign, bank=bank_a.bank, product_ids=[p.pk for p in products], actor=admin)
        campaign_transition(campaign=campaign, bank=bank_a.bank, action="launch", actor=admin)
    code = _grant(bank_a, campaign, "13844445555")
    client = Client(HTTP_HOST=bank_a.host)
    client.post("/redeem/", {"code": code, "phone": "13844445555"})
    one = client.post("/redeem/choose/", {"product": [products[0].pk]})
    assert one.status_code == 422 and "请选择 2 项" in one.content.decode()
    two = client.post("/redeem/choose/", {"product": [products[0].pk, products[2].pk]})
    assert two["Location"] == "/redeem/confirm/"
    key = re.search(r'name="submission_key" value="([^"]+)"', client.get("/redeem/confirm/").content.decode()).group(1)  # type: ignore[union-attr]
    client.post("/redeem/confirm/", {"submission_key": key})
    with schema_context(bank_a.schema):
        redemption = Redemption.objects.get(campaign=campaign)
        assert redemption.units == 2 and redemption.amount_fen == 1000 + 1002
        assert sorted(redemption.orders.values_list("product_id", flat=True)) == [products[0].pk, products[2].pk]
