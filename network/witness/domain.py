"""The witness's rules as pure functions: what a countersignature says, and whether a checkpoint extends the last.

A countersignature is this node's Ed25519 signature (its audit key) over a short text naming the witness, the
watched log's origin, its size, its root (base64) and the time; a verifier rebuilds the text from those fields.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from access.checkpoints import AuditKey, AuditSigner
from access.merkle import verify_consistency

__all__ = ["HEADER", "Signed", "Witnessed", "countersign", "countersignature_note", "countersignature_verifies",
           "extends", "stamp"]

HEADER = "genomegate countersignature v1"


@dataclass(frozen=True, slots=True)
class Witnessed:
    """The last checkpoint of a log this node countersigned: what the next one must extend."""

    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class Signed:
    note: str
    signature: str  # base64


def countersignature_note(witness: str, origin: str, size: int, root: bytes, time: str) -> str:
    """The text a witness signs: one field a line, the root in base64 as in the checkpoint's own note."""
    return (f"{HEADER}\nwitness {witness}\norigin {origin}\nsize {size}\nroot {base64.b64encode(root).decode()}\n"
            f"time {time}\n")


def stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def countersign(signer: AuditSigner, *, witness: str, origin: str, size: int, root: bytes, time: str) -> Signed:
    note = countersignature_note(witness, origin, size, root, time)
    return Signed(note, base64.b64encode(signer.sign(note.encode())).decode())


def countersignature_verifies(key: AuditKey, *, witness: str, origin: str, size: int, root_hex: str, time: str,
                              note: str, signature: str) -> bool:
    """Whether `note` is the text of these fields and `signature` verifies over it with the witness's key."""
    try:
        expected = countersignature_note(witness, origin, size, bytes.fromhex(root_hex), time)
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    return note == expected and key.verifies(expected.encode(), raw)


def extends(previous: Witnessed | None, size: int, root: bytes, proof: Sequence[bytes] | None) -> str | None:
    """None when a checkpoint of (size, root) extends the one witnessed before (RFC 9162 consistency, checked
    against the two signed roots, never roots a peer sends with its proof); otherwise why it does not."""
    if previous is None:
        return None
    if size < previous.size:
        return (f"its checkpoint covers {size} lines, fewer than the {previous.size} witnessed before: "
                f"{previous.size - size} lines were removed")
    if size == previous.size:
        if root == previous.root:
            return None
        return (f"its checkpoint of {size} lines has another root than the one witnessed for that size: "
                "a line among them was rewritten")
    if proof is None or not verify_consistency(previous.size, size, previous.root, root, proof):
        return (f"its log of {size} lines does not extend the {previous.size} lines witnessed before (the "
                "consistency proof fails): a line witnessed was rewritten or removed")
    return None
