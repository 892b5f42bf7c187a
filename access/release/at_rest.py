"""Crypt4GH at rest: the node key, encrypted copies of stored files, their headers re-encrypted per recipient."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from crypt4gh import header as c4gh_header  # type: ignore[import-untyped]
from crypt4gh import sodium
from crypt4gh.keys import c4gh as c4gh_keys  # type: ignore[import-untyped]
from crypt4gh.keys import get_private_key

from access.release.crypt4gh import SEGMENT_SIZE, encrypt_stream
from access.release.errors import StoredFileChanged

__all__ = [
    "AT_REST_SUFFIX",
    "AtRestUnusable",
    "NodeKey",
    "Reencrypted",
    "at_rest_path",
    "body_size",
    "default_node_key_path",
    "encrypt_file",
    "load_node_key",
    "reencrypt_header",
]

AT_REST_SUFFIX = ".c4gh"
_READ = 1 << 20
_MAC_AND_NONCE = 28
_PEM = "-----BEGIN CRYPT4GH {kind} KEY-----\n{body}\n-----END CRYPT4GH {kind} KEY-----\n"


class AtRestUnusable(Exception):
    """An at-rest copy cannot be served: its header does not open with the node key, or it is truncated.

    Run `genomegate release encrypt-at-rest DATASET` again: it rewrites unusable copies.
    """


@dataclass(frozen=True, slots=True)
class NodeKey:
    """The node's X25519 key pair: stored files are encrypted to `public`, headers are opened with `secret`."""

    secret: bytes
    public: bytes

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.public).hexdigest()


def default_node_key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "node.c4gh.sec"


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new file readable by this user only, atomically; FileExistsError if another was first."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)  # unlike rename, refuses to replace a key another process wrote meanwhile
    finally:
        temp.unlink(missing_ok=True)


def _create_node_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = os.urandom(32)
    # A Crypt4GH key file without a passphrase (kdf and cipher "none"), so `crypt4gh decrypt --sk` reads it too;
    # the file's 0600 mode protects it, as it does the token-signing key beside it.
    encoded = (c4gh_keys.MAGIC_WORD + c4gh_keys.encode_string(None) + c4gh_keys.encode_string(None)
               + c4gh_keys.encode_string(secret) + c4gh_keys.encode_string(b"genomegate node key"))
    try:
        _write_private(path, _PEM.format(kind="PRIVATE", body=base64.b64encode(encoded).decode()).encode())
    except FileExistsError:
        return
    public = base64.b64encode(bytes(sodium.derive_pk(secret))).decode()
    path.with_name(path.name.removesuffix(".sec") + ".pub").write_text(_PEM.format(kind="PUBLIC", body=public))


def load_node_key(path: Path, *, create: bool = False) -> NodeKey | None:
    """The node key pair kept at `path` (a Crypt4GH secret key file); None when absent, unless `create`."""
    if not path.exists():
        if not create:
            return None
        _create_node_key(path)
    secret = bytes(get_private_key(path, lambda: ""))
    return NodeKey(secret=secret, public=bytes(sodium.derive_pk(secret)))


def at_rest_path(plain: Path) -> Path:
    """Where the Crypt4GH copy of a stored file is kept: beside it, with `.c4gh` appended."""
    return plain.with_name(plain.name + AT_REST_SUFFIX)


def body_size(plain_size: int) -> int:
    """Bytes of the encrypted segments of `plain_size` bytes of plaintext (the header excluded)."""
    return plain_size + -(-plain_size // int(SEGMENT_SIZE)) * _MAC_AND_NONCE


def encrypt_file(plain: Path, public: bytes, *, sha256: str,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Write the Crypt4GH copy of `plain` for `public` beside it, atomically, and return its path.

    Reads and writes in 1 MiB pieces; an interrupted run leaves only a hidden temporary file, never a partial copy.
    StoredFileChanged (and no copy) when what was read does not have the expected `sha256`.
    """
    target = at_rest_path(plain)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.part")
    digest = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        with plain.open("rb") as source:
            while chunk := source.read(_READ):
                digest.update(chunk)
                if progress is not None:
                    progress(len(chunk))
                yield chunk

    try:
        with temp.open("wb") as sink:
            for piece in encrypt_stream(chunks(), public):
                sink.write(piece)
            sink.flush()
            os.fsync(sink.fileno())
        if digest.hexdigest() != sha256:
            raise StoredFileChanged(f"{plain} no longer has its catalogued sha256: restore it from a backup "
                                    "before encrypting it at rest")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


@dataclass(frozen=True, slots=True)
class Reencrypted:
    """An at-rest copy ready to serve: a header for the recipient, then the copy's segments from `body_offset` on."""

    path: Path
    header: bytes
    body_offset: int
    body_size: int

    @property
    def size(self) -> int:
        return len(self.header) + self.body_size

    def chunks(self, read: int = _READ) -> Iterator[bytes]:
        yield self.header
        with self.path.open("rb") as handle:
            handle.seek(self.body_offset)
            while chunk := handle.read(read):
                yield chunk


def reencrypt_header(path: Path, node_secret: bytes, recipient: bytes, *, plain_size: int) -> Reencrypted:
    """Open the header of the at-rest copy at `path` with the node key and seal its packets for `recipient` only.

    The data segments are left as they are: only the header (a few hundred bytes) is decrypted and re-encrypted.
    AtRestUnusable when the header does not open with the node key or the segments are not all there.
    """
    sender = os.urandom(32)  # an ephemeral sender, as for a fresh encryption
    try:
        with path.open("rb") as handle:
            packets = list(c4gh_header.parse(handle))
            offset = handle.tell()
        sealed = c4gh_header.reencrypt(packets, [(0, node_secret, None)], [(0, sender, recipient)], trim=True)
    except ValueError as exc:
        raise AtRestUnusable(f"{path.name}: {exc}") from None
    expected = body_size(plain_size)
    actual = path.stat().st_size - offset
    if actual != expected:
        raise AtRestUnusable(f"{path.name}: {actual} bytes of segments where {expected} were expected")
    return Reencrypted(path, bytes(c4gh_header.serialize(sealed)), offset, expected)
