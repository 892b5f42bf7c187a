"""The admins' page of background jobs: state, progress and error of each, with a retry button on failed ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from catalogue.deps import SessionDep
from catalogue.limits import MAX_ID, MAX_OFFSET
from catalogue.services.roles import require_admin
from jobs import ledger
from jobs.models import JobState
from web.forms import attempt
from web.i18n import translator
from web.routing import page_router
from web.session import SignedInPageDep
from web.templating import render

__all__ = ["router"]

router = page_router()
PAGE = 50


@router.get("/admin/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: SessionDep, caller: SignedInPageDep, state: JobState | None = None,
              kind: Annotated[str, Query(max_length=100)] = "",
              offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> HTMLResponse:
    require_admin(caller)
    page = ledger.list_jobs(session, state=state, kind=kind or None, limit=PAGE, offset=offset)
    return render(request, "jobs.html", {"page": page, "state": state.value if state else "", "kind": kind,
                                         "offset": offset, "size": PAGE, "states": [s.value for s in JobState]})


@router.post("/admin/jobs/{job_id}/retry")
def retry(job_id: int, request: Request, session: SessionDep, caller: SignedInPageDep) -> RedirectResponse:
    require_admin(caller)
    if not 1 <= job_id <= MAX_ID:
        job_id = 0  # answered as a job that does not exist
    return attempt(request, lambda: ledger.retry(session, job_id, actor=caller.subject or "admin"),
                   done=translator(request).gettext("Job %(id)s is queued again.", id=job_id), back="/admin/jobs")
