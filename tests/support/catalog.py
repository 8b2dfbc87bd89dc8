"""Catalogue rows for tests: a product on a bank's price list."""

from __future__ import annotations

from rights_catalog.models import BankPrice, Category, RightsProduct
from tenants.models import Bank


def product_on_price_list(
    *,
    bank: Bank,
    sku: str,
    price_fen: int = 2900,
    face_value_fen: int = 3000,
    delivery_type: str = "direct",
    account_format: str = "mobile",
    name: str = "",
) -> RightsProduct:
    category, _ = Category.objects.get_or_create(code="test-topup", defaults={"name": "话费"})
    product, _ = RightsProduct.objects.get_or_create(
        sku=sku,
        defaults={
            "name": name or f"测试权益 {sku}",
            "category": category,
            "face_value_fen": face_value_fen,
            "list_price_fen": face_value_fen,
            "delivery_type": delivery_type,
            "account_format": account_format,
        },
    )
    BankPrice.objects.update_or_create(bank=bank, product=product, defaults={"price_fen": price_fen, "active": True})
    return product
