"""Values kept encrypted at rest (AES-256-GCM under a key derived from a node secret), e.g. a participant's address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SEALED_PREFIX", "is_sealed", "seal", "unseal"]

SEALED_PREFIX = "sealed:v1:"
_NONCE = 12


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), b"genomegate sealed\x00" + purpose.encode(), hashlib.sha256).digest()


def seal(secret: str, purpose: str, plaintext: str) -> str:
    """`plaintext` encrypted (random nonce, authenticated with the purpose), as text safe for a column."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key(secret, purpose)).encrypt(nonce, plaintext.encode(), purpose.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def unseal(secret: str, purpose: str, value: str) -> str | None:
    """The plaintext of a sealed value; None when it is not one, or the secret or purpose differ."""
    if not is_sealed(value):
        return None
    body = value.removeprefix(SEALED_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return AESGCM(_key(secret, purpose)).decrypt(raw[:_NONCE], raw[_NONCE:], purpose.encode()).decode()
    except (ValueError, InvalidTag):
        return None
