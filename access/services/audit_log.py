"""Reading the audit log: admins see all of it, DAC members the lines about their DACs' datasets and requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import or_
from sqlmodel import Session, col, select

from access.audit import ChainReport, leaf_index, log_size, stored_leaves, verify_chain
from access.checkpoints import SignedCheckpoint, latest_checkpoint, signed
from access.merkle import consistency_proof, inclusion_proof, leaf_hash, tree_hash
from access.models import AccessRequest, AuditEvent
from catalogue.errors import Forbidden, InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.services.datasets import datasets_of_dacs
from catalogue.services.roles import require_admin, require_authenticated

__all__ = [
    "ConsistencyProof", "InclusionProof", "consistency", "inclusion", "latest", "list_audit", "verify_audit",
]


class InclusionProof(BaseModel):
    """RFC 9162 inclusion proof of one line in the tree of the log's first `size` lines."""

    line: int = Field(description="the line's id")
    leaf_index: int = Field(description="its 0-based position in the log")
    size: int = Field(description="the tree's size")
    leaf: str = Field(description="the leaf input: the line's chain hash (hex); its leaf hash is "
                                  "SHA-256(0x00 || leaf)")
    audit_path: list[str] = Field(description="the proof's node hashes, leaf to root (hex)")
    root: str = Field(description="the root the proof leads to; compare it with a signed checkpoint's")


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof: the tree of the first `first` lines is a prefix of the one of `second`."""

    first: int
    second: int
    proof: list[str] = Field(description="node hashes (hex)")
    first_root: str = Field(description="root of the first tree now; compare with a signed checkpoint's")
    second_root: str = Field(description="root of the second tree now; compare with a signed checkpoint's")


def _visible(session: Session, caller: Caller, query: Any) -> Any:
    """Narrow a query of audit lines to those the caller may read (admins: all; DAC members: their DACs')."""
    require_authenticated(caller)
    if caller.is_admin:
        return query
    if not caller.roles.dac_member_of:
        raise Forbidden("the audit log is for admins and DAC members")
    datasets = datasets_of_dacs(session, caller.roles.dac_member_of)
    requests = select(AccessRequest.id).where(col(AccessRequest.dac_id).in_(caller.roles.dac_member_of))
    return query.where(or_(col(AuditEvent.dataset_id).in_(datasets), col(AuditEvent.request_id).in_(requests)))


def list_audit(session: Session, caller: Caller, *, dataset_id: str | None = None, action: str | None = None,
               limit: int = 100, offset: int = 0) -> list[AuditEvent]:
    query = _visible(session, caller, select(AuditEvent))
    if dataset_id:
        query = query.where(AuditEvent.dataset_id == dataset_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.exec(query.order_by(col(AuditEvent.id)).limit(limit).offset(offset)).all())


def verify_audit(session: Session, caller: Caller) -> ChainReport:
    require_admin(caller)
    return verify_chain(session)


def _within_log(session: Session, size: int, field: str) -> None:
    have = log_size(session)
    if size > have:
        raise InvalidInput(f"{field} {size} is larger than the log ({have} lines)", field=field)


def inclusion(session: Session, caller: Caller, *, line: int, size: int) -> InclusionProof:
    """The proof that a line is among the first `size` lines, for those who may read the line."""
    query = _visible(session, caller, select(AuditEvent.id).where(AuditEvent.id == line))
    if session.exec(query).first() is None:
        if session.get(AuditEvent, line) is None:
            raise NotFound(f"audit line {line} does not exist", field="line")
        raise Forbidden(f"audit line {line} is not about your DACs' datasets or requests", field="line")
    _within_log(session, size, "size")
    index = leaf_index(session, line)
    if index >= size:
        raise InvalidInput(f"line {line} is line number {index + 1}, not among the first {size}", field="size")
    inputs = stored_leaves(session, size)
    leaves = [leaf_hash(h) for h in inputs]
    return InclusionProof(line=line, leaf_index=index, size=size, leaf=inputs[index].hex(),
                          audit_path=[p.hex() for p in inclusion_proof(index, leaves)], root=tree_hash(leaves).hex())


def consistency(session: Session, *, first: int, second: int) -> ConsistencyProof:
    """The proof that the log's first `second` lines extend its first `first` lines (hashes only: anyone)."""
    if first > second:
        raise InvalidInput(f"first ({first}) must not be larger than second ({second})", field="first")
    _within_log(session, second, "second")
    leaves = [leaf_hash(h) for h in stored_leaves(session, second)]
    return ConsistencyProof(first=first, second=second, proof=[p.hex() for p in consistency_proof(first, leaves)],
                            first_root=tree_hash(leaves[:first]).hex(), second_root=tree_hash(leaves).hex())


def latest(session: Session) -> SignedCheckpoint:
    """The latest signed checkpoint (anyone: it shows only a size and hashes)."""
    row = latest_checkpoint(session)
    if row is None:
        raise NotFound("no audit checkpoint was made yet", field="checkpoint")
    return signed(row)
