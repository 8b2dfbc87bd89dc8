"""The SNS backend through boto3 over HTTP: against a local moto server, and against a server
that takes the request and never answers (a timeout must not become a second text)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from messaging.models import SmsEvent, SmsKind, SmsMessage, SmsStatus
from messaging.services import provider_account_save, sms_enqueue, sms_operator_decide, sms_send, sms_sweep
from tests.conftest import BankUnderTest
from tests.support.processes import ROOT, wait_for

MOTO_PORT = 18201
SILENT_PORT = 18202

pytestmark = pytest.mark.slow


def _moto_sms() -> list[dict[str, str]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{MOTO_PORT}/moto-api/data.json", timeout=5) as response:
        return list(json.load(response)["sns"]["SMS"])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(MOTO_PORT)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _reachable(MOTO_PORT), timeout=30)
        yield f"http://127.0.0.1:{MOTO_PORT}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class SilentServer:
    """Reads each request and never answers, counting requests."""

    def __init__(self, port: int) -> None:
        self.requests = 0
        self.stopped = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        # a blocked accept() would keep the port bound after close(): poll instead
        self.sock.settimeout(0.2)
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped:
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(2)
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if data.startswith(b"POST"):
                self.requests += 1
            self.held.append(conn)

    def close(self) -> None:
        self.stopped = True
        self.thread.join(timeout=5)
        self.sock.close()
        for conn in self.held:
            conn.close()


def _use_sns(endpoint: str, **extra: str) -> None:
    provider_account_save(
        backend="sns",
        name="AWS",
        credentials={
            "region": "us-east-1",
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "endpoint_url": endpoint,
            **extra,
        },
        quiet_start_hour=0,
        quiet_end_hour=0,
    )


def _arrival(phone: str) -> SmsMessage:
    return sms_enqueue(
        kind=SmsKind.ARRIVAL,
        phone=phone,
        template_key="arrival",
        params={"right_name": "加油卡", "arrival_text": "请查收"},
    )


def test_a_text_goes_out_through_sns(bank_a: BankUnderTest, moto_server: str) -> None:
    with schema_context(bank_a.schema):
        _use_sns(moto_server)
        message = _arrival("13512345678")
        sms_send(message_ids=[message.pk])
        message.refresh_from_db()
        assert message.status == SmsStatus.SENT and message.backend == "sns"
        published = {item["message_id"]: item for item in _moto_sms()}
        assert published[message.provider_message_id]["phone_number"] == "+8613512345678"
        assert published[message.provider_message_id]["message"] == "【阿尔法银行】您兑换的加油卡已到账。请查收"


def test_an_sns_timeout_is_never_resent_without_an_operator(bank_a: BankUnderTest) -> None:
    server = SilentServer(SILENT_PORT)
    try:
        with schema_context(bank_a.schema):
            _use_sns(f"http://127.0.0.1:{SILENT_PORT}", read_timeout="1", connect_timeout="1")
            message = _arrival("13512340000")
            sms_send(message_ids=[message.pk])
            message.refresh_from_db()
            assert message.status == SmsStatus.UNKNOWN
            assert server.requests == 1  # the SDK did not retry on its own
            # a redelivered task and the sweeper, much later, send nothing
            sms_send(message_ids=[message.pk])
            SmsMessage.objects.filter(pk=message.pk).update(updated_at=timezone.now() - timedelta(hours=2))
            sms_sweep()
            sms_send(message_ids=[message.pk])
            assert server.requests == 1
            # the operator decides to send it again: now, and only now, a second request
            sms_operator_decide(message=message, decision="resend", actor=User.objects.get(username="operator"))
            sms_send(message_ids=[message.pk])
            assert server.requests == 2
            assert list(SmsEvent.objects.filter(message=message).values_list("status", flat=True)) == [
                "queued",
                "sending",
                "unknown",
                "queued",
                "sending",
                "unknown",
            ]
    finally:
        server.close()
