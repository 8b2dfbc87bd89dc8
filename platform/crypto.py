"""Personal data at rest: authenticated encryption for values we must show or send again, keyed
digests for look-ups, and masks for screens and logs.

Ciphertext format: `v1:<key index>:<urlsafe base64 of nonce + AES-256-GCM ciphertext>`; the first key
of `PII_ENCRYPTION_KEYS` encrypts, every listed key decrypts, so keys can be rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings


@cache
def _keys() -> tuple[bytes, ...]:
    keys = []
    for encoded in settings.PII_ENCRYPTION_KEYS:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        # any length of key material is stretched to the 32 bytes AES-256 wants
        keys.append(hashlib.sha256(b"quanyi-pii-key:" + raw).digest())
    if not keys:
        raise RuntimeError("PII_ENCRYPTION_KEYS is empty")
    return tuple(keys)


def encrypt(plaintext: str, *, context: str = "") -> str:
    """Encrypt; `context` (for example the bank's schema) is bound as associated data."""
    nonce = os.urandom(12)
    sealed = AESGCM(_keys()[0]).encrypt(nonce, plaintext.encode(), context.encode())
    return "v1:0:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str, *, context: str = "") -> str:
    version, index, body = token.split(":", 2)
    if version != "v1":
        raise ValueError("unknown ciphertext version")
    raw = base64.urlsafe_b64decode(body)
    return _open(int(index), raw[:12], raw[12:], context.encode()).decode()


def _open(index: int, nonce: bytes, sealed: bytes, context: bytes) -> bytes:
    keys = _keys()
    # try the named key first, then the others (a key list reordered by a rotation)
    for i in [index] + [i for i in range(len(keys)) if i != index]:
        if i >= len(keys):
            continue
        try:
            return AESGCM(keys[i]).decrypt(nonce, sealed, context)
        except Exception:  # noqa: BLE001, S112 - wrong key: try the next one
            continue
    raise ValueError("cannot decrypt with any configured key")


def digest(value: str, *, purpose: str) -> str:
    """A keyed digest for equality look-ups; different purposes never collide."""
    key = settings.PII_DIGEST_KEY.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """`13812341234` → `138****1234`."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


# --- compact binary form, for millions of rows (codes) --------------------------------------
# layout: 1 byte version (1), 1 byte key index, 12 bytes nonce, ciphertext + 16 bytes tag


def encrypt_many(plaintexts: list[bytes], *, context: bytes = b"") -> list[bytes]:
    """Encrypt many values at once (one call to the OS for all the nonces)."""
    nonces = os.urandom(12 * len(plaintexts))
    encrypt = AESGCM(_keys()[0]).encrypt
    return [
        b"\x01\x00" + nonces[12 * i : 12 * i + 12] + encrypt(nonces[12 * i : 12 * i + 12], value, context)
        for i, value in enumerate(plaintexts)
    ]


def decrypt_bytes(token: bytes, *, context: bytes = b"") -> bytes:
    if token[:1] != b"\x01":
        raise ValueError("unknown ciphertext version")
    return _open(token[1], token[2:14], token[14:], context)


@cache
def _digest16_key() -> bytes:
    return hashlib.sha256(b"quanyi-digest16:" + settings.PII_DIGEST_KEY.encode()).digest()


def digest_bytes(value: str, *, purpose: str) -> bytes:
    """A 16-byte keyed digest (keyed BLAKE2b) for large indexed columns: phones and codes.
    128 bits keep collisions out of reach for billions of rows at half the index size."""
    return digest_many([value], purpose=purpose)[0]


def digest_many(values: list[str], *, purpose: str) -> list[bytes]:
    key, blake2b, prefix = _digest16_key(), hashlib.blake2b, f"{purpose}:"
    return [blake2b((prefix + value).encode(), key=key, digest_size=16).digest() for value in values]
