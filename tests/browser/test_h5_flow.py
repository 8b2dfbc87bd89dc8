"""On a phone-sized Chromium, a cardholder of each bank walks from code to progress page, in that
bank's colours. With H5_SCREENSHOTS_DIR set, every step is saved as a picture (docs/h5)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from campaigns.codes import code_format
from tenants.models import Bank
from tests.campaigns.factories import launched_campaign, pool_codes
from tests.conftest import BankUnderTest
from tests.support.browser import chromium
from tests.support.server import live_server
from tests.support.sms import last_sms_params

pytestmark = pytest.mark.slow
PORT = 18054
PHONE_VIEWPORT = {"width": 375, "height": 740}


def _rgb(hex_color: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_color[i : i + 2], 16) for i in (1, 3, 5)))


def _shot(page, bank: str, step: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("H5_SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{bank}-{step}.png"), full_page=True)


def test_each_bank_cardholder_redeems_in_their_bank_colours(committed_db) -> None:  # type: ignore[no-untyped-def]
    banks = [
        BankUnderTest(bank=Bank.objects.get(slug=slug), host=f"{slug}.quanyi.localhost") for slug in ("alpha", "beta")
    ]
    plan = []
    for test_bank in banks:
        campaign = launched_campaign(
            test_bank,
            name=f"{test_bank.bank.name}话费礼",
            sku=f"H5-{uuid.uuid4().hex[:6]}",
            requires_otp=True,
            rules_text="1. 每个兑换码限兑一次。\n2. 活动期内有效。",
            arrival_text="请查收运营商短信",
        )
        with schema_context(test_bank.schema):
            plan.append((test_bank, code_format(pool_codes(campaign, 1)[0])))
    with live_server(port=PORT) as _base, chromium() as browser:
        for test_bank, code in plan:
            slug, phone = test_bank.bank.slug, f"1370000{test_bank.bank.pk:04d}"
            base = f"http://{test_bank.host}:{PORT}"
            page = browser.new_page(viewport=PHONE_VIEWPORT, locale="zh-CN", is_mobile=True, has_touch=True)
            transferred: list[int] = []
            page.on("response", lambda response, sizes=transferred: sizes.append(len(response.body())))
            page.goto(f"{base}/")
            assert sum(transferred) <= 60 * 1024, f"first page transferred {sum(transferred)} bytes"
            header = page.locator("header.brand")
            assert header.evaluate("e => getComputedStyle(e).backgroundColor") == _rgb(test_bank.bank.color_primary)
            assert test_bank.bank.name in header.inner_text()
            _shot(page, slug, "1-landing")
            page.get_by_label("兑换码").fill(code.lower())
            page.get_by_label("收到短信的手机号").fill(phone)
            page.get_by_role("button", name="下一步").click()
            page.wait_for_url(f"{base}/redeem/verify/")
            _shot(page, slug, "2-verify")
            with schema_context(test_bank.schema):
                otp = last_sms_params(phone=phone, kind="otp")["code"]
            page.get_by_label("短信验证码").fill(otp)
            page.get_by_role("button", name="验证", exact=True).click()
            page.wait_for_url(f"{base}/redeem/choose/")
            assert page.get_by_label("充值手机号").input_value() == phone
            page.get_by_label("再次输入账号").fill(phone)
            _shot(page, slug, "3-choose")
            page.get_by_role("button", name="下一步").click()
            page.wait_for_url(f"{base}/redeem/confirm/")
            _shot(page, slug, "4-confirm")
            page.get_by_role("button", name="确认兑换").click()
            page.wait_for_url(f"{base}/p/*/")
            assert "发放" in page.locator(".status").first.inner_text()
            _shot(page, slug, "5-progress")
            # English on request, same flow
            page.goto(f"{base}/")
            page.get_by_role("button", name="English").click()
            assert page.locator("html").get_attribute("lang") == "en"
            assert "Redemption code" in page.content()
            _shot(page, slug, "6-landing-en")
            page.close()
