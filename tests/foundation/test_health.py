from __future__ import annotations

from django.test import Client

from tests.conftest import BankUnderTest


def test_health_and_readiness_on_every_host(bank_a: BankUnderTest) -> None:
    for host in (bank_a.host, "quanyi.localhost", "10.0.0.7"):
        client = Client(HTTP_HOST=host)
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_an_unknown_host_is_a_plain_404(db) -> None:  # type: ignore[no-untyped-def]
    assert Client(HTTP_HOST="nobody.quanyi.localhost").get("/").status_code == 404
