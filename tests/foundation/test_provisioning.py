"""Platform staff create banks in well under a second, each in a schema of its own."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from platform.errors import ApplicationError
from tenants.models import Bank, BankStatus, Domain
from tenants.services import NewBankAdmin, bank_create, bank_resume, bank_suspend, template_ensure
from tests.conftest import PASSWORD, BankUnderTest, bank_client


def _structure(schema: str) -> dict[str, list[Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, ''), is_identity "
            "FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2",
            [schema],
        )
        columns = [tuple(str(v) for v in row) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s ORDER BY 2",
            [schema],
        )
        constraints = [
            (t.split(".")[-1], name, kind, definition.replace(schema + ".", ""))
            for t, name, kind, definition in cursor.fetchall()
        ]
        # a partial index's predicate prints back in an equivalent but different spelling once
        # replayed, so predicates are compared by presence and the rest of each definition verbatim
        cursor.execute(
            "SELECT indexname, replace(split_part(indexdef, ' WHERE ', 1), %s, ''), indexdef LIKE '%% WHERE %%' "
            "FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
            [schema + ".", schema],
        )
        indexes = [tuple(row) for row in cursor.fetchall()]
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY 1, 2')
        migrations = [tuple(row) for row in cursor.fetchall()]
    return {"columns": columns, "constraints": constraints, "indexes": indexes, "migrations": migrations}


def test_a_new_bank_has_exactly_the_migrated_structure(db) -> None:  # type: ignore[no-untyped-def]
    template = template_ensure()
    bank = bank_create(slug="gamma", name="伽马银行", custom_domains=["rights.gamma-bank.cn"])
    assert _structure(bank.schema_name) == _structure(template.schema_name)
    assert set(Domain.objects.filter(tenant=bank).values_list("domain", "is_primary")) == {
        ("gamma.quanyi.localhost", True),
        ("rights.gamma-bank.cn", False),
    }


def test_a_new_bank_serves_its_host_and_its_custom_domain(db) -> None:  # type: ignore[no-untyped-def]
    bank = bank_create(
        slug="delta",
        name="德尔塔银行",
        custom_domains=["h5.delta.cn"],
        admin=NewBankAdmin(username="boss", password=PASSWORD),
    )
    for host in ("delta.quanyi.localhost", "h5.delta.cn"):
        response = bank_client(BankUnderTest(bank=bank, host=host)).get("/")
        assert response.status_code == 200
        assert "德尔塔银行" in response.content.decode()
    assert (
        bank_client(BankUnderTest(bank=bank, host="delta.quanyi.localhost"), login="boss").get("/console/").status_code
        == 200
    )


@pytest.mark.parametrize(
    ("slug", "domains", "message"),
    [
        ("Bad Slug", [], "标识"),
        ("alpha", [], "已被使用"),
        ("admin", [], "保留"),
        ("ok-bank", ["not a host"], "域名"),
        ("ok-bank", ["alpha.quanyi.localhost"], "域名"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(db, slug: str, domains: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    banks_before, domains_before = Bank.objects.count(), Domain.objects.count()
    with pytest.raises(ApplicationError) as raised:
        bank_create(slug=slug, name="坏银行", custom_domains=domains)
    assert raised.value.code == "bank.invalid" and message in raised.value.message
    assert (Bank.objects.count(), Domain.objects.count()) == (banks_before, domains_before)


def test_a_failure_half_way_leaves_no_bank_no_domain_and_no_schema(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tenants import services

    def broken_clone(*, source: str, target: str) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "schema_clone", broken_clone)
    with pytest.raises(RuntimeError):
        bank_create(slug="epsilon", name="艾普西隆银行")
    assert not Bank.objects.filter(slug="epsilon").exists()
    assert not Domain.objects.filter(domain__startswith="epsilon.").exists()


def test_suspended_bank_shows_a_notice_and_refuses_api_and_console(bank_a: BankUnderTest) -> None:
    client = bank_client(bank_a, login="admin")
    bank_suspend(bank=bank_a.bank, reason="欠费")
    page = client.get("/")
    assert page.status_code == 503 and "服务暂停" in page.content.decode()
    assert bank_a.bank.color_primary in page.content.decode()  # still in the bank's colours
    api = client.get("/api/v1/ping")
    assert api.status_code == 403 and api.json()["error"]["code"] == "bank.suspended"
    console = client.get("/console/")
    assert console.status_code == 403 and "暂停" in console.content.decode()
    assert client.get("/healthz").status_code == 200

    bank_resume(bank=Bank.objects.get(pk=bank_a.bank.pk))
    assert client.get("/console/").status_code == 200
    assert Bank.objects.get(pk=bank_a.bank.pk).status == BankStatus.ACTIVE


def test_create_bank_command(db, capsys) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command

    call_command("create_bank", "zeta", "泽塔银行", "--admin-username", "root", "--admin-password", PASSWORD)
    assert "zeta.quanyi.localhost" in capsys.readouterr().out
    with schema_context(Bank.objects.get(slug="zeta").schema_name):
        assert User.objects.get(username="root").role == "admin"
