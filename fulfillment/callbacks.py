"""Inbound supplier callbacks on the bank hosts: `/callbacks/<dialect>/<supplier code>`.

Verified by the adapter layer (IP allow-list, signature, merchant), then matched to our attempt by
order number and supplier, checked for the amount, applied under the order's row lock and answered
with exactly the acknowledgement the dialect expects. Idempotent: a duplicate or a stale
"processing" after the final state changes nothing and is still acknowledged (else the supplier
keeps retrying)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from fulfillment import engine
from fulfillment.models import FulfilmentAttempt, OrderEvent
from fulfillment.suppliers import CallbackRejected, CallbackRequest, verify_callback
from rights_catalog.models import Supplier

logger = logging.getLogger("quanyi.fulfilment.callbacks")


@csrf_exempt
@require_POST
def callback_receive(request: HttpRequest, dialect: str, supplier_code: str) -> HttpResponse:
    supplier = Supplier.objects.filter(code=supplier_code, dialect=dialect).first()
    if supplier is None:
        return HttpResponse("unknown supplier", status=404, content_type="text/plain")
    remote_ip = request.META.get("REMOTE_ADDR", "")
    try:
        event = verify_callback(supplier, CallbackRequest.from_django(request), remote_ip)
    except CallbackRejected as error:
        logger.warning("callback from %s for %s rejected: %s", remote_ip, supplier.code, error.code)
        return HttpResponse(error.code, status=403, content_type="text/plain")
    status = event.status
    attempt = (
        FulfilmentAttempt.objects.select_related("order", "order__product")
        .filter(order_number=status.order_number, supplier=supplier)
        .first()
    )
    if attempt is None:
        return HttpResponse("unknown order", status=404, content_type="text/plain")
    expected = attempt.order.product.face_value_fen
    if status.amount_fen is not None and status.amount_fen != expected:
        OrderEvent.objects.create(
            order=attempt.order,
            attempt=attempt,
            kind="callback_amount_mismatch",
            from_status=attempt.order.status,
            to_status=attempt.order.status,
            data={"expected_fen": expected, "got_fen": status.amount_fen},
        )
        return HttpResponse("amount mismatch", status=400, content_type="text/plain")
    engine.callback_apply(attempt_id=attempt.pk, status=status)
    return HttpResponse(event.ack_body, content_type=event.ack_content_type)


urlpatterns = [
    path("callbacks/<str:dialect>/<slug:supplier_code>", callback_receive, name="fulfilment-callback"),
]
