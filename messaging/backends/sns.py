"""AWS SNS (End User Messaging SMS) through boto3: one `Publish` per message.

The SDK's own retries are switched off: a read timeout after the request went out must become
`unknown`, not a second message. SNS cannot be asked about a message afterwards, so an unknown
outcome waits for an operator's decision. Delivery status goes to CloudWatch Logs, not to us.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from django.conf import settings

from messaging.backends.base import OutgoingSms, SendResult, SmsBackend

# the provider said no, and said it before doing anything: safe to send again later
RETRYABLE_CODES = frozenset({"Throttling", "ThrottledException", "ThrottlingException", "KMSThrottling"})


def e164(phone: str) -> str:
    return phone if phone.startswith("+") else "+86" + phone


class SnsBackend(SmsBackend):
    name = "sns"
    credential_fields = ("region", "access_key_id", "secret_access_key", "endpoint_url", "sender_id")

    @cached_property
    def client(self) -> Any:
        config = Config(
            connect_timeout=float(self.credentials.get("connect_timeout", 3)),
            read_timeout=float(self.credentials.get("read_timeout", 5)),
            retries={"total_max_attempts": 1, "mode": "standard"},  # one attempt: no retry at all
        )
        return boto3.client(
            "sns",
            region_name=self.credentials.get("region") or "ap-southeast-1",
            aws_access_key_id=self.credentials.get("access_key_id") or None,
            aws_secret_access_key=self.credentials.get("secret_access_key") or None,
            endpoint_url=self.credentials.get("endpoint_url") or settings.AWS_ENDPOINT_URL or None,
            config=config,
        )

    def send_one(self, message: OutgoingSms) -> SendResult:
        attributes = {
            "AWS.SNS.SMS.SMSType": {
                "DataType": "String",
                "StringValue": "Promotional" if message.promotional else "Transactional",
            }
        }
        if self.credentials.get("sender_id"):
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.credentials["sender_id"]}
        try:
            response = self.client.publish(
                PhoneNumber=e164(message.phone), Message=message.text, MessageAttributes=attributes
            )
        except (ConnectTimeoutError, EndpointConnectionError):
            # the connection was never made: the request cannot have arrived
            return SendResult(message.message_id, "rejected", error_code="connect_failed", retryable=True)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "ClientError"))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            if code in RETRYABLE_CODES:
                return SendResult(message.message_id, "rejected", error_code=code, retryable=True)
            if status >= 500:
                return SendResult(message.message_id, "unknown", error_code=code)
            return SendResult(message.message_id, "rejected", error_code=code)
        except BotoCoreError as error:
            # read timeout, connection closed mid-answer, …: the request may have been taken
            return SendResult(message.message_id, "unknown", error_code=type(error).__name__)
        return SendResult(message.message_id, "accepted", provider_message_id=str(response["MessageId"]))
