"""A session, an API key, a staff user or a row of bank Alpha does nothing and shows nothing on bank
Beta's host: in pages, API, admin and Celery tasks."""

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import ApiKey, AuditEntry, User
from accounts.services import audit_record
from platform.redis import get_redis
from tests.conftest import PASSWORD, BankUnderTest, bank_client
from tests.support.api import bank_system
from tests.support.processes import celery_worker, wait_for


def test_a_session_of_alpha_is_anonymous_on_beta(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    alpha = bank_client(bank_a, login="admin")
    assert alpha.get("/console/").status_code == 200
    # the same cookie jar, sent to Beta's host
    response = alpha.get("/console/", HTTP_HOST=bank_b.host)
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")


def test_alpha_staff_cannot_sign_in_on_beta(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        User.objects.create_user(username="alpha-only", password=PASSWORD, role="admin")
    response = Client(HTTP_HOST=bank_b.host).post("/console/login/", {"username": "alpha-only", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in Client().session


def test_an_alpha_key_is_refused_on_beta(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    system = bank_system(bank_a)
    response = system.request("GET", "/api/v1/ping", host=bank_b.host)
    assert response.status_code == 401 and response.json()["error"]["code"] == "auth.key_wrong_bank"
    # relabelled with Beta's prefix, it is unknown there
    relabelled = system.request(
        "GET",
        "/api/v1/ping",
        host=bank_b.host,
        headers={"X-Quanyi-Key": system.key_id.replace("qk_alpha_", "qk_beta_")},
    )
    assert relabelled.json()["error"]["code"] == "auth.unknown_key"


def test_alpha_rows_are_invisible_on_beta(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    system = bank_system(bank_a)
    with schema_context(bank_a.schema):
        audit_record(action="campaign.secret-alpha-action", actor_label="alpha-admin")
    beta_admin = bank_client(bank_b, login="admin")
    assert system.key_id not in beta_admin.get("/console/api-keys/").content.decode()
    assert "secret-alpha-action" not in beta_admin.get("/console/audit/").content.decode()
    with schema_context(bank_b.schema):
        assert not ApiKey.objects.filter(key_id=system.key_id).exists()
        assert not AuditEntry.objects.filter(action="campaign.secret-alpha-action").exists()


def test_platform_admin_is_not_served_on_bank_hosts_and_bank_staff_cannot_enter_it(bank_a: BankUnderTest) -> None:
    assert bank_client(bank_a).get("/admin/").status_code == 404
    platform = Client(HTTP_HOST=settings.PLATFORM_HOST)
    response = platform.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 200  # the form again: Alpha's admin does not exist in the public schema
    assert platform.get("/admin/").status_code == 302


def test_platform_staff_session_does_nothing_on_a_bank_host(db, bank_a: BankUnderTest) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_superuser(username="ops", password=PASSWORD, email="ops@example.com")
    platform = Client(HTTP_HOST=settings.PLATFORM_HOST)
    assert platform.login(username="ops", password=PASSWORD)
    assert platform.get("/admin/").status_code == 200
    assert platform.get("/console/", HTTP_HOST=bank_a.host).status_code == 302


@pytest.mark.slow
def test_a_task_runs_in_the_schema_it_was_sent_from(committed_db) -> None:  # type: ignore[no-untyped-def]
    from platform.tasks import platform_selfcheck_task
    from tenants.models import Bank

    replies = {}
    with celery_worker(queues="default"):
        for slug in ("alpha", "beta"):
            reply_key = f"schema:{uuid.uuid4()}"
            with schema_context(Bank.objects.get(slug=slug).schema_name):
                platform_selfcheck_task.delay(reply_key=reply_key)
            replies[slug] = reply_key
        results = {slug: json.loads(_wait_for_reply(key)) for slug, key in replies.items()}
    assert results["alpha"]["schema_name"] == "bank_alpha"
    assert results["beta"]["schema_name"] == "bank_beta"


def _wait_for_reply(key: str) -> bytes:
    return wait_for(lambda: get_redis().get(key), timeout=60)  # type: ignore[return-value]
