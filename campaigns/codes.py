"""Redemption codes: 60 random bits from the OS's cryptographic source, written in an alphabet
without look-alikes, with a check character, read as `XXXX-XXXX-XXXX-C`.

The alphabet has 32 symbols (no 0, 1, I, O), so 12 symbols carry exactly 60 bits. The check
symbol is the sum of the symbols' values weighted 1..12, modulo 31 (a prime): it catches every
single-symbol typo and every swap of two neighbours, except between `2` and `Z` (values 0 and 31),
so almost every typo is answered "check the code" without touching the database.
"""

from __future__ import annotations

import secrets

import numpy as np

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_INDEX = {symbol: i for i, symbol in enumerate(ALPHABET)}
BODY_LENGTH = 12
# symbols people confuse with one in the alphabet, read as that one
_LOOKALIKES = str.maketrans({"0": "Q", "O": "Q", "1": "L", "I": "L"})


# _WEIGHTED[p][symbol] = value of symbol × weight of position p
_WEIGHTED = [{symbol: value * (position + 1) for symbol, value in _INDEX.items()} for position in range(BODY_LENGTH)]
_CODEPOINTS = np.array([ord(symbol) for symbol in ALPHABET], dtype="<u4")


def _check_symbol(body: str) -> str:
    w = _WEIGHTED
    total = (
        w[0][body[0]]
        + w[1][body[1]]
        + w[2][body[2]]
        + w[3][body[3]]
        + w[4][body[4]]
        + w[5][body[5]]
        + w[6][body[6]]
        + w[7][body[7]]
        + w[8][body[8]]
        + w[9][body[9]]
        + w[10][body[10]]
        + w[11][body[11]]
    )
    return ALPHABET[total % 31]


def code_generate_many(count: int) -> list[str]:
    """`count` new codes, vectorised: 60 random bits per code from the OS, cut into twelve 5-bit
    symbols, the weighted check computed for all codes at once."""
    if count <= 0:
        return []
    raw = np.frombuffer(secrets.token_bytes(8 * count), dtype="<u8") >> np.uint64(4)
    shifts = np.arange(0, 60, 5, dtype=np.uint64)
    symbols = ((raw[:, None] >> shifts[None, :]) & np.uint64(31)).astype(np.int64)
    weights = np.arange(1, BODY_LENGTH + 1, dtype=np.int64)
    check = (symbols * weights).sum(axis=1) % 31
    codepoints = _CODEPOINTS[np.concatenate([symbols, check[:, None]], axis=1)]
    return codepoints.view(f"<U{BODY_LENGTH + 1}").ravel().tolist()  # type: ignore[no-any-return]


def code_normalize(text: str) -> str | None:
    """Canonical form of what a person typed, or None if it cannot be a code of ours."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum()).translate(_LOOKALIKES)
    if len(cleaned) != BODY_LENGTH + 1 or any(ch not in _INDEX for ch in cleaned):
        return None
    if _check_symbol(cleaned[:BODY_LENGTH]) != cleaned[-1]:
        return None
    return cleaned


def code_format(canonical: str) -> str:
    """`ABCDEFGHJKLMN` → `ABCD-EFGH-JKLM-N`."""
    return f"{canonical[0:4]}-{canonical[4:8]}-{canonical[8:12]}-{canonical[12:]}"
