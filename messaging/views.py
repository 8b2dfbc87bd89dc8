"""Inbound delivery receipts (one URL per provider account) and the short H5 link."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging.backends.base import ReceiptRejectedError
from messaging.models import SmsProviderAccount
from messaging.services import backend_for, sms_receipts_apply

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def receipt(request: HttpRequest, backend: str, token: str) -> HttpResponse:
    account = SmsProviderAccount.objects.filter(backend=backend, receipt_token=token).first()
    if account is None:
        return JsonResponse(
            {"error": {"code": "sms.receipt_unknown", "message": "unknown receipt address"}}, status=404
        )
    try:
        events = backend_for(account).parse_receipts(request)
    except ReceiptRejectedError as error:
        logger.warning("SMS receipt refused for %s: %s", backend, error)
        return JsonResponse({"error": {"code": "sms.receipt_rejected", "message": "not verified"}}, status=403)
    counts = sms_receipts_apply(backend_name=backend, events=events)
    # Aliyun wants {"code": 0}; the others only look at the status
    return JsonResponse({"code": 0, "msg": "成功", **counts})


def short_redirect(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponseRedirect(f"/r/{token}")
