"""Signed checkpoints of the audit log: the node signs the Merkle root of its first lines; a log that shrinks shows."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from access.audit import log_size, recomputed_leaves, stored_leaves
from access.merkle import consistency_proof, leaf_hash, tree_hash, verify_consistency
from access.models import AuditCheckpoint
from catalogue.errors import Conflict, InvalidInput

__all__ = [
    "AuditKey",
    "AuditSigner",
    "CheckpointFile",
    "CheckpointRefused",
    "CheckpointReport",
    "SignedCheckpoint",
    "audit_key_path",
    "checkpoint_note",
    "checkpoint_verifies",
    "latest_checkpoint",
    "make_checkpoint",
    "node_signer",
    "signed",
    "verify_log",
]

log = logging.getLogger("genomegate.audit")


class CheckpointRefused(Conflict):
    """The log no longer extends the last signed checkpoint: lines it covered were removed or rewritten.

    This is tampering (or a restore from an old backup). Run `genomegate audit verify` to see which lines; restore
    the log from a backup made after the checkpoint. No checkpoint is made until the log extends it again.
    """


# --- the node's key -------------------------------------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class AuditKey:
    """An Ed25519 public key that checkpoints are verified with (the node's, or one read from its JWK)."""

    def __init__(self, public: Ed25519PublicKey) -> None:
        self._public = public
        self.raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.raw).hexdigest()[:16]

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> AuditKey:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
            raise InvalidInput("the audit key is not an Ed25519 JWK (kty OKP, crv Ed25519, x)", field="key")
        x = str(jwk["x"])
        return cls(Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))))

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(self.raw), "kid": self.key_id, "alg": "EdDSA",
                "use": "sig"}

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class AuditSigner:
    """The node's Ed25519 key that signs checkpoints; kept in the data dir (mode 0600), made on first use."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = AuditKey(private.public_key())

    @classmethod
    def load_or_create(cls, path: Path) -> AuditSigner:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            # A private temporary file linked into place: two processes racing here both end up with one key.
            temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
                try:
                    os.link(temp, path)
                except FileExistsError:
                    pass
            finally:
                temp.unlink(missing_ok=True)
        private = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise InvalidInput(f"{path} is not an Ed25519 private key", field="audit_key")
        return cls(private)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def audit_key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "audit-key.pem"


@lru_cache(maxsize=8)
def node_signer(data_dir: Path) -> AuditSigner:
    """The node's checkpoint signer for a data dir, read (or made) once per process."""
    return AuditSigner.load_or_create(audit_key_path(data_dir))


# --- checkpoints ----------------------------------------------------------------------------------------------

class SignedCheckpoint(BaseModel):
    """A checkpoint as published: the node signed `note`, the text of origin, size, root and time."""

    origin: str = Field(description="the node's public base URL")
    size: int = Field(ge=1, le=2**31, description="how many lines, from the first, the tree covers")
    root: str = Field(pattern="^[0-9a-f]{64}$", description="RFC 9162 Merkle tree hash of those lines (hex)")
    time: str = Field(description="when the node signed it (UTC, ISO 8601)")
    key_id: str = Field(description="the signing key's id (the first 16 hex digits of SHA-256 of the public key)")
    note: str = Field(description="the exact text signed: origin, size, base64 root, time, one per line")
    signature: str = Field(description="Ed25519 signature of the note (base64)")


class CheckpointFile(SignedCheckpoint):
    """A checkpoint written to a file, optionally with the leaves it covers, which let a verifier name a line."""

    leaves: list[str] | None = Field(None, description="the chain hash of each covered line, in order (hex)")


