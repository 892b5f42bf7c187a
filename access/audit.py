"""The append-only audit log: every line carries the hash of the one before, so edits and deletions show."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from access.models import AuditEvent
from catalogue.database import DatabaseBusy
from catalogue.models import utcnow

__all__ = ["GENESIS", "ChainReport", "append", "event_hash", "verify_chain"]

GENESIS = "0" * 64
_RETRIES = 20


def _time(value: datetime) -> str:
    # SQLite hands timestamps back without a zone, PostgreSQL with one: hash the UTC wall time.
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """The hash of a line: its content and the previous line's hash, canonically serialised."""
    content = {
        "prev": prev_hash, "at": _time(event.at), "actor": event.actor, "action": event.action,
        "dataset_id": event.dataset_id, "request_id": event.request_id, "entitlement_id": event.entitlement_id,
        "visa_jti": event.visa_jti, "client": event.client, "details": event.details,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _head(session: Session) -> str:
    last = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    return last or GENESIS


def append(session: Session, *, actor: str, action: str, dataset_id: str | None = None,
           request_id: str | None = None, entitlement_id: int | None = None, visa_jti: str | None = None,
           client: str | None = None, details: dict[str, Any] | None = None) -> AuditEvent:
    """Add a line in the caller's transaction (it commits with the change it records).

    `prev_hash` is unique, so two writers racing for the same head cannot fork the chain: the loser
    retries on the new head inside a savepoint.
    """
    event = AuditEvent(at=utcnow(), actor=actor, action=action, dataset_id=dataset_id, request_id=request_id,
                       entitlement_id=entitlement_id, visa_jti=visa_jti, client=client, details=details or {},
                       prev_hash=GENESIS, hash=GENESIS)
    for _ in range(_RETRIES):
        prev = _head(session)
        event.prev_hash, event.hash = prev, event_hash(event, prev)
        try:
            with session.begin_nested():
                session.add(event)
            return event
        except IntegrityError:  # the savepoint's rollback detached the line; build it anew on the new head
            event = AuditEvent.model_validate(event.model_dump(exclude={"id"}))
    raise DatabaseBusy("the audit log is too busy to append to; retry shortly")


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
