"""The researcher's pages: the access request form, a request's page (shared with its DAC), and "my requests"."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from access.deps import remote_resolver
from access.domain import allowed_commands
from access.models import AccessRequest, RequestCreate, RequestState, RequestUpdate
from access.services import attachments, entitlements, requests, review
from access.services.requests import EDITABLE
from catalogue.deps import SessionDep, SettingsDep
from catalogue.duo import DUO_TERMS, DuoKind
from catalogue.errors import InvalidInput
from catalogue.identity import Caller
from catalogue.models import utcnow
from web.forms import attempt, split_list
from web.i18n import translator
from web.routing import page_router
from web.session import SignedInPageDep
from web.templating import render

__all__ = ["PURPOSES", "router"]

router = page_router()
PURPOSES = [t for t in DUO_TERMS.values() if t.kind is DuoKind.purpose]
Text = Annotated[str, Form(max_length=10_000)]


def _fields(project_title: str, lay_summary: str, purpose: list[str], disease_terms: str, institution: str,
            for_profit: bool, co_applicants: str) -> dict[str, Any]:
    return {"project_title": project_title.strip(), "lay_summary": lay_summary.strip(), "purpose": purpose,
            "disease_terms": split_list(disease_terms), "institution": institution.strip(),
            "for_profit": for_profit, "co_applicants": split_list(co_applicants)}


@router.get("/requests", response_class=HTMLResponse)
def my_requests(request: Request, session: SessionDep, caller: SignedInPageDep,
                settings: SettingsDep) -> HTMLResponse:
    mine = [requests.request_public(session, r) for r in requests.list_requests(session, caller, scope="mine")]
    granted = [entitlements.entitlement_public(e)
               for e in entitlements.list_entitlements(session, caller, scope="mine")]
    return render(request, "my_requests.html", {"requests": mine, "entitlements": granted,
                                                "base_url": settings.public_base_url})


@router.get("/requests/new", response_class=HTMLResponse)
def new_request(request: Request, session: SessionDep, caller: SignedInPageDep,
                dataset: Annotated[list[str], Query(min_length=1, max_length=50)]) -> HTMLResponse:
    resolve = remote_resolver(request)  # a dataset held at a peer whose DAC sits here is named by its URL there
    chosen = [requests.requested_dataset(session, caller, d, resolve) for d in dict.fromkeys(dataset)]
    return render(request, "request_form.html", {"datasets": chosen, "purposes": PURPOSES})


@router.get("/requests/verdict", response_class=HTMLResponse)
def verdict_preview(request: Request, session: SessionDep, caller: SignedInPageDep,
                    dataset: Annotated[list[str], Query(min_length=1, max_length=50)],
                    purpose: Annotated[list[str] | None, Query(max_length=20)] = None,
                    disease_terms: Annotated[str, Query(max_length=2_000)] = "",
                    for_profit: bool = False) -> HTMLResponse:
    """The form's live DUO check (fetched by static/verdict.js): the verdict as an HTML fragment."""
    try:
        verdict = requests.preview_purpose(session, caller, dataset, purpose or [], split_list(disease_terms),
                                           for_profit=for_profit)
    except InvalidInput as exc:
        return render(request, "verdict.html", {"problem": exc.message})
    return render(request, "verdict.html", {"verdict": verdict})


@router.post("/requests")
def create_request(request: Request, session: SessionDep, caller: SignedInPageDep,
                   datasets: Annotated[list[str], Form(min_length=1, max_length=50)],
                   project_title: Annotated[str, Form(max_length=300)] = "", lay_summary: Text = "",
                   purpose: Annotated[list[str] | None, Form()] = None, disease_terms: Text = "",
                   institution: Annotated[str, Form(max_length=300)] = "", for_profit: Annotated[bool, Form()] = False,
                   co_applicants: Text = "") -> RedirectResponse:
    back = "/requests/new?" + "&".join(f"dataset={d}" for d in datasets)
    _ = translator(request).gettext

    def create() -> AccessRequest:
        if not project_title.strip():
            raise InvalidInput(_("give the project a title"), field="project_title")
        data = RequestCreate(datasets=datasets, **_fields(project_title, lay_summary, purpose or [], disease_terms,
                                                          institution, for_profit, co_applicants))
        return requests.create_request(session, caller, data, remote_resolver(request))

    return attempt(request, create, done=_("Draft saved. Check the DUO verdict, accept the agreement, then submit."),
                   back=back, then=lambda r: f"/requests/{r.id}")


