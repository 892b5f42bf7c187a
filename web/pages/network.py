"""The admins' page of the network: each peer, what it is sent, its health as last checked and its catalogue's
last harvest."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from catalogue.deps import SessionDep
from catalogue.services.roles import require_admin
from network import remote
from web.routing import page_router
from web.session import SignedInPageDep
from web.templating import render

__all__ = ["router"]

router = page_router()


@router.get("/admin/network", response_class=HTMLResponse)
def network_page(request: Request, session: SessionDep, caller: SignedInPageDep) -> HTMLResponse:
    require_admin(caller)
    found = remote.peer_statuses(session)
    return render(request, "network.html", {"peers": found})
