"""The Stripe webhook endpoint on the platform host: raw body in, one event processed once."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services import stripe_webhook_receive
from platform.errors import ApplicationError


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        outcome = stripe_webhook_receive(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.status)
    return JsonResponse({"received": True, "outcome": outcome})
