"""Bank API for grants: `POST /api/v1/grants` (idempotent by `Idempotency-Key`) and `GET /api/v1/grants/{id}`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from accounts.api_auth import api_endpoint
from accounts.models import ApiScope
from campaigns.models import Grant, IdempotencyRecord
from campaigns.selectors import grant_get
from campaigns.services import grant_create
from platform.errors import ApplicationError
from platform.tenancy import BankRequest


def _grant_json(grant: Grant) -> dict[str, Any]:
    codes = list(grant.codes.order_by("part"))
    return {
        "id": grant.pk,
        "campaign_id": grant.campaign_id,
        "phone": grant.phone_masked,
        "branch_code": grant.branch_code,
        "customer_ref": grant.customer_ref,
        "source": grant.source,
        "created_at": grant.created_at.isoformat(),
        "codes": [
            {
                "code": code.masked,
                "part": code.part,
                "status": code.status,
                "valid_from": code.valid_from.isoformat(),
                "valid_until": code.valid_until.isoformat(),
            }
            for code in codes
        ],
    }


def _json(status: int, payload: dict[str, Any], *, replayed: bool = False) -> JsonResponse:
    response = JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@api_endpoint(scope=ApiScope.GRANTS_WRITE)
def grants_create(request: BankRequest) -> HttpResponse:
    if request.method != "POST":
        raise ApplicationError("api.method_not_allowed", _("请使用 POST"), status=405)
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 100:
        raise ApplicationError("idempotency.key_required", _("请提供 Idempotency-Key 请求头（不超过 100 字符）"))
    body_hash = hashlib.sha256(request.body).hexdigest()
    try:
        payload = json.loads(request.body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError as error:
        raise ApplicationError("api.invalid_json", _("请求体须为 JSON 对象")) from error
    key_id = request.api_key.key_id

    def replay(record: IdempotencyRecord) -> JsonResponse:
        if record.request_hash != body_hash:
            raise ApplicationError("idempotency.key_reused", _("该 Idempotency-Key 已用于不同的请求"), status=422)
        return _json(record.status_code, record.response, replayed=True)

    existing = IdempotencyRecord.objects.filter(key_id=key_id, idempotency_key=key).first()
    if existing is not None:
        return replay(existing)
    try:
        with transaction.atomic():
            # the record is inserted first: a concurrent twin waits on its unique key, then replays
            record = IdempotencyRecord.objects.create(
                key_id=key_id, idempotency_key=key, request_hash=body_hash, status_code=0, response={}
            )
            try:
                campaign_id = int(payload["campaign_id"])
            except (KeyError, TypeError, ValueError) as error:
                raise ApplicationError("grant.invalid_field", _("campaign_id 须为整数"), status=422) from error
            result = grant_create(
                campaign_id=campaign_id,
                bank=request.tenant,
                phone=str(payload.get("phone", "")),
                branch_code=str(payload.get("branch_code", "")),
                customer_ref=str(payload.get("customer_ref", "")),
                actor_label=f"api:{key_id}",
            )
            status, response = 201, _grant_json(result.grant)
            record.status_code, record.response = status, response
            record.save(update_fields=["status_code", "response"])
            from campaigns.delivery import grant_codes_send

            grant_codes_send(grant=result.grant, codes=result.codes)
    except IntegrityError:
        return replay(IdempotencyRecord.objects.get(key_id=key_id, idempotency_key=key))
    except ApplicationError as error:
        # a refusal is an answer too: remembered, so a retry with the same key gets the same one
        IdempotencyRecord.objects.get_or_create(
            key_id=key_id,
            idempotency_key=key,
            defaults={"request_hash": body_hash, "status_code": error.status, "response": error.as_dict()},
        )
        raise
    return _json(status, response)


@api_endpoint(scope=ApiScope.GRANTS_READ)
def grants_detail(request: BankRequest, grant_id: int) -> dict[str, Any]:
    grant = grant_get(grant_id=grant_id)
    if grant is None:
        raise ApplicationError("grant.not_found", _("发放记录不存在"), status=404)
    return _grant_json(grant)
