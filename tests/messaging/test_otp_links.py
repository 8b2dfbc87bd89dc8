"""One-time codes and signed links: single use, expiring, limited, and bound to one bank."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from messaging.backends import test as fake
from messaging.links import short_link, signed_token_create, signed_token_read
from messaging.models import SmsMessage
from messaging.otp import otp_issue, otp_verify
from messaging.services import sms_send
from platform.errors import ApplicationError
from platform.redis import get_redis
from tests.conftest import BankUnderTest, bank_client
from tests.messaging.support import use_fake_provider


def _issue_and_read_code(phone: str, purpose: str = "redeem") -> str:
    _account, key = use_fake_provider()
    otp_issue(phone=phone, purpose=purpose)
    message = SmsMessage.objects.order_by("-pk").first()
    assert message is not None
    sms_send(message_ids=[message.pk])
    match = re.search(r"验证码为(\d{6})", fake.received(key)[-1]["text"])
    assert match is not None
    return match.group(1)


def test_a_code_works_once(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        phone = "13600000001"
        code = _issue_and_read_code(phone)
        # only a digest is kept
        values = [get_redis().get(k) for k in get_redis().scan_iter("otp:bank_alpha:redeem:*")]
        assert values and all(code.encode() not in (v or b"") for v in values)
        assert not otp_verify(phone=phone, purpose="login", code=code)  # another purpose
        assert otp_verify(phone=phone, purpose="redeem", code=code)
        assert not otp_verify(phone=phone, purpose="redeem", code=code)


def test_wrong_codes_are_bounded(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        phone = "13600000002"
        code = _issue_and_read_code(phone)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for _ in range(5):
            assert not otp_verify(phone=phone, purpose="redeem", code=wrong)
        assert not otp_verify(phone=phone, purpose="redeem", code=code)  # burnt by the guesses


def test_a_second_code_within_a_minute_is_refused(bank_a: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        phone = "13600000003"
        _issue_and_read_code(phone)
        with pytest.raises(ApplicationError) as caught:
            otp_issue(phone=phone, purpose="redeem")
        assert caught.value.code == "sms.rate_limited"


def test_a_code_of_bank_a_does_nothing_on_bank_b(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    phone = "13600000004"
    with schema_context(bank_a.schema):
        code = _issue_and_read_code(phone)
    with schema_context(bank_b.schema):
        assert not otp_verify(phone=phone, purpose="redeem", code=code)
    with schema_context(bank_a.schema):
        assert otp_verify(phone=phone, purpose="redeem", code=code)


def test_signed_links_expire_and_are_bound_to_their_bank(bank_a: BankUnderTest, bank_b: BankUnderTest) -> None:
    with schema_context(bank_a.schema):
        token = signed_token_create(payload={"grant": 42}, ttl_s=600)
        assert signed_token_read(token=token) == {"grant": 42}
        expired = signed_token_create(payload={"grant": 42}, ttl_s=-1)
        with pytest.raises(ApplicationError) as caught:
            signed_token_read(token=expired)
        assert caught.value.code == "link.expired"
        with pytest.raises(ApplicationError) as caught:
            signed_token_read(token=token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
        assert caught.value.code == "link.invalid"
        link = short_link(path="/s", token=token)
        assert link == f"http://alpha.quanyi.localhost/s/{token}"
    with schema_context(bank_b.schema):
        with pytest.raises(ApplicationError) as caught:
            signed_token_read(token=token)
        assert caught.value.code == "link.invalid"
    response = bank_client(bank_a).get(f"/s/{token}")
    assert response.status_code == 302 and response["Location"] == f"/r/{token}"
