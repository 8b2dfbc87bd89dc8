"""The bank API's OpenAPI 3 document, and a readable page of it (no external scripts)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.shortcuts import render

AUTH_HEADERS = [
    {
        "name": "X-Quanyi-Key",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "API key id, `qk_<bank>_<random>`",
    },
    {
        "name": "X-Quanyi-Timestamp",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Unix seconds; at most 300 s from the server's clock",
    },
    {
        "name": "X-Quanyi-Nonce",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "16–64 characters [A-Za-z0-9_-], never reused",
    },
    {
        "name": "X-Quanyi-Signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "hex HMAC-SHA256 with the key's secret of METHOD\\nPATH\\nSORTED_QUERY\\nTIMESTAMP\\nNONCE\\n"
        "SHA256_HEX(BODY)",
    },
]
ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}
GRANT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "campaign_id": {"type": "integer"},
        "phone": {"type": "string", "description": "masked, 138****1234"},
        "branch_code": {"type": "string"},
        "customer_ref": {"type": "string"},
        "source": {"type": "string", "enum": ["api", "whitelist", "pool"]},
        "created_at": {"type": "string", "format": "date-time"},
        "codes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "masked, ****-K7QX"},
                    "part": {"type": "integer"},
                    "status": {"type": "string", "enum": ["active", "redeemed", "expired", "void"]},
                    "valid_from": {"type": "string", "format": "date-time"},
                    "valid_until": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
}
ERROR_CODES = {
    "auth.missing_headers": "a signing header is missing",
    "auth.key_wrong_bank": "the key belongs to another bank",
    "auth.unknown_key": "no such key",
    "auth.key_revoked": "the key was revoked",
    "auth.stale_timestamp": "timestamp more than 300 s away",
    "auth.bad_nonce": "nonce of the wrong form",
    "auth.bad_signature": "signature does not match",
    "auth.replayed_nonce": "nonce already used",
    "auth.scope_denied": "the key lacks the scope",
    "bank.suspended": "the bank's service is suspended",
    "idempotency.key_required": "POST without Idempotency-Key",
    "idempotency.key_reused": "Idempotency-Key reused with a different body",
    "api.invalid_json": "body is not a JSON object",
    "grant.invalid_phone": "not a mainland mobile number",
    "grant.invalid_field": "a field is missing or too long",
    "grant.duplicate": "the phone already has a grant in this campaign (`grant_id` given)",
    "grant.not_found": "no such grant",
    "campaign.not_found": "no such campaign",
    "campaign.not_live": "campaign not live or scheduled",
    "campaign.api_grants_disabled": "the campaign takes whitelists only",
    "campaign.budget_exhausted": "the campaign's budget cannot cover another grant",
}


def openapi_document() -> dict[str, Any]:
    def responses(ok: dict[str, Any], *statuses: int) -> dict[str, Any]:
        result: dict[str, Any] = {**ok}
        for status in statuses:
            result[str(status)] = {"description": "error", "content": {"application/json": {"schema": ERROR}}}
        return result

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Quanyi bank API",
            "version": "1.0",
            "description": "Signed requests from a bank's systems. Error codes: "
            + "; ".join(f"`{c}` {d}" for c, d in ERROR_CODES.items()),
        },
        "paths": {
            "/api/v1/ping": {
                "get": {
                    "summary": "Check a key and its signature",
                    "parameters": AUTH_HEADERS,
                    "responses": responses({"200": {"description": "pong"}}, 401, 403),
                }
            },
            "/api/v1/grants": {
                "post": {
                    "summary": "Grant a cardholder a campaign's rights (codes are sent by SMS)",
                    "parameters": [
                        *AUTH_HEADERS,
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 100},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["campaign_id", "phone"],
                                    "properties": {
                                        "campaign_id": {"type": "integer"},
                                        "phone": {"type": "string"},
                                        "branch_code": {"type": "string", "maxLength": 32},
                                        "customer_ref": {"type": "string", "maxLength": 64},
                                    },
                                }
                            }
                        },
                    },
                    "responses": responses(
                        {
                            "201": {
                                "description": "granted (a repeat with the same key and body "
                                "returns the first answer with Idempotent-Replayed)",
                                "content": {"application/json": {"schema": GRANT}},
                            }
                        },
                        400,
                        401,
                        403,
                        404,
                        409,
                        422,
                    ),
                }
            },
            "/api/v1/grants/{id}": {
                "get": {
                    "summary": "A grant and its codes' status",
                    "parameters": [
                        *AUTH_HEADERS,
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    ],
                    "responses": responses(
                        {"200": {"description": "the grant", "content": {"application/json": {"schema": GRANT}}}},
                        401,
                        403,
                        404,
                    ),
                }
            },
        },
    }


def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"ensure_ascii": False, "indent": 2})


def api_docs(request: HttpRequest) -> Any:
    return render(request, "api/docs.html", {"doc": openapi_document(), "error_codes": ERROR_CODES})