def _entitlements_of(session: SessionDep, caller: Caller, record: AccessRequest) -> list[Any]:
    scope = "dac" if caller.sits_on(record.dac_id) or caller.is_admin else "mine"
    return [entitlements.entitlement_public(e) for e in entitlements.list_entitlements(session, caller, scope=scope)
            if e.request_id == record.id]


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep,
                 settings: SettingsDep) -> HTMLResponse:
    record = requests.get_request(session, caller, request_id)
    public = requests.request_public(session, record)
    state = RequestState(record.state)
    reviewer = caller.sits_on(record.dac_id) or caller.is_admin
    verdict = (record.duo_verdict if state not in EDITABLE and record.duo_verdict
               else requests.preview_use(session, caller, request_id))
    return render(request, "request.html", {
        "req": public, "datasets": [requests.requested_dataset(session, caller, d) for d in public.datasets],
        "verdict": verdict, "events": review.history(session, caller, request_id),
        "attachments": attachments.list_attachments(session, caller, request_id),
        "votes": review.votes(session, caller, request_id) if reviewer else [],
        "entitlements": _entitlements_of(session, caller, record),
        "is_applicant": caller.subject == record.applicant, "reviewer": reviewer,
        "editable": state in EDITABLE, "commands": [c.value for c in allowed_commands(state)],
        "purposes": PURPOSES, "default_end": (utcnow() + timedelta(days=settings.access_days)).date().isoformat(),
        "today": utcnow().date().isoformat(),
    })


@router.post("/requests/{request_id}/edit")
def edit_request(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep,
                 project_title: Annotated[str, Form(min_length=1, max_length=300)],
                 lay_summary: Text = "", purpose: Annotated[list[str] | None, Form()] = None,
                 disease_terms: Text = "", institution: Annotated[str, Form(max_length=300)] = "",
                 for_profit: Annotated[bool, Form()] = False, co_applicants: Text = "") -> RedirectResponse:
    data = RequestUpdate(**_fields(project_title, lay_summary, purpose or [], disease_terms, institution, for_profit,
                                   co_applicants))
    return attempt(request, lambda: requests.update_request(session, caller, request_id, data),
                   done=translator(request).gettext("Changes saved."), back=f"/requests/{request_id}")


@router.post("/requests/{request_id}/agreements")
def accept_agreements(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep,
                      accept: Annotated[list[str] | None, Form()] = None) -> RedirectResponse:
    # Each checkbox carries "<dataset>@<agreement version>": the version the applicant read on the page.
    chosen = dict(value.rsplit("@", 1) for value in accept or [] if "@" in value)
    _ = translator(request).gettext
    return attempt(request, lambda: requests.update_request(session, caller, request_id,
                                                            RequestUpdate(accept_agreements=chosen)),
                   done=_("Agreement accepted.") if chosen else _("No agreement was ticked."),
                   back=f"/requests/{request_id}")


@router.post("/requests/{request_id}/attachments")
async def add_attachment(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep,
                         settings: SettingsDep, file: Annotated[UploadFile, File()]) -> RedirectResponse:
    limit = settings.attachment_max_bytes
    data = await file.read(limit + 1)
    return await run_in_threadpool(attempt, request, lambda: attachments.add_attachment(
        session, caller, request_id, filename=file.filename or "attachment", content_type=file.content_type or "",
        data=data, root=settings.data_dir / "attachments", max_bytes=limit),
        done=translator(request).gettext("Attached %(name)s.", name=file.filename or "attachment"),
        back=f"/requests/{request_id}")


@router.get("/requests/{request_id}/attachments/{attachment_id}")
def download_attachment(request_id: str, attachment_id: str, session: SessionDep,
                        caller: SignedInPageDep) -> Response:
    row, path = attachments.get_attachment(session, caller, request_id, attachment_id)
    return FileResponse(path, media_type=row.content_type, filename=row.filename)


@router.post("/requests/{request_id}/submit")
def submit_request(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep) -> RedirectResponse:
    return attempt(request, lambda: review.submit_request(session, caller, request_id),
                   done=translator(request).gettext("Submitted to the data access committee."),
                   back=f"/requests/{request_id}")


@router.post("/requests/{request_id}/withdraw")
def withdraw_request(request_id: str, request: Request, session: SessionDep,
                     caller: SignedInPageDep) -> RedirectResponse:
    return attempt(request, lambda: review.withdraw_request(session, caller, request_id),
                   done=translator(request).gettext("Request withdrawn."), back=f"/requests/{request_id}")


@router.post("/requests/{request_id}/renew")
def renew_request(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep) -> RedirectResponse:
    return attempt(request, lambda: review.renew_request(session, caller, request_id),
                   done=translator(request).gettext("Renewal drafted from the approved request: check it and submit."),
                   back=f"/requests/{request_id}", then=lambda r: f"/requests/{r.id}")


@router.post("/requests/{request_id}/comments")
def add_comment(request_id: str, request: Request, session: SessionDep, caller: SignedInPageDep,
                message: Annotated[str, Form(max_length=10_000)] = "",
                internal: Annotated[bool, Form()] = False) -> RedirectResponse:
    return attempt(request, lambda: review.comment(session, caller, request_id, message, internal=internal),
                   done=translator(request).gettext("Comment added."), back=f"/requests/{request_id}")
