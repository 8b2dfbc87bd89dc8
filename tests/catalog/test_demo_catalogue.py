"""The demo catalogue is realistic and re-runnable: 100+ SKUs in every category, each with an offer,
two suppliers (one per dialect) with credentials, and a price list for every bank."""

from __future__ import annotations

from django.db.models import Count

from rights_catalog import demo
from rights_catalog.models import BankPrice, RightsProduct, Supplier
from rights_catalog.services import supplier_credentials
from tests.conftest import BankUnderTest


def test_demo_catalogue_seeds_once_and_prices_every_bank(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    lines = demo.seed()
    demo.seed()  # idempotent

    products = RightsProduct.objects.filter(sku__in=[p.sku for p in demo._products()])
    assert products.count() >= 100 and "103 products" in lines[0]
    assert set(products.values_list("category__code", flat=True)) == {code for code, _, _ in demo.CATEGORIES}
    assert not products.annotate(n=Count("offers")).filter(n=0).exists()
    assert {s.dialect for s in Supplier.objects.filter(code__in=["suchongtong", "yunquanyi"])} == {
        "md5form",
        "hmacjson",
    }
    for supplier in Supplier.objects.filter(code__in=["suchongtong", "yunquanyi"]):
        assert supplier_credentials(supplier=supplier)
    for bank in (bank_a.bank, bank_b.bank):
        assert BankPrice.objects.filter(bank=bank, product__in=products).count() == products.count()
    card_offers = products.filter(delivery_type="card_secret").values_list("offers__supplier_sku", flat=True)
    assert all("CARD" in sku for sku in card_offers)  # the simulator issues card secrets for these
