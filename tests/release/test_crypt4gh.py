"""Crypt4GH without a server: keys as crypt4gh-keygen writes them, and streams its decrypt reads back."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from crypt4gh import lib as c4gh_lib
from crypt4gh.keys import c4gh, get_private_key

from access.release.crypt4gh import SEGMENT_SIZE, encrypt_stream, encrypted_size, parse_public_key


@pytest.fixture(scope="module")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("keys")
    c4gh.generate(folder / "me.sec", folder / "me.pub", passphrase=b"secret", comment=b"test")
    secret = get_private_key(folder / "me.sec", lambda: "secret")
    return secret, parse_public_key((folder / "me.pub").read_text())


@pytest.mark.parametrize("size", [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 5 * SEGMENT_SIZE + 7])
def test_streams_decrypt_to_the_plaintext_whatever_the_chunking(keypair: tuple[bytes, bytes], size: int,
                                                                tmp_path: Path) -> None:
    secret, public = keypair
    data = os.urandom(size)
    chunks = [data[i:i + 10_007] for i in range(0, size, 10_007)]
    encrypted = b"".join(encrypt_stream(chunks, public, batch=2))
    assert len(encrypted) == encrypted_size(size)
    plain = io.BytesIO()
    c4gh_lib.decrypt([(0, secret, None)], io.BytesIO(encrypted), plain)
    assert hashlib.sha256(plain.getvalue()).digest() == hashlib.sha256(data).digest()


def test_another_key_cannot_decrypt(keypair: tuple[bytes, bytes]) -> None:
    _, public = keypair
    encrypted = b"".join(encrypt_stream([b"private genotypes"], public))
    with pytest.raises(ValueError, match="No supported encryption method"):
        c4gh_lib.decrypt([(0, os.urandom(32), None)], io.BytesIO(encrypted), io.BytesIO())
