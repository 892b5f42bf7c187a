"""The participant's pages (my data, their proofs, their own genotypes, opt-out), the open register of permits, and
the stewards' link sheets."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from access.checkpoints import node_signer
from catalogue.deps import SessionDep, SettingsDep
from catalogue.errors import InvalidInput
from catalogue.models import Dataset
from participants import actions, links, notices
from participants.api import MAX_SHEET_BYTES
from participants.genotypes import own_column
from participants.links import Participant
from participants.mydata import line_proof, my_data, own_files
from participants.permits import public_register
from participants.proofs import check_proof
from web.forms import attempt
from web.i18n import translator
from web.routing import page_router
from web.session import SignedInPageDep
from web.templating import render

__all__ = ["router"]

router = page_router()
_ALL = "all"


def page_participant(request: Request, session: SessionDep, settings: SettingsDep,
                     caller: SignedInPageDep) -> Participant:
    """The signed-in person as a participant (a 404 page for anyone nothing links to), logged by keyed hash."""
    participant = links.participant_for(session, caller, settings.participant_key)
    request.state.subject = participant.actor
    return participant


ParticipantPageDep = Annotated[Participant, Depends(page_participant)]


@router.get("/my-data", response_class=HTMLResponse)
def my_data_page(request: Request, session: SessionDep, settings: SettingsDep,
                 participant: ParticipantPageDep) -> HTMLResponse:
    data = my_data(session, participant)
    key = node_signer(settings.data_dir).public
    verified = {u.line_id: check_proof(u.proof, key).ok for u in data.uses if u.proof is not None}
    verified.update({d.line_id: check_proof(d.proof, key).ok for d in data.decisions
                     if d.proof is not None and d.line_id is not None})
    return render(request, "my_data.html", {
        "data": data, "files": own_files(session, participant), "verified": verified,
        "base_url": settings.public_base_url, "subscribed": notices.subscribed(session, participant)})


@router.get("/my-data/proofs/{line}.json")
def proof_download(session: SessionDep, participant: ParticipantPageDep,
                   line: Annotated[int, Path(ge=1, le=2**62)]) -> JSONResponse:
    proof = line_proof(session, participant, line)
    return JSONResponse(proof.model_dump(mode="json"), headers={
        "Content-Disposition": f'attachment; filename="genomegate-proof-{line}.json"'})


@router.get("/my-data/genotypes/{file_id}")
def own_genotypes(session: SessionDep, participant: ParticipantPageDep, file_id: str,
                  sample: Annotated[str | None, Query(max_length=200)] = None) -> StreamingResponse:
    download = actions.download_own(session, participant, file_id=file_id[:16], sample_id=sample)
    return StreamingResponse(own_column(download.file.uri, download.sample_id), media_type="text/vcf", headers={
        "Content-Disposition": f'attachment; filename="{download.filename}"', "Cache-Control": "no-store"})


def _chosen(dataset: str) -> list[str] | None:
    return None if dataset == _ALL else [dataset]


@router.post("/my-data/opt-out")
def opt_out(request: Request, session: SessionDep, participant: ParticipantPageDep,
            dataset: Annotated[str, Form(max_length=16)] = _ALL) -> RedirectResponse:
    _ = translator(request).gettext
    return attempt(request, lambda: actions.opt_out(session, participant, _chosen(dataset)), back="/my-data",
                   done=_("Your opt-out is recorded. It takes effect at the next scheduled run."))


@router.post("/my-data/opt-in")
def opt_in(request: Request, session: SessionDep, participant: ParticipantPageDep,
           dataset: Annotated[str, Form(max_length=16)] = _ALL) -> RedirectResponse:
    _ = translator(request).gettext
    return attempt(request, lambda: actions.opt_in(session, participant, _chosen(dataset)), back="/my-data",
                   done=_("Your return is recorded. It takes effect at the next scheduled run."))


@router.post("/my-data/notices")
def notices_on(request: Request, session: SessionDep, settings: SettingsDep, participant: ParticipantPageDep,
               email: Annotated[str, Form(max_length=notices.MAX_ADDRESS)]) -> RedirectResponse:
    _ = translator(request).gettext
    return attempt(request, lambda: notices.subscribe(session, participant, email, key=settings.participant_key),
                   back="/my-data", done=_("You will get an e-mail when a new approval covers your data."))


@router.post("/my-data/notices/off")
def notices_off(request: Request, session: SessionDep, participant: ParticipantPageDep) -> RedirectResponse:
    _ = translator(request).gettext
    return attempt(request, lambda: notices.unsubscribe(session, participant), back="/my-data",
                   done=_("No more e-mails; your address is deleted."))


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "register.html", {"permits": public_register(session)})


@router.get("/steward/datasets/{dataset_id}/participants", response_class=HTMLResponse)
def link_sheets_page(request: Request, session: SessionDep, caller: SignedInPageDep, dataset_id: str) -> HTMLResponse:
    sheets = links.list_sheets(session, caller, dataset_id[:16])
    return render(request, "link_sheets.html", {"dataset": session.get(Dataset, dataset_id), "sheets": sheets,
                                                "max_bytes": MAX_SHEET_BYTES})


@router.post("/steward/datasets/{dataset_id}/participants")
async def upload_link_sheet(request: Request, session: SessionDep, settings: SettingsDep, caller: SignedInPageDep,
                            dataset_id: str, sheet: Annotated[UploadFile, File()]) -> RedirectResponse:
    content = await sheet.read(MAX_SHEET_BYTES + 1)
    back = f"/steward/datasets/{dataset_id[:16]}/participants"

    def upload() -> object:
        if len(content) > MAX_SHEET_BYTES:
            raise InvalidInput(f"a link sheet is at most {MAX_SHEET_BYTES:,} bytes", field="sheet")
        return links.upload_sheet(session, caller, dataset_id=dataset_id[:16], content=content,
                                  key=settings.participant_key)

    _ = translator(request).gettext
    return await run_in_threadpool(attempt, request, upload, back=back,
                                   done=_("The link sheet is stored; it replaces the one before."))
