"""What campaigns and the H5 rely on: account validation per format, a bank's price list, and the
supplier offers of a product in the order the fulfilment engine tries them."""

from __future__ import annotations

import pytest

from platform.errors import ApplicationError
from rights_catalog.accounts import account_validate
from rights_catalog.selectors import bank_price_for, bank_price_list, product_offers
from rights_catalog.services import bank_price_set
from tests.catalog import factories
from tests.conftest import BankUnderTest


@pytest.mark.parametrize(
    ("account_format", "value", "normalised"),
    [
        ("mobile", "13812345678", "13812345678"),
        ("mobile", " +86 138-1234-5678 ", "13812345678"),
        ("mobile", "8613812345678", "13812345678"),
        ("qq", "10001", "10001"),
        ("qq", " 123456789 ", "123456789"),
        ("platform_id", "user_01@example.com", "user_01@example.com"),
        ("none", "anything", ""),
    ],
)
def test_valid_accounts_are_normalised(account_format: str, value: str, normalised: str) -> None:
    assert account_validate(account_format=account_format, value=value) == normalised


@pytest.mark.parametrize(
    ("account_format", "value"),
    [
        ("mobile", "12812345678"),
        ("mobile", "1381234567"),
        ("mobile", "138123456789"),
        ("mobile", ""),
        ("qq", "01234"),
        ("qq", "1234"),
        ("qq", "12345abc"),
        ("platform_id", "ab"),
        ("platform_id", "has space"),
        ("fax", "123"),
    ],
)
def test_invalid_accounts_get_a_chinese_message(account_format: str, value: str) -> None:
    with pytest.raises(ApplicationError) as raised:
        account_validate(account_format=account_format, value=value)
    assert raised.value.code == "account.invalid"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in raised.value.message)


def test_bank_sees_only_its_active_prices_of_active_products(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    on_list = factories.product(name="爱奇艺黄金会员月卡")
    withdrawn = factories.product(active=False)
    paused_price = factories.product()
    other_bank_only = factories.product()
    bank_price_set(bank=bank_a.bank, product=on_list, price_fen=1_800)
    bank_price_set(bank=bank_a.bank, product=withdrawn, price_fen=1_000)
    bank_price_set(bank=bank_a.bank, product=paused_price, price_fen=1_000, active=False)
    bank_price_set(bank=bank_b.bank, product=other_bank_only, price_fen=1_000)

    listed = bank_price_list(bank=bank_a.bank)

    assert [p.product.sku for p in listed if p.product.sku.startswith("SKU-")] == [on_list.sku]
    assert listed[0].price_fen == 1_800
    assert bank_price_for(bank=bank_a.bank, product=on_list).price_fen == 1_800  # type: ignore[union-attr]
    assert bank_price_for(bank=bank_a.bank, product=other_bank_only) is None
    assert bank_price_for(bank=bank_a.bank, product=paused_price) is None


def test_price_must_be_positive(bank_a: BankUnderTest) -> None:
    with pytest.raises(ApplicationError):
        bank_price_set(bank=bank_a.bank, product=factories.product(), price_fen=0)


def test_offers_come_by_priority_from_active_suppliers_with_stock(db: None) -> None:
    product = factories.product(delivery_type="card_secret", account_format="none")
    second = factories.offer(product=product, priority=20)
    first = factories.offer(product=product, priority=10)
    factories.offer(product=product, priority=1, active=False)
    factories.offer(product=product, priority=1, supplier=factories.supplier(status="paused"))
    factories.offer(product=product, priority=1, stock=0)
    unlimited = factories.offer(product=product, priority=30, stock=None)

    assert product_offers(product=product) == [first, second, unlimited]


def test_card_secret_stock_is_taken_atomically_and_never_below_zero(db: None) -> None:
    from rights_catalog.services import offer_stock_take

    limited = factories.offer(stock=2)
    unlimited = factories.offer(stock=None)

    assert offer_stock_take(offer=limited, quantity=2)
    assert not offer_stock_take(offer=limited)
    limited.refresh_from_db()
    assert limited.stock == 0
    assert offer_stock_take(offer=unlimited, quantity=100)