def checkpoint_note(origin: str, size: int, root: bytes, time: str) -> str:
    """The signed text, laid out like a C2SP tlog checkpoint body (origin, size, base64 root) plus the time."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\ntime {time}\n"


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed(row: AuditCheckpoint) -> SignedCheckpoint:
    """The published form of a stored checkpoint (taken as stored: its signature says whether to trust it)."""
    time = row.note.rstrip("\n").rsplit("\n", 1)[-1].removeprefix("time ")
    return SignedCheckpoint.model_construct(origin=row.origin, size=row.size, root=row.root, time=time,
                                            key_id=row.key_id, note=row.note, signature=row.signature)


def _signature_ok(checkpoint: SignedCheckpoint, key: AuditKey) -> bool:
    try:
        expected = checkpoint_note(checkpoint.origin, checkpoint.size, bytes.fromhex(checkpoint.root),
                                   checkpoint.time)
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except ValueError:
        return False
    return checkpoint.note == expected and key.verifies(expected.encode(), signature)


def checkpoint_verifies(checkpoint: SignedCheckpoint, key: AuditKey) -> bool:
    """Whether the checkpoint's note is the text of its fields and its signature verifies with `key`."""
    return _signature_ok(checkpoint, key)


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The stored checkpoint of the largest size."""
    return session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.size).desc()).limit(1)).first()


def _refuse(reason: str) -> CheckpointRefused:
    log.error("audit log tampering: %s", reason)
    return CheckpointRefused(reason)


def make_checkpoint(session: Session, signer: AuditSigner, *, origin: str, now: datetime | None = None,
                    recheck: bool = False) -> AuditCheckpoint | None:
    """Sign and store a checkpoint of the whole log; None when nothing was logged since the last one (or the log
    is empty, or another process stored this size first).

    Refuses (CheckpointRefused, logged as tampering) when the log is shorter than the last checkpoint, or its
    first lines no longer hash to that checkpoint's root (the consistency proof fails), or the last checkpoint's
    signature does not verify. When the log has as many lines as the last checkpoint it returns at once, without
    reading them, unless `recheck` asks to check them anyway. A plain function, so that any scheduler can call it.
    """
    previous = latest_checkpoint(session)
    if previous is not None and not recheck and log_size(session) == previous.size:
        return None
    leaves = [leaf_hash(h) for h in stored_leaves(session)]
    size = len(leaves)
    if previous is not None:
        if not _signature_ok(signed(previous), signer.public):
            raise _refuse(f"the stored checkpoint of size {previous.size} does not verify with the node's key")
        if size < previous.size:
            raise _refuse(f"the log has {size} lines, fewer than the {previous.size} of the last checkpoint: "
                          f"{previous.size - size} were removed")
        root = tree_hash(leaves)
        proof = consistency_proof(previous.size, leaves)
        if not verify_consistency(previous.size, size, bytes.fromhex(previous.root), root, proof):
            raise _refuse(f"the log's first {previous.size} lines no longer hash to the root of the last checkpoint: "
                          "a line it covers was rewritten")
        if size == previous.size:
            return None
    elif size == 0:
        return None
    else:
        root = tree_hash(leaves)
    time = _time(now or datetime.now(UTC))
    note = checkpoint_note(origin, size, root, time)
    row = AuditCheckpoint(size=size, root=root.hex(), made_at=datetime.fromisoformat(time), origin=origin,
                          key_id=signer.public.key_id, note=note,
                          signature=base64.b64encode(signer.sign(note.encode())).decode())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process (a second worker) checkpointed this size first
        return None
    session.commit()
    log.info("audit checkpoint: %d lines, root %s", size, row.root)
    return row


# --- verification ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CheckpointReport:
    """What a checkpoint says of the log now: `problems` is empty when the log still holds what it covers."""

    size: int
    log_size: int
    problems: tuple[str, ...] = ()
    first_differing: int | None = None  # id of the first line that differs, when the leaves are known

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log(session: Session, checkpoint: SignedCheckpoint, key: AuditKey, leaves: list[str] | None = None,
               earlier: Sequence[SignedCheckpoint] = ()) -> CheckpointReport:
    """Check a checkpoint's signature, then that the log still has its lines and they hash to its root.

    Lines are hashed from their content (not their stored hashes). With the checkpoint's leaves (a checkpoint
    file written with them, authenticated by its signed root) the first differing line is named; without them,
    `earlier` checkpoints (whose signatures verify) narrow down where the log stops matching.
    """
    if not _signature_ok(checkpoint, key):
        return CheckpointReport(checkpoint.size, log_size(session), ("the checkpoint's signature does not verify",))
    covered: list[bytes] | None = None
    if leaves is not None:
        try:
            covered = [leaf_hash(bytes.fromhex(h)) for h in leaves]
        except ValueError:
            covered = []
        if len(covered) != checkpoint.size or tree_hash(covered).hex() != checkpoint.root:
            return CheckpointReport(checkpoint.size, log_size(session),
                                    ("the checkpoint file's leaves do not hash to its signed root",))
    lines = [(line, leaf_hash(h)) for line, h in recomputed_leaves(session)]
    size, have = checkpoint.size, len(lines)
    problems: list[str] = []
    first: int | None = None
    if covered is not None:
        first = next((lines[i][0] for i in range(min(size, have)) if lines[i][1] != covered[i]), None)
    if have < size:
        problems.append(f"{size - have} lines were removed since the checkpoint (it covers {size}, the log has "
                        f"{have})")
        if first is not None:
            problems.append(f"line {first} differs from what the checkpoint covers")
    elif tree_hash([h for _, h in lines[:size]]).hex() != checkpoint.root:
        if first is not None:
            problems.append(f"line {first} differs from what the checkpoint covers")
        else:
            problems.append(_where(lines, checkpoint, key, [c for c in earlier if c.size < size]))
    return CheckpointReport(size, have, tuple(problems), first)


def _where(lines: list[tuple[int, bytes]], checkpoint: SignedCheckpoint, key: AuditKey,
           earlier: list[SignedCheckpoint]) -> str:
    """Without the leaves: the largest earlier checkpoint the log still matches bounds where it was changed.

    A log's prefixes match up to some size and not after, so a bisection over the checkpoints finds it; one whose
    signature fails counts as not matching (the bound found is then lower, still true).
    """
    hashes = [h for _, h in lines]
    earlier.sort(key=lambda c: c.size)
    lo, hi, match = 0, len(earlier) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if _signature_ok(earlier[mid], key) and tree_hash(hashes[:earlier[mid].size]).hex() == earlier[mid].root:
            match, lo = earlier[mid], mid + 1
        else:
            hi = mid - 1
    message = f"the log's first {checkpoint.size} lines do not hash to the checkpoint's root"
    if match is None:
        return f"{message}: a line among them was altered or removed"
    return (f"{message}: a line after line {lines[match.size - 1][0]} was altered or removed (the checkpoint of "
            f"size {match.size}, {match.time}, still matches)")
