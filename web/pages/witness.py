"""The admins' page of the witness: the peers' logs this node countersigns, and its alarms."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from catalogue.deps import SessionDep
from catalogue.services.roles import require_admin
from network.witness import status
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
