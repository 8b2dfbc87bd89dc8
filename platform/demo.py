"""Demo data for README command 1: two banks with their own colours and logos, staff for each, a
platform admin. Idempotent. Apps add their own demo rows through `DEMO_SEEDERS`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from accounts.models import Role, User
from tenants.models import Bank
from tenants.services import NewBankAdmin, bank_create, bank_host, template_ensure

DEMO_PASSWORD = "Quanyi-demo-2026"  # noqa: S105 - demo only, printed on the console

_LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40" width="32" height="32">'
    '<circle cx="20" cy="20" r="18" fill="{fill}" stroke="#fff" stroke-width="3"/>'
    '<text x="20" y="27" font-size="18" text-anchor="middle" fill="#fff">{letter}</text></svg>'
)

DEMO_BANKS = [
    {
        "slug": "jiangnan",
        "name": "江南银行",
        "name_en": "Jiangnan Bank",
        "color_primary": "#b3122e",
        "color_accent": "#f2b705",
        "letter": "江",
        "footer_text": "江南银行信用卡中心 · 客服 95500",
    },
    {
        "slug": "haigang",
        "name": "海港银行",
        "name_en": "Harbour Bank",
        "color_primary": "#0b4f8a",
        "color_accent": "#2ec4b6",
        "letter": "海",
        "footer_text": "海港银行信用卡中心 · 客服 95511",
    },
]

# dotted paths of functions `seed(bank: Bank) -> list[str]` run inside each demo bank's schema;
# each returns lines to print under the URLs
DEMO_SEEDERS: list[str] = [
    "rights_catalog.demo.seed_bank_prices",
    "campaigns.demo.seed",
    "billing.demo.seed_bank",
    "messaging.demo.demo_seed",
    "fulfillment.demo.demo_seed",
    "reports.demo.seed",
]
# dotted paths of functions `seed() -> list[str]` run in the public schema first
PUBLIC_DEMO_SEEDERS: list[str] = ["rights_catalog.demo.seed", "billing.demo.seed_plans", "reports.demo.seed_public"]


def demo_seed() -> dict[str, Any]:
    template_ensure()
    if not User.objects.filter(username="platform").exists():
        User.objects.create_superuser(username="platform", password=DEMO_PASSWORD, email="platform@example.com")
    extra_lines: list[str] = []
    for path in PUBLIC_DEMO_SEEDERS:
        public_seed: Callable[[], list[str]] = import_string(path)
        extra_lines += public_seed()
    banks = []
    for spec in DEMO_BANKS:
        bank = Bank.objects.filter(slug=spec["slug"]).first()
        if bank is None:
            bank = bank_create(
                slug=spec["slug"],
                name=spec["name"],
                name_en=spec["name_en"],
                color_primary=spec["color_primary"],
                color_accent=spec["color_accent"],
                footer_text=spec["footer_text"],
                logo_svg=_LOGO.format(fill=spec["color_accent"], letter=spec["letter"]),
                admin=NewBankAdmin(username="admin", password=DEMO_PASSWORD),
            )
            with schema_context(bank.schema_name):
                User.objects.create_user(username="operator", password=DEMO_PASSWORD, role=Role.OPERATOR)
                User.objects.create_user(username="auditor", password=DEMO_PASSWORD, role=Role.AUDITOR)
        with schema_context(bank.schema_name):
            for path in DEMO_SEEDERS:
                bank_seed: Callable[[Bank], list[str]] = import_string(path)
                extra_lines += bank_seed(bank)
        banks.append({"name": bank.name, "host": bank_host(bank.slug)})
    return {"banks": banks, "extra_lines": extra_lines}
