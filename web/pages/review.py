"""The DAC's review desk: the queue, votes and decisions on a request, entitlements with revoke, the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from access.models import Command, RequestState, VoteChoice
from access.services import audit_log, entitlements, requests, review
from catalogue.deps import SessionDep, SettingsDep
from catalogue.errors import Forbidden
from catalogue.identity import Caller
from web.forms import attempt
from web.i18n import N_, translator
from web.routing import page_router
from web.session import SignedInPageDep
from web.templating import render

__all__ = ["router"]

router = page_router()
Reason = Annotated[str, Form(max_length=5_000)]
_CHOICES = {VoteChoice.approve: N_("approve"), VoteChoice.reject: N_("reject")}
_DECIDED = {Command.approve: N_("Approved: the applicants are entitled."), Command.reject: N_("Rejected."),
            Command.return_: N_("Returned to the applicant for changes.")}


def _desk_member(request: Request, caller: Caller) -> None:
    # The services would answer a non-member with empty lists; the desk says plainly that it is not theirs.
    if not (caller.roles.dac_member_of or caller.is_admin):
        raise Forbidden(translator(request).gettext("the review desk is for members of a data access committee"))


@router.get("/dac", response_class=HTMLResponse)
def queue(request: Request, session: SessionDep, caller: SignedInPageDep,
          state: Annotated[str, Query(max_length=16)] = RequestState.submitted.value) -> HTMLResponse:
    _desk_member(request, caller)
    chosen = RequestState(state) if state in {s.value for s in RequestState} else None  # anything else: all
    rows = [requests.request_public(session, r)
            for r in requests.list_requests(session, caller, scope="dac", state=chosen)]
    return render(request, "dac_queue.html", {"requests": rows, "state": chosen,
                                              "states": [s for s in RequestState if s != RequestState.draft]})


@router.post("/requests/{request_id}/votes")
def vote(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep,
         choice: Annotated[VoteChoice, Form()], reason: Reason = "") -> RedirectResponse:
    return attempt(request, lambda: review.vote(session, caller, request_id, choice, reason),
                   done=translator(request).gettext("Your vote (%(choice)s) is recorded.",
                                                    choice=translator(request).gettext(_CHOICES[choice])),
                   back=f"/requests/{request_id}")


def _end_of(day: date | None) -> datetime | None:
    """Access granted "until" a day lasts to the end of that day (UTC)."""
    return datetime.combine(day, time(23, 59, 59), UTC) if day else None


@router.post("/requests/{request_id}/decision")
def decide(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep, settings: SettingsDep,
           decision: Annotated[Command, Form()], reason: Reason = "",
           access_end: Annotated[date | None, Form()] = None) -> RedirectResponse:
    done = translator(request).gettext(_DECIDED.get(decision, N_("Decided.")))
    return attempt(request, lambda: review.decide(session, caller, request_id, decision, reason=reason,
                                                  access_end=_end_of(access_end),
                                                  default_days=settings.access_days),
                   done=done, back=f"/requests/{request_id}")


@router.post("/requests/{request_id}/close")
def close(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep,
          reason: Reason = "") -> RedirectResponse:
    return attempt(request, lambda: review.close_request(session, caller, request_id, reason),
                   done=translator(request).gettext("Request closed; its entitlements are revoked."),
                   back=f"/requests/{request_id}")


@router.get("/dac/entitlements", response_class=HTMLResponse)
def dac_entitlements(request: Request, session: SessionDep, caller: SignedInPageDep,
                     dataset: Annotated[str | None, Query(max_length=16)] = None) -> HTMLResponse:
    _desk_member(request, caller)
    rows = [entitlements.entitlement_public(e)
            for e in entitlements.list_entitlements(session, caller, scope="dac", dataset_id=dataset or None)]
    return render(request, "dac_entitlements.html", {"entitlements": rows, "dataset": dataset or ""})


@router.post("/dac/entitlements/{entitlement_id}/revoke")
def revoke(entitlement_id: int, request: Request, session: SessionDep, caller: SignedInPageDep,
           reason: Reason = "") -> RedirectResponse:
    return attempt(request, lambda: entitlements.revoke_entitlement(session, caller, entitlement_id, reason),
                   done=translator(request).gettext("Entitlement %(id)s revoked.", id=entitlement_id),
                   back="/dac/entitlements")


@router.get("/dac/audit", response_class=HTMLResponse)
def audit_trail(request: Request, session: SessionDep, caller: SignedInPageDep,
                dataset: Annotated[str | None, Query(max_length=16)] = None,
                action: Annotated[str | None, Query(max_length=64)] = None,
                offset: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    lines = audit_log.list_audit(session, caller, dataset_id=dataset or None, action=action or None, limit=100,
                                 offset=offset)
    return render(request, "dac_audit.html", {"lines": lines, "dataset": dataset or "", "action": action or "",
                                              "offset": offset})
