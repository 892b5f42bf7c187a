"""The append-only audit log: every line carries the hash of the one before, so edits and deletions show."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from access.models import AuditEvent
from catalogue.database import DatabaseBusy
from catalogue.models import utcnow

__all__ = [
    "GENESIS", "ChainReport", "Line", "append", "append_lines", "event_hash", "leaf_index", "log_size",
    "recomputed_leaves", "stored_leaves", "verify_chain",
]

GENESIS = "0" * 64
_RETRIES = 20
_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]  # lines go in by Core: no ORM object per line


def _time(value: datetime) -> str:
    # SQLite hands timestamps back without a zone, PostgreSQL with one: hash the UTC wall time.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


_HASHED = ("at", "actor", "action", "dataset_id", "request_id", "entitlement_id", "visa_jti", "client", "details")


def _content_hash(line: Mapping[str, Any], prev_hash: str) -> str:
    content = {name: line[name] for name in _HASHED}
    content["prev"], content["at"] = prev_hash, _time(line["at"])
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """The hash of a line: its content and the previous line's hash, canonically serialised."""
    return _content_hash({name: getattr(event, name) for name in _HASHED}, prev_hash)


_HEAD = select(_TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1)


def _head(session: Session) -> str:
    last = session.connection().execute(_HEAD).scalar()  # Core: the head is read once per append
    return last or GENESIS


@dataclass(frozen=True, slots=True)
class Line:
    """A line to append: who did what (to which dataset, request, entitlement or visa), from where, with details."""

    actor: str
    action: str
    dataset_id: str | None = None
    request_id: str | None = None
    entitlement_id: int | None = None
    visa_jti: str | None = None
    client: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def append_lines(session: Session, lines: Sequence[Line]) -> list[dict[str, Any]]:
    """Add lines, in order, in the caller's transaction (they commit with the change they record), and return the
    rows written (their `prev_hash` and `hash` set; not their ids).

    The head is read once and the lines go in by one statement, so many lines cost little more than one (the network
    Beacon writes one per forwarded query). `prev_hash` is unique, so two writers racing for the same head cannot
    fork the chain: the loser retries on the new head inside a savepoint.
    """
    at = utcnow()
    rows = [{"at": at, "actor": line.actor, "action": line.action, "dataset_id": line.dataset_id,
             "request_id": line.request_id, "entitlement_id": line.entitlement_id, "visa_jti": line.visa_jti,
             "client": line.client, "details": line.details} for line in lines]
    if not rows:
        return rows
    for _ in range(_RETRIES):
        prev = _head(session)
        for row in rows:
            row["prev_hash"] = prev
            row["hash"] = prev = _content_hash(row, prev)
        try:
            with session.begin_nested():
                session.execute(insert(_TABLE), rows)
            return rows
        except IntegrityError:  # another writer took the head first: chain anew on the new one
            continue
    raise DatabaseBusy("the audit log is too busy to append to; retry shortly")


def append(session: Session, *, actor: str, action: str, dataset_id: str | None = None,
           request_id: str | None = None, entitlement_id: int | None = None, visa_jti: str | None = None,
           client: str | None = None, details: dict[str, Any] | None = None) -> AuditEvent:
    """Add one line in the caller's transaction (append_lines) and return it (without its id)."""
    row, = append_lines(session, [Line(actor, action, dataset_id, request_id, entitlement_id, visa_jti, client,
                                       details or {})])
    return AuditEvent(**row)


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    broken_at: int | None = None  # id of the first line that does not follow from the one before
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session) -> ChainReport:
    """Recompute every line's hash in order; report the first line that was altered or whose predecessor is gone."""
    prev = GENESIS
    checked = 0
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.prev_hash != prev:
            return ChainReport(checked, event.id, "the line before it was removed or altered (prev_hash differs)")
        if event_hash(event, prev) != event.hash:
            return ChainReport(checked, event.id, "its content was altered (hash differs)")
        prev = event.hash
        checked += 1
    return ChainReport(checked)


# --- the lines as the leaves of a Merkle tree (access.merkle) ------------------------------------------------
# A line's leaf input is its chain hash (32 bytes): it already commits to the line's canonical serialisation and,
# through prev_hash, to every line before it; it is what the audit API shows of a line, and reading the hash column
# alone is enough to make a checkpoint or a proof.


def log_size(session: Session) -> int:
    """How many lines the log has."""
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def stored_leaves(session: Session, size: int | None = None) -> list[bytes]:
    """The stored chain hashes of the first `size` lines (all by default), in id order: the tree's leaf inputs."""
    query = select(AuditEvent.hash).order_by(col(AuditEvent.id))
    if size is not None:
        query = query.limit(size)
    return [_leaf_input(h) for h in session.exec(query)]


def _leaf_input(stored: str) -> bytes:
    try:
        return bytes.fromhex(stored)
    except ValueError:  # a hash column overwritten with something else is a different leaf, not a crash
        return stored.encode()


def recomputed_leaves(session: Session) -> list[tuple[int, bytes]]:
    """(id, chain hash recomputed from the line's content and its prev_hash) of every line, in id order.

    A verifier uses these rather than the stored hashes, so a line edited without its hash still shows.
    """
    query = select(AuditEvent).order_by(col(AuditEvent.id)).execution_options(yield_per=1000)
    return [(int(e.id or 0), bytes.fromhex(event_hash(e, e.prev_hash))) for e in session.exec(query)]


def leaf_index(session: Session, line_id: int) -> int:
    """The 0-based position of a line in the log (ids may have gaps, so it is the count of lines before it)."""
    return int(session.exec(select(func.count()).select_from(AuditEvent).where(col(AuditEvent.id) < line_id)).one())
