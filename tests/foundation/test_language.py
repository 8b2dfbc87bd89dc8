"""Chinese by default, even for an English-language phone; English once the person chooses it."""

from __future__ import annotations

from django.test import Client

from tests.conftest import BankUnderTest


def test_chinese_unless_english_is_chosen(bank_a: BankUnderTest) -> None:
    client = Client(HTTP_HOST=bank_a.host, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    page = client.get("/").content.decode()
    assert "兑换码" in page and 'lang="zh-CN"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/").content.decode()
    assert "Redemption code" in english and 'lang="en"' in english
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "兑换码" in client.get("/").content.decode()
