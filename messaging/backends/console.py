"""Development backend: writes each message to the log with the number masked; always accepted."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings

from messaging.backends.base import OutgoingSms, SendResult, SmsBackend
from platform.crypto import mask_phone

logger = logging.getLogger("messaging.console")


class ConsoleBackend(SmsBackend):
    name = "console"
    max_batch = 500

    def send_many(self, messages: list[OutgoingSms]) -> list[SendResult]:
        results = []
        for message in messages:
            provider_id = "console-" + uuid.uuid4().hex[:16]
            # the text can carry a code: it is shown in development only, where it is a demo code
            shown = message.text if settings.DEBUG else f"<{message.template_key}, {len(message.text)} chars>"
            logger.info("SMS %s to %s: %s", provider_id, mask_phone(message.phone), shown)
            results.append(
                SendResult(message_id=message.message_id, outcome="accepted", provider_message_id=provider_id)
            )
        return results
