"""HTTP API of the witness under /api/network/witness: its countersignatures (anyone), its watch (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from catalogue.deps import SessionDep, SignedInDep
from catalogue.limits import MAX_OFFSET
from catalogue.problems import problems
from catalogue.services.roles import require_admin
from network.witness import status
from network.witness.models import AlarmAcknowledgement, AlarmPublic, CountersignaturesPublic, WatchedLogPublic

__all__ = ["router"]

router = APIRouter(prefix="/api/network/witness", tags=["network"])
Limit = Annotated[int, Query(ge=1, le=status.MAX_PAGE, description="at most this many (1 to 100)")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="skip this many")]


@router.get("/countersignatures",
            summary="This node's countersignatures of a peer's audit log, the largest size first (anyone: they show "
                    "only sizes and hashes)")
def countersignatures(session: SessionDep,
                      origin: Annotated[str, Query(min_length=8, max_length=500,
                                                   description="the witnessed log's origin: the peer's base URL")],
                      limit: Limit = 20, offset: Offset = 0) -> CountersignaturesPublic:
    return status.countersignatures(session, origin, limit=limit, offset=offset)


@router.get("/logs", responses=problems(403),
            summary="The peers' logs this node witnesses: pinned keys, the last look, the latest countersigned "
                    "size, alarms (admins)")
def watched_logs(session: SessionDep, caller: SignedInDep) -> list[WatchedLogPublic]:
    require_admin(caller)
    return status.watched_logs(session)


@router.get("/alarms", responses=problems(403),
            summary="Peers' checkpoints this node refused to countersign, and why, the latest first (admins)")
def alarms(session: SessionDep, caller: SignedInDep, limit: Limit = 20, offset: Offset = 0) -> list[AlarmPublic]:
    require_admin(caller)
    return status.alarms(session, limit=limit, offset=offset)


@router.post("/alarms/{alarm_id}/acknowledge", responses=problems(403, 404, 409),
             summary="Acknowledge an alarm with what was found or done; it stays listed, as evidence (admins)")
def acknowledge_alarm(alarm_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: AlarmAcknowledgement,
                      session: SessionDep, caller: SignedInDep) -> AlarmPublic:
    return status.acknowledge(session, caller, alarm_id, body)
