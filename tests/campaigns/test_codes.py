"""Codes are unguessable, unambiguous, typo-resistant, and never readable from the database."""

from __future__ import annotations

from django_tenants.utils import schema_context

from campaigns.bulk import code_unseal
from campaigns.codes import ALPHABET, code_format, code_generate_many, code_normalize
from campaigns.models import Code
from tests.campaigns.factories import launched_campaign
from tests.conftest import BankUnderTest
from tests.support.api import bank_system


def test_codes_have_the_promised_shape_and_alphabet() -> None:
    codes = code_generate_many(20_000)
    assert len(set(codes)) == len(codes)
    assert set("".join(codes)) <= set(ALPHABET) and not set("01IO") & set(ALPHABET)
    formatted = code_format(codes[0])
    assert len(formatted) == 16 and formatted.count("-") == 3
    # every symbol position carries randomness: all 32 symbols appear in each of the 12 body positions
    for position in range(12):
        assert len({code[position] for code in codes}) == 32


def test_typing_is_forgiving_but_a_typo_is_caught() -> None:
    code = code_generate_many(1)[0]
    typed = code_format(code).lower().replace("-", " ")
    assert code_normalize(typed) == code
    wrong = code[:5] + ("3" if code[5] != "3" else "4") + code[6:]
    assert code_normalize(wrong) is None
    swapped = next(
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(11)
        if code[i] != code[i + 1] and {code[i], code[i + 1]} != {"2", "Z"}
    )
    assert code_normalize(swapped) is None
    assert code_normalize("not a code") is None


def test_a_database_dump_shows_neither_code_nor_phone(bank_a: BankUnderTest) -> None:
    campaign = launched_campaign(bank_a)
    system = bank_system(bank_a)
    response = system.request(
        "POST",
        "/api/v1/grants",
        {"campaign_id": campaign.pk, "phone": "13812345678"},
        headers={"Idempotency-Key": "dump-1"},
    )
    assert response.status_code == 201
    with schema_context(bank_a.schema):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT row_to_json(c)::text FROM campaigns_code c")
            dump = " ".join(row[0] for row in cursor.fetchall())
            cursor.execute("SELECT row_to_json(g)::text FROM campaigns_grant g")
            dump += " ".join(row[0] for row in cursor.fetchall())
        code = Code.objects.get(grant_id=response.json()["id"])
        plaintext = code_unseal(code.sealed)
    assert plaintext not in dump and code_format(plaintext) not in dump
    assert "13812345678" not in dump and "138****5678" in dump
