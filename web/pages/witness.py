"""The admins' page of the witness: the peers' logs this node countersigns, and its alarms (each acknowledged with
what was found or done)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from catalogue.deps import SessionDep
from catalogue.errors import InvalidInput
from catalogue.limits import MAX_ID
from catalogue.services.roles import require_admin
from network.witness import status
from network.witness.models import MAX_NOTE, AlarmAcknowledgement, AlarmPublic
from web.forms import attempt
from web.i18n import translator
from web.routing import page_router
from web.session import SignedInPageDep
from web.templating import render

__all__ = ["router"]

router = page_router()


@router.get("/admin/network/witness", response_class=HTMLResponse)
def witness_page(request: Request, session: SessionDep, caller: SignedInPageDep) -> HTMLResponse:
    require_admin(caller)
    return render(request, "witness.html", {"logs": status.watched_logs(session),
                                            "alarms": status.alarms(session, limit=status.MAX_PAGE)})


@router.post("/admin/network/witness/alarms/{alarm_id}/acknowledge")
def acknowledge(alarm_id: int, request: Request, session: SessionDep, caller: SignedInPageDep,
                note: Annotated[str, Form(max_length=MAX_NOTE)] = "") -> RedirectResponse:
    require_admin(caller)
    if not 1 <= alarm_id <= MAX_ID:
        alarm_id = 0  # answered as an alarm that does not exist

    def acknowledged() -> AlarmPublic:
        if not note.strip():
            raise InvalidInput(translator(request).gettext("Say what you found or did."), field="note")
        return status.acknowledge(session, caller, alarm_id, AlarmAcknowledgement(note=note.strip()))

    return attempt(request, acknowledged, back="/admin/network/witness",
                   done=translator(request).gettext("Alarm %(id)s is acknowledged.", id=alarm_id))
