"""Catalogue rows for tests, with unique codes (some tests commit)."""

from __future__ import annotations

import uuid
from typing import Any

from rights_catalog.models import Category, RightsProduct, Supplier, SupplierOffer


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def category(**fields: Any) -> Category:
    code = fields.pop("code", unique("cat").lower())
    return Category.objects.create(code=code, name=fields.pop("name", "话费充值"), **fields)


def product(**fields: Any) -> RightsProduct:
    values: dict[str, Any] = {
        "sku": unique("SKU"),
        "name": "中国移动话费 100 元",
        "face_value_fen": 10_000,
        "list_price_fen": 9_900,
        "delivery_type": "direct",
        "account_format": "mobile",
    }
    values.update(fields)
    if "category" not in values:
        values["category"] = category()
    return RightsProduct.objects.create(**values)


def supplier(**fields: Any) -> Supplier:
    values: dict[str, Any] = {
        "code": unique("sup").lower(),
        "name": "测试供应商",
        "dialect": "md5form",
        "endpoint": "http://127.0.0.1:18199",
        "merchant_id": "M1",
    }
    values.update(fields)
    return Supplier.objects.create(**values)


def offer(**fields: Any) -> SupplierOffer:
    values: dict[str, Any] = {"supplier_sku": unique("S"), "cost_fen": 9_800, "priority": 10}
    values.update(fields)
    if "product" not in values:
        values["product"] = product()
    if "supplier" not in values:
        values["supplier"] = supplier()
    return SupplierOffer.objects.create(**values)
