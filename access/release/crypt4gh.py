"""Crypt4GH for release: reading researchers' public keys and encrypting a stream to one, segment by segment."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Iterator

from crypt4gh import SEGMENT_SIZE  # type: ignore[import-untyped]
from crypt4gh import header as c4gh_header
from crypt4gh.keys import ssh as c4gh_ssh  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from catalogue.errors import InvalidInput

__all__ = ["SEGMENT_SIZE", "encrypt_stream", "encrypted_size", "fingerprint", "parse_public_key"]

_KEY_BYTES = 32
_NONCE_BYTES = 12
_MAC_AND_NONCE = 28  # each encrypted segment is its plaintext plus a 12-byte nonce and a 16-byte MAC
_PEM_BEGIN = "-----BEGIN CRYPT4GH PUBLIC KEY-----"
_PEM_END = "-----END CRYPT4GH PUBLIC KEY-----"


def parse_public_key(text: str) -> bytes:
    """The 32-byte X25519 key in a Crypt4GH public key file, an ssh-ed25519 line or bare base64."""
    text = text.strip()
    if text.startswith("ssh-"):
        try:
            key = bytes(c4gh_ssh.get_public_key(text.encode()))
        except Exception:  # the library raises bare errors on malformed lines
            raise InvalidInput("the ssh public key could not be read (only ssh-ed25519 is usable)",
                               field="public_key") from None
    else:
        body = text
        if text.startswith(_PEM_BEGIN):
            if not text.endswith(_PEM_END):
                raise InvalidInput(f"a Crypt4GH public key ends with {_PEM_END}", field="public_key")
            body = text[len(_PEM_BEGIN):-len(_PEM_END)]
        try:
            key = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the public key is not valid base64", field="public_key") from None
    if len(key) != _KEY_BYTES:
        raise InvalidInput(f"a Crypt4GH public key holds {_KEY_BYTES} bytes, this one {len(key)}", field="public_key")
    return key


def fingerprint(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


def _header(recipient: bytes, session_key: bytes) -> bytes:
    sender_secret = os.urandom(_KEY_BYTES)  # an ephemeral sender: the recipient's key alone opens the header
    packet = c4gh_header.make_packet_data_enc(0, session_key)
    return bytes(c4gh_header.serialize(list(c4gh_header.encrypt(packet, [(0, sender_secret, recipient)]))))


def encrypted_size(plain_size: int) -> int:
    """Bytes of the encrypted stream for `plain_size` bytes of plaintext (header included)."""
    segments: int = -(-plain_size // SEGMENT_SIZE)
    return len(_header(os.urandom(_KEY_BYTES), os.urandom(_KEY_BYTES))) + plain_size + segments * _MAC_AND_NONCE


def encrypt_stream(chunks: Iterable[bytes], recipient: bytes, *, batch: int = 16) -> Iterator[bytes]:
    """A Crypt4GH file (header, then ChaCha20-Poly1305 segments of 64 KiB) for `recipient`, yielded in batches.

    Segments are sealed with `cryptography`'s ChaCha20-Poly1305 (the same IETF construction as libsodium's, several
    times faster here). Memory stays bounded: under one segment of plaintext waits, `batch` segments go out together.
    """
    session_key = os.urandom(_KEY_BYTES)
    yield _header(recipient, session_key)
    aead = ChaCha20Poly1305(session_key)
    pending = b""
    out: list[bytes] = []
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        view, at = memoryview(data), 0
        while len(data) - at >= SEGMENT_SIZE:
            nonce = os.urandom(_NONCE_BYTES)
            out += (nonce, aead.encrypt(nonce, view[at:at + SEGMENT_SIZE], None))
            at += SEGMENT_SIZE
            if len(out) >= 2 * batch:
                yield b"".join(out)
                out.clear()
        pending = bytes(view[at:])
        view.release()
    if pending:
        nonce = os.urandom(_NONCE_BYTES)
        out += (nonce, aead.encrypt(nonce, pending, None))
    if out:
        yield b"".join(out)
