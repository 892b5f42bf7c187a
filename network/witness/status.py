"""What the witness recorded, as typed answers: the logs it watches, its countersignatures, its alarms."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from network.witness.models import (
    AlarmPublic,
    Countersignature,
    CountersignaturePublic,
    CountersignaturesPublic,
    WatchedLog,
    WatchedLogPublic,
    WitnessAlarm,
)
from network.witness.observe import last_witnessed

__all__ = ["MAX_PAGE", "alarms", "countersignatures", "watched_logs"]

MAX_PAGE = 100


def countersignatures(session: Session, origin: str, *, limit: int = 20, offset: int = 0) -> CountersignaturesPublic:
    """This node's countersignatures of one log, latest (largest) first (anyone may read them: sizes and hashes)."""
    where = Countersignature.origin == origin.rstrip("/")
    count = int(session.exec(select(func.count()).select_from(Countersignature).where(where)).one())
    rows = session.exec(select(Countersignature).where(where).order_by(col(Countersignature.size).desc())
                        .limit(min(limit, MAX_PAGE)).offset(offset)).all()
    return CountersignaturesPublic(data=[CountersignaturePublic.model_validate(r, from_attributes=True) for r in rows],
                                   count=count)


def watched_logs(session: Session) -> list[WatchedLogPublic]:
    """Each peer log this node witnesses: its pinned key, the last look, the latest countersigned size, alarms."""
    counts = {o: int(n) for o, n in session.exec(select(WitnessAlarm.origin, func.count())
                                                  .group_by(col(WitnessAlarm.origin))).all()}
    found = []
    for watched in session.exec(select(WatchedLog).order_by(col(WatchedLog.origin))).all():
        latest = last_witnessed(session, watched.origin)
        found.append(WatchedLogPublic(
            origin=watched.origin, peer_id=watched.peer_id, key_id=watched.key_id, pinned_at=watched.pinned_at,
            pinned_by=watched.pinned_by, checked_at=watched.checked_at, last_error=watched.last_error,
            size=latest.size if latest else None, root=latest.root if latest else None,
            countersigned_at=latest.time if latest else None, alarms=counts.get(watched.origin, 0)))
    return found


def alarms(session: Session, *, limit: int = 20, offset: int = 0) -> list[AlarmPublic]:
    """The witness's alarms, the most recently seen first."""
    rows = session.exec(select(WitnessAlarm).order_by(col(WitnessAlarm.last_seen).desc(), col(WitnessAlarm.id).desc())
                        .limit(min(limit, MAX_PAGE)).offset(offset)).all()
    return [AlarmPublic.model_validate(r, from_attributes=True) for r in rows]
