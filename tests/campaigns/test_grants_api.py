"""Bank systems grant rights through the signed API: idempotent, with a stable error for each refusal."""

from __future__ import annotations

import json

from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from campaigns.models import Grant
from messaging.models import SmsMessage
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest
from tests.support.api import bank_system


def _post(system, payload, key):  # type: ignore[no-untyped-def]
    return system.request("POST", "/api/v1/grants", payload, headers={"Idempotency-Key": key})


def test_a_grant_is_created_its_code_sent_and_it_can_be_read_back(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    system = bank_system(bank_a)
    response = _post(
        system,
        {"campaign_id": campaign.pk, "phone": "+86 138 0013 8000", "branch_code": "BR01", "customer_ref": "C-1"},
        "grant-1",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "138****8000" and body["branch_code"] == "BR01"
    assert len(body["codes"]) == 1 and body["codes"][0]["code"].startswith("****-")
    again = system.request("GET", f"/api/v1/grants/{body['id']}")
    assert again.status_code == 200 and again.json() == body
    with schema_context(bank_a.schema):
        message = SmsMessage.objects.get(dedupe_key=f"grant-{body['id']}-part-1")
        assert message.phone_masked == "138****8000" and message.campaign_ref == str(campaign.pk)
        assert AuditEntry.objects.filter(action="grant.create", actor_label=f"api:{system.key_id}").exists()


def test_a_repeat_with_the_same_key_and_body_returns_the_first_answer(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    system = bank_system(bank_a)
    payload = {"campaign_id": campaign.pk, "phone": "13900139000"}
    first = _post(system, payload, "same-key")
    second = _post(system, payload, "same-key")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    with schema_context(bank_a.schema):
        assert Grant.objects.filter(campaign=campaign).count() == 1
    changed = _post(system, {**payload, "phone": "13900139001"}, "same-key")
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "idempotency.key_reused"
    with schema_context(bank_a.schema):
        assert Grant.objects.filter(campaign=campaign).count() == 1


def test_refusals_have_stable_codes_and_change_nothing(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a, budget_count=1, budget_fen=2900)
    draft = launched_campaign(bank_a, launch=False)
    system = bank_system(bank_a)
    cases = [
        ({"campaign_id": campaign.pk, "phone": "12345"}, 422, "grant.invalid_phone"),
        ({"campaign_id": 999999, "phone": "13700137000"}, 404, "campaign.not_found"),
        ({"campaign_id": draft.pk, "phone": "13700137000"}, 409, "campaign.not_live"),
        ({"phone": "13700137000"}, 422, "grant.invalid_field"),
    ]
    for index, (payload, status, code) in enumerate(cases):
        response = _post(system, payload, f"refuse-{index}")
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), payload
    assert _post(system, {"campaign_id": campaign.pk, "phone": "13700137000"}, "ok-1").status_code == 201
    duplicate = _post(system, {"campaign_id": campaign.pk, "phone": "13700137000"}, "dup-1")
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "grant.duplicate"
    exhausted = _post(system, {"campaign_id": campaign.pk, "phone": "13700137001"}, "over-1")
    assert exhausted.json()["error"]["code"] == "campaign.budget_exhausted"
    with schema_context(bank_a.schema):
        assert Grant.objects.filter(campaign=campaign).count() == 1
    no_key = system.request("POST", "/api/v1/grants", {"campaign_id": campaign.pk, "phone": "13700137002"})
    assert no_key.json()["error"]["code"] == "idempotency.key_required"
    bad_json = system.request("POST", "/api/v1/grants", None, headers={"Idempotency-Key": "x"})
    assert bad_json.status_code in (400, 422)


def test_openapi_document_and_docs(bank_a: BankUnderTest) -> None:
    from django.test import Client

    client = Client(HTTP_HOST=bank_a.host)
    spec = json.loads(client.get("/api/v1/openapi.json").content)
    assert spec["openapi"].startswith("3.") and "/api/v1/grants" in spec["paths"]
    docs = client.get("/api/v1/docs").content.decode()
    assert "idempotency.key_reused" in docs and "X-Quanyi-Signature" in docs
