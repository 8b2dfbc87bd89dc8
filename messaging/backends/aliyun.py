"""Aliyun SMS (Dysmsapi 2017-05-25) through its official SDK: registered signature and template
codes, `SendSms` per message with our message id as `OutId`, `QuerySendDetails` to learn the fate
of a message whose answer we missed, and the HTTP batch push of delivery reports.

The SDK's automatic retries are off: a timeout becomes `unknown` and is queried, never resent.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any

from django.http import HttpRequest

from messaging.backends.base import (
    OutgoingSms,
    QueryResult,
    ReceiptEvent,
    ReceiptRejectedError,
    SendResult,
    SmsBackend,
)

RETRYABLE_CODES = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling.Api", "isv.DAY_LIMIT_CONTROL"}
)
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class AliyunBackend(SmsBackend):
    name = "aliyun"
    supports_query = True
    requires_registered_template = True
    credential_fields = ("access_key_id", "access_key_secret", "endpoint")

    @cached_property
    def client(self) -> Any:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        config = Config(
            access_key_id=self.credentials.get("access_key_id", ""),
            access_key_secret=self.credentials.get("access_key_secret", ""),
            endpoint=self.credentials.get("endpoint") or "dysmsapi.aliyuncs.com",
            protocol=self.credentials.get("protocol") or "HTTPS",
        )
        return Client(config)

    def _runtime(self) -> Any:
        from darabonba.runtime import RuntimeOptions

        return RuntimeOptions(
            autoretry=False,
            max_attempts=1,
            connect_timeout=int(self.credentials.get("connect_timeout_ms", 3000)),
            read_timeout=int(self.credentials.get("read_timeout_ms", 5000)),
        )

    def send_one(self, message: OutgoingSms) -> SendResult:
        from alibabacloud_dysmsapi20170525 import models

        request = models.SendSmsRequest(
            phone_numbers=message.phone,
            sign_name=message.signature,
            template_code=message.provider_template_code,
            template_param=json.dumps(message.params, ensure_ascii=False),
            out_id=str(message.message_id),
        )
        try:
            response = self.client.send_sms_with_options(request, self._runtime())
        except Exception as error:  # noqa: BLE001 - the SDK raises many kinds; all mean "no answer"
            code = str(getattr(error, "code", "") or type(error).__name__)
            if code in RETRYABLE_CODES:
                return SendResult(message.message_id, "rejected", error_code=code, retryable=True)
            if "Connect" in type(error).__name__ and "Timeout" not in type(error).__name__:
                return SendResult(message.message_id, "rejected", error_code=code, retryable=True)
            return SendResult(message.message_id, "unknown", error_code=code[:60])
        body = response.body
        if body.code == "OK":
            return SendResult(message.message_id, "accepted", provider_message_id=str(body.biz_id))
        return SendResult(
            message.message_id, "rejected", error_code=str(body.code)[:60], retryable=body.code in RETRYABLE_CODES
        )

    def query(self, *, message_id: int, phone: str, provider_message_id: str, sent_on: str) -> QueryResult:
        from alibabacloud_dysmsapi20170525 import models

        request = models.QuerySendDetailsRequest(
            phone_number=phone,
            send_date=sent_on.replace("-", ""),
            biz_id=provider_message_id or None,
            page_size=50,
            current_page=1,
        )
        try:
            body = self.client.query_send_details_with_options(request, self._runtime()).body
        except Exception:  # noqa: BLE001 - cannot tell: ask again later
            return QueryResult(state="unknown")
        details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
        for detail in details or []:
            if str(detail.out_id or "") != str(message_id):
                continue
            # SendStatus: 1 waiting for report, 2 failed, 3 delivered
            if detail.send_status == 3:
                return QueryResult(state="delivered", provider_message_id=provider_message_id)
            if detail.send_status == 2:
                return QueryResult(state="failed", error_code=str(detail.err_code or ""))
            return QueryResult(state="accepted", provider_message_id=provider_message_id)
        return QueryResult(state="not_found")

    def parse_receipts(self, request: HttpRequest) -> list[ReceiptEvent]:
        # Aliyun's HTTP push carries no signature: the secret receipt URL is the proof
        try:
            items = json.loads(request.body)
        except ValueError as error:
            raise ReceiptRejectedError("not JSON") from error
        if not isinstance(items, list):
            raise ReceiptRejectedError("not a list")
        events = []
        for item in items:
            biz_id = str(item.get("biz_id", ""))
            events.append(
                ReceiptEvent(
                    event_key=f"{biz_id}:{item.get('phone_number', '')}:{item.get('report_time', '')}",
                    provider_message_id=biz_id,
                    status="delivered" if item.get("success") else "failed",
                    error_code="" if item.get("success") else str(item.get("err_code", ""))[:60],
                )
            )
        return events

    def template_problems(self, *, text: str, provider_template_code: str, registered_text: str) -> list[str]:
        problems = []
        if not provider_template_code:
            problems.append("阿里云要求填写已报备的模板编号（SMS_…）")
        if registered_text and registered_text.strip() != text.strip():
            problems.append("模板内容与已报备内容不一致")
        if registered_text and set(PLACEHOLDER.findall(registered_text)) != set(PLACEHOLDER.findall(text)):
            problems.append("变量与已报备模板的变量不一致")
        return problems
