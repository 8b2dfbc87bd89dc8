"""Read what a cardholder's phone received: the newest outbox message of a kind for a number."""

from __future__ import annotations

import json

from messaging.models import SmsMessage
from platform.crypto import decrypt, digest
from platform.tenancy import current_schema


def last_sms_params(*, phone: str, kind: str) -> dict[str, str]:
    message = SmsMessage.objects.filter(phone_digest=digest(phone, purpose="phone"), kind=kind).order_by("-id").first()
    assert message is not None, f"no {kind} SMS to {phone[:3]}****"
    return json.loads(decrypt(message.params_encrypted, context=f"sms:{current_schema()}"))  # type: ignore[no-any-return]
