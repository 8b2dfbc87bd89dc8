"""The bank API's own endpoints; business endpoints live with their apps."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.api_auth import api_endpoint
from accounts.models import ApiScope
from platform.tenancy import BankRequest


@api_endpoint(scope=ApiScope.PING)
def ping(request: BankRequest) -> dict[str, Any]:
    return {
        "pong": True,
        "bank": request.tenant.slug,
        "key": request.api_key.key_id,
        "time": timezone.now().isoformat(),
    }
