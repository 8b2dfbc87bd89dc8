"""The Aliyun backend through its official SDK over HTTP, against a local stand-in of the
Dysmsapi endpoint: send, a timeout that is queried (not resent), and the HTTP report push."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from messaging.models import SmsKind, SmsMessage, SmsProviderAccount, SmsStatus
from messaging.services import provider_account_save, sms_enqueue, sms_query, sms_send, template_save
from tests.conftest import BankUnderTest

PORT = 18203

pytestmark = pytest.mark.slow


class FakeDysms(BaseHTTPRequestHandler):
    sends: list[dict[str, str]] = []
    hang_next = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        action = self.headers.get("x-acs-action", "")
        body: dict[str, object]
        if action == "SendSms":
            FakeDysms.sends.append(query)
            if FakeDysms.hang_next:
                FakeDysms.hang_next = False
                time.sleep(2)  # longer than the client's read timeout; the text was taken
            body = {"Code": "OK", "Message": "OK", "BizId": f"biz{len(FakeDysms.sends)}^0", "RequestId": "r"}
        elif action == "QuerySendDetails":
            details = [
                {"OutId": s["OutId"], "SendStatus": 1, "PhoneNum": s["PhoneNumbers"], "ErrCode": "DELIVERED"}
                for s in FakeDysms.sends
                if s["PhoneNumbers"] == query.get("PhoneNumber")
            ]
            body = {"Code": "OK", "TotalCount": len(details), "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}}
        else:
            body = {"Code": "isv.UNKNOWN", "Message": action}
        data = json.dumps(body).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up waiting

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def dysms() -> Iterator[type[FakeDysms]]:
    FakeDysms.sends = []
    FakeDysms.hang_next = False
    server = ThreadingHTTPServer(("127.0.0.1", PORT), FakeDysms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield FakeDysms
    finally:
        server.shutdown()
        server.server_close()


def _setup() -> SmsProviderAccount:
    text = "您的验证码为${code}，${expiry}分钟内有效。"
    template_save(
        key="otp",
        name="验证码",
        signature="阿尔法银行",
        text=text,
        provider_template_code="SMS_100001",
        registered_text=text,
    )
    return provider_account_save(
        backend="aliyun",
        name="阿里云",
        credentials={
            "access_key_id": "ak-test",
            "access_key_secret": "sk-test",
            "endpoint": f"127.0.0.1:{PORT}",
            "protocol": "HTTP",
            "read_timeout_ms": "800",
        },
        quiet_start_hour=0,
        quiet_end_hour=0,
    )


def _otp(phone: str) -> SmsMessage:
    return sms_enqueue(kind=SmsKind.OTP, phone=phone, template_key="otp", params={"code": "246810", "expiry": "5"})


def test_a_text_goes_out_with_the_registered_template(bank_a: BankUnderTest, dysms: type[FakeDysms]) -> None:
    with schema_context(bank_a.schema):
        _setup()
        message = _otp("13712345678")
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
        assert message.status == SmsStatus.SENT and message.provider_message_id == "biz1^0"
        (sent,) = dysms.sends
        assert sent["TemplateCode"] == "SMS_100001" and sent["SignName"] == "阿尔法银行"
        assert json.loads(sent["TemplateParam"]) == {"code": "246810", "expiry": "5"}
        assert sent["OutId"] == str(message.pk)


def test_a_timeout_is_queried_and_not_resent(bank_a: BankUnderTest, dysms: type[FakeDysms]) -> None:
    with schema_context(bank_a.schema):
        _setup()
        dysms.hang_next = True
        message = _otp("13712340000")
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
        assert message.status == SmsStatus.UNKNOWN
        sms_send(message_ids=[message.pk])
        assert len(dysms.sends) == 1
        assert sms_query(message_ids=[message.pk]) == {"accepted": 1}
        message.refresh_from_db()
        assert message.status == SmsStatus.SENT
        assert len(dysms.sends) == 1


def test_the_report_push_marks_delivery_once(bank_a: BankUnderTest, dysms: type[FakeDysms]) -> None:
    with schema_context(bank_a.schema):
        account = _setup()
        message = _otp("13712341111")
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
    report = [
        {
            "phone_number": "13712341111",
            "send_time": "2026-11-23 08:00:00",
            "report_time": "2026-11-23 08:00:05",
            "success": True,
            "err_code": "DELIVERED",
            "biz_id": message.provider_message_id,
            "out_id": str(message.pk),
        }
    ]
    client = Client(HTTP_HOST=bank_a.host)
    url = f"/sms/receipts/aliyun/{account.receipt_token}/"
    first = client.post(url, json.dumps(report), content_type="application/json")
    assert first.status_code == 200 and first.json()["code"] == 0 and first.json()["applied"] == 1
    assert client.post(url, json.dumps(report), content_type="application/json").json()["duplicate"] == 1
    assert (
        client.post(
            "/sms/receipts/aliyun/wrong-token/", json.dumps(report), content_type="application/json"
        ).status_code
        == 404
    )
    with schema_context(bank_a.schema):
        message.refresh_from_db()
        assert message.status == SmsStatus.DELIVERED
