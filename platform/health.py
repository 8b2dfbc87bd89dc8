"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: database and broker answer)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from platform.redis import get_redis


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - report, do not crash the probe
        checks["database"] = f"error: {type(error).__name__}"
    try:
        get_redis().ping()
        checks["broker"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["broker"] = f"error: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
