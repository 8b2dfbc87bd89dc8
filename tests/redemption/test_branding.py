"""A card centre sets its colours and logo; the cardholder pages follow; nothing unsafe gets through."""

from __future__ import annotations

import pytest

from platform.errors import ApplicationError
from tenants.branding import bank_branding_update, contrast_ratio, svg_check
from tenants.models import Bank
from tests.conftest import BankUnderTest, bank_client


def test_admin_sets_branding_and_the_h5_follows(bank_a: BankUnderTest) -> None:
    admin = bank_client(bank_a, login="admin")
    logo = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#fff"/></svg>'
    response = admin.post(
        "/console/branding/",
        {
            "brand_title": "阿尔法权益中心",
            "color_primary": "#123456",
            "color_on_primary": "#ffffff",
            "color_accent": "#ffaa00",
            "logo_svg": logo,
            "footer_text": "客服 95599",
        },
    )
    assert response.status_code == 302
    page = bank_client(bank_a).get("/").content.decode()
    assert "--primary:#123456" in page and "阿尔法权益中心" in page and "客服 95599" in page and "<circle" in page
    assert 'rel="icon"' in page
    assert bank_client(bank_a, login="operator").get("/console/branding/").status_code == 403


def test_unreadable_colours_and_scripted_logos_are_refused(bank_a: BankUnderTest) -> None:
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21, rel=0.01)
    with pytest.raises(ApplicationError) as refused:
        bank_branding_update(
            bank=bank_a.bank, data={"color_primary": "#ffff00", "color_on_primary": "#ffffff"}, actor=None
        )
    assert "对比度" in refused.value.message
    for bad in (
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><text>x</text></a></svg>',
        '<!DOCTYPE svg [<!ENTITY a "b">]><svg/>',
        "not svg",
    ):
        with pytest.raises(ApplicationError):
            svg_check(bad)
    assert Bank.objects.get(pk=bank_a.bank.pk).color_primary == bank_a.bank.color_primary
