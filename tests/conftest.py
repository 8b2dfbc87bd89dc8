"""Test set-up: the real PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); two banks, Alpha and Beta,
created once per session by cloning the template schema, each with an admin, an operator and an
auditor. Tests run inside a transaction that is rolled back; tests that need committed rows (a
Celery worker, a live server) commit under `committed_db` and use unique names."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role, User
from platform.tenancy import use_public_schema
from tenants.models import Bank
from tenants.services import NewBankAdmin, bank_create, bank_host, template_ensure

PASSWORD = "Test-pass-12345"


@dataclass(frozen=True)
class BankUnderTest:
    bank: Bank
    host: str

    @property
    def schema(self) -> str:
        return self.bank.schema_name


def _make_bank(slug: str, name: str, color: str) -> BankUnderTest:
    bank = bank_create(
        slug=slug, name=name, color_primary=color, admin=NewBankAdmin(username="admin", password=PASSWORD)
    )
    with schema_context(bank.schema_name):
        User.objects.create_user(username="operator", password=PASSWORD, role=Role.OPERATOR)
        User.objects.create_user(username="auditor", password=PASSWORD, role=Role.AUDITOR)
        User.objects.create_user(username="branch", password=PASSWORD, role=Role.BRANCH_MANAGER, branch_code="BR01")
    return BankUnderTest(bank=bank, host=bank_host(slug))


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker, django_db_keepdb):  # type: ignore[no-untyped-def]
    """The test database, always (tests that talk to a worker or a server use it without a
    `django_db` mark), with the template schema and the banks Alpha and Beta committed."""
    from django.test.utils import setup_databases, teardown_databases

    from platform.redis import get_redis

    # a clean broker, rate-limit and nonce store for this run (REDIS_URL names a database of its own)
    get_redis().flushdb()
    with django_db_blocker.unblock():
        databases = setup_databases(
            verbosity=0,
            interactive=False,
            aliases={"default"},  # type: ignore[arg-type]
            keepdb=django_db_keepdb,
        )
        template_ensure()
        _make_bank("alpha", "阿尔法银行", "#0a5ec0")
        _make_bank("beta", "贝塔银行", "#1b7f3b")
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            # servers and workers started by tests may still hold a connection for a moment
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close()
            teardown_databases(databases, verbosity=0)


@pytest.fixture(autouse=True)
def _public_schema_after_each_test() -> Iterator[None]:
    yield
    use_public_schema()


@pytest.fixture
def bank_a(db) -> BankUnderTest:  # type: ignore[no-untyped-def]
    return BankUnderTest(bank=Bank.objects.get(slug="alpha"), host=bank_host("alpha"))


@pytest.fixture
def bank_b(db) -> BankUnderTest:  # type: ignore[no-untyped-def]
    return BankUnderTest(bank=Bank.objects.get(slug="beta"), host=bank_host("beta"))


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Database access outside the per-test transaction: rows are visible to other processes."""
    with django_db_blocker.unblock():
        yield
        use_public_schema()


def bank_client(test_bank: BankUnderTest, *, login: str | None = None) -> Client:
    client = Client(HTTP_HOST=test_bank.host)
    if login is not None:
        response = client.post("/console/login/", {"username": login, "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.fixture
def platform_client(db) -> Client:  # type: ignore[no-untyped-def]
    from django.conf import settings

    return Client(HTTP_HOST=settings.PLATFORM_HOST)
