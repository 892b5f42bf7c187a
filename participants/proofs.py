"""Inclusion proofs of single audit lines against a signed checkpoint, and their check with only the public key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from access.audit import event_hash, leaf_index, stored_leaves
from access.checkpoints import AuditKey, SignedCheckpoint, checkpoint_verifies, latest_checkpoint, signed
from access.merkle import inclusion_proof, leaf_hash, verify_inclusion
from access.models import AuditEvent

__all__ = ["AuditLine", "LineProof", "ProofCheck", "Prover", "check_proof"]

_TIME = "%Y-%m-%dT%H:%M:%S.%f"


class AuditLine(BaseModel):
    """An audit line as it was hashed: its fields, its time as hashed (UTC) and the hash of the line before it."""

    id: int
    at: str = Field(description="UTC time as hashed, YYYY-MM-DDTHH:MM:SS.ffffff")
    actor: str
    action: str
    dataset_id: str | None = None
    request_id: str | None = None
    entitlement_id: int | None = None
    visa_jti: str | None = None
    client: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditLine:
        # as access.audit hashes it: SQLite gives naive UTC, PostgreSQL an aware time
        at = event.at if event.at.tzinfo is None else event.at.astimezone(UTC).replace(tzinfo=None)
        return cls(id=int(event.id or 0), at=at.strftime(_TIME), actor=event.actor, action=event.action,
                   dataset_id=event.dataset_id, request_id=event.request_id, entitlement_id=event.entitlement_id,
                   visa_jti=event.visa_jti, client=event.client, details=dict(event.details), prev_hash=event.prev_hash)

    def chain_hash(self) -> str:
        """The line's hash recomputed from these fields (access.audit.event_hash), as the log's leaf input."""
        event = AuditEvent(at=datetime.strptime(self.at, _TIME), actor=self.actor, action=self.action,
                           dataset_id=self.dataset_id, request_id=self.request_id,
                           entitlement_id=self.entitlement_id, visa_jti=self.visa_jti, client=self.client,
                           details=self.details, prev_hash=self.prev_hash, hash="")
        return event_hash(event, self.prev_hash)


class LineProof(BaseModel):
    """That a line is in the node's audit log: RFC 9162 inclusion of its hash in a checkpoint the node signed."""

    line: AuditLine
    leaf_index: int = Field(ge=0, description="the line's 0-based position in the log")
    audit_path: list[str] = Field(description="the inclusion proof's node hashes, leaf to root (hex)")
    checkpoint: SignedCheckpoint


@dataclass(frozen=True, slots=True)
class ProofCheck:
    ok: bool
    reason: str = ""


def check_proof(proof: LineProof, key: AuditKey) -> ProofCheck:
    """Check a line's proof with the node's public key alone: the checkpoint's signature, then that the line's
    recomputed hash leads by the audit path to the signed root. Any altered field fails it."""
    checkpoint = proof.checkpoint
    if not checkpoint_verifies(checkpoint, key):
        return ProofCheck(False, "the checkpoint's signature does not verify with this key")
    try:
        leaf = bytes.fromhex(proof.line.chain_hash())
        path = [bytes.fromhex(h) for h in proof.audit_path]
        root = bytes.fromhex(checkpoint.root)
    except ValueError:
        return ProofCheck(False, "the proof holds something that is not a hex hash")
    if not verify_inclusion(proof.leaf_index, checkpoint.size, leaf_hash(leaf), path, root):
        return ProofCheck(False, "the line, its position or its audit path does not lead to the signed root")
    return ProofCheck(True)


class Prover:
    """Proves lines against the latest signed checkpoint, reading the log's leaves once for many lines."""

    def __init__(self, session: Session) -> None:
        self._session = session
        row = latest_checkpoint(session)
        self.checkpoint = signed(row) if row is not None else None
        self._leaves: list[bytes] | None = None

    def prove(self, event: AuditEvent) -> LineProof | None:
        """The line's proof, or None while no checkpoint covers it yet (a worker signs one every few minutes)."""
        if self.checkpoint is None or event.id is None:
            return None
        index = leaf_index(self._session, event.id)
        if index >= self.checkpoint.size:
            return None
        if self._leaves is None:
            self._leaves = [leaf_hash(h) for h in stored_leaves(self._session, self.checkpoint.size)]
        path: Sequence[bytes] = inclusion_proof(index, self._leaves)
        return LineProof(line=AuditLine.of(event), leaf_index=index, audit_path=[p.hex() for p in path],
                         checkpoint=self.checkpoint)
