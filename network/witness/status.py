"""What the witness recorded, as typed answers: the logs it watches, its countersignatures, its alarms."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from access import audit
from catalogue.errors import Conflict, NotFound
from catalogue.identity import Caller
from catalogue.models import utcnow
from catalogue.services.roles import require_admin
from network.witness.models import (
    AlarmAcknowledgement,
    AlarmPublic,
    Countersignature,
    CountersignaturePublic,
    CountersignaturesPublic,
    WatchedLog,
    WatchedLogPublic,
    WitnessAlarm,
)
from network.witness.observe import last_witnessed

__all__ = ["MAX_PAGE", "acknowledge", "alarms", "countersignatures", "watched_logs"]

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
    """Each peer log this node witnesses: its pinned key, the last look, the latest countersigned size, and its
    alarms not acknowledged yet."""
    counts = {o: int(n) for o, n in session.exec(select(WitnessAlarm.origin, func.count())
                                                  .where(col(WitnessAlarm.acknowledged_at).is_(None))
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


def alarms(session: Session, *, limit: int = 20, offset: int = 0, open_only: bool = False) -> list[AlarmPublic]:
    """The witness's alarms (`open_only`: those not acknowledged yet), the most recently seen first."""
    query = select(WitnessAlarm)
    if open_only:
        query = query.where(col(WitnessAlarm.acknowledged_at).is_(None))
    rows = session.exec(query.order_by(col(WitnessAlarm.last_seen).desc(), col(WitnessAlarm.id).desc())
                        .limit(min(limit, MAX_PAGE)).offset(offset)).all()
    return [AlarmPublic.model_validate(r, from_attributes=True) for r in rows]


def acknowledge(session: Session, caller: Caller, alarm_id: int, body: AlarmAcknowledgement) -> AlarmPublic:
    """An admin acknowledges an alarm with what they found or did (audited), and commit. The alarm stays listed,
    as evidence; seen again it stays acknowledged (the same claim), while a new claim raises a new alarm."""
    require_admin(caller)
    alarm = session.get(WitnessAlarm, alarm_id)
    if alarm is None:
        raise NotFound(f"no witness alarm {alarm_id}", field="alarm_id")
    actor = caller.subject or "operator"
    claimed = session.execute(update(WitnessAlarm).where(  # one admin wins when two acknowledge at once
        col(WitnessAlarm.id) == alarm_id, col(WitnessAlarm.acknowledged_at).is_(None),
    ).values(acknowledged_at=utcnow(), acknowledged_by=actor, acknowledgement=body.note))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        session.refresh(alarm)
        raise Conflict(f"alarm {alarm_id} was acknowledged by {alarm.acknowledged_by} already", field="alarm_id")
    audit.append(session, actor=actor, action="network.witness.alarm.acknowledge",
                 details={"alarm": alarm_id, "origin": alarm.origin, "kind": alarm.kind, "note": body.note})
    session.commit()
    session.refresh(alarm)
    return AlarmPublic.model_validate(alarm, from_attributes=True)
