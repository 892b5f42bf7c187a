"""HTTP API of the participant side: link sheets (stewards), my data (the participant only), the open register."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from catalogue.deps import SessionDep, SettingsDep, SignedInDep
from catalogue.errors import InvalidInput
from catalogue.problems import problems
from participants import actions, links, notices
from participants.genotypes import own_column
from participants.links import Participant
from participants.models import LinkSheetPublic
from participants.mydata import MyData, line_proof, my_data, own_files
from participants.permits import PermitState, public_register
from participants.proofs import LineProof

__all__ = ["MAX_SHEET_BYTES", "ParticipantDep", "participant_of", "register_router", "router", "sheets_router"]

MAX_SHEET_BYTES = 1_000_000
router = APIRouter(prefix="/api/participants/me", tags=["participants"])
sheets_router = APIRouter(prefix="/api/datasets", tags=["participants"], responses=problems(403))
register_router = APIRouter(prefix="/api/register", tags=["participants"])
DatasetId = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
FileId = Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]


def participant_of(request: Request, session: SessionDep, settings: SettingsDep, caller: SignedInDep) -> Participant:
    """The caller as a participant (401 anonymous, 404 when nothing links to them), named in the access log by
    the keyed hash rather than their subject."""
    participant = links.participant_for(session, caller, settings.participant_key)
    request.state.subject = participant.actor
    return participant


ParticipantDep = Annotated[Participant, Depends(participant_of)]


def read_sheet(upload: UploadFile) -> bytes:
    content = upload.file.read(MAX_SHEET_BYTES + 1)
    if len(content) > MAX_SHEET_BYTES:
        raise InvalidInput(f"a link sheet is at most {MAX_SHEET_BYTES:,} bytes", field="sheet")
    return content


# --- link sheets ------------------------------------------------------------------------------------------------

@sheets_router.post("/{dataset_id}/link-sheets", status_code=status.HTTP_201_CREATED, responses=problems(404),
                    summary="Upload a link sheet, sample id -> participant identifier, CSV or TSV (stewards of the "
                            "dataset's organisation)")
def upload_link_sheet(session: SessionDep, settings: SettingsDep, caller: SignedInDep,
                      sheet: Annotated[UploadFile, File(description="CSV or TSV with a header naming the columns "
                                                                     "sample_id and participant_id")],
                      dataset_id: DatasetId) -> LinkSheetPublic:
    return links.upload_sheet(session, caller, dataset_id=dataset_id, content=read_sheet(sheet),
                              key=settings.participant_key)


@sheets_router.get("/{dataset_id}/link-sheets", responses=problems(404),
                   summary="A dataset's link sheets, the one in force and their history (stewards of its organisation)")
def list_link_sheets(session: SessionDep, caller: SignedInDep, dataset_id: DatasetId) -> list[LinkSheetPublic]:
    return links.list_sheets(session, caller, dataset_id)


# --- my data ----------------------------------------------------------------------------------------------------

@router.get("", responses=problems(404), summary="My data: the datasets holding my genome, the approvals covering "
                                                  "them and every use, with proofs (the linked participant only)")
def get_my_data(session: SessionDep, participant: ParticipantDep) -> MyData:
    return my_data(session, participant)


@router.get("/proofs/{line}", responses=problems(404),
            summary="The inclusion proof of one line of my page against a signed checkpoint (the linked participant "
                    "only)")
def get_proof(session: SessionDep, participant: ParticipantDep,
              line: Annotated[int, Path(ge=1, le=2**62)]) -> LineProof:
    return line_proof(session, participant, line)


class OwnFile(BaseModel):
    dataset_id: str
    file_id: str
    name: str
    sample_id: str
    url: str = Field(description="GET it (with your token) for your column as VCF")


@router.get("/genotypes", responses=problems(404),
            summary="The files holding my genotypes (the linked participant only)")
def list_own_files(session: SessionDep, participant: ParticipantDep) -> list[OwnFile]:
    return [OwnFile(dataset_id=f.dataset_id, file_id=f.id, name=f.name, sample_id=s,
                    url=f"/api/participants/me/genotypes/{f.id}?sample={s}")
            for f, s in own_files(session, participant)]


def vcf_response(download: actions.OwnDownload) -> StreamingResponse:
    chunks: Iterator[bytes] = own_column(download.file.uri, download.sample_id)
    return StreamingResponse(chunks, media_type="text/vcf", headers={
        "Content-Disposition": f'attachment; filename="{download.filename}"', "Cache-Control": "no-store"})


@router.get("/genotypes/{file_id}", responses=problems(404), response_class=StreamingResponse,
            summary="My column of one file as VCF, audited (the linked participant only)")
def download_own(session: SessionDep, participant: ParticipantDep, file_id: FileId,
                 sample: Annotated[str | None, Query(max_length=200)] = None) -> StreamingResponse:
    return vcf_response(actions.download_own(session, participant, file_id=file_id, sample_id=sample))


class DatasetChoice(BaseModel):
    datasets: list[Annotated[str, Field(max_length=16)]] | None = Field(
        default=None, max_length=actions.MAX_DATASETS, description="the datasets to opt out of (or back into); "
        "leave it out for all of mine")


class OptOutChange(BaseModel):
    datasets: list[str] = Field(description="the datasets the request names")
    note: str


@router.post("/opt-out", responses=problems(404), summary="Opt out of the secondary use of my data, per dataset or "
                                                          "for all (the linked participant only)")
def post_opt_out(session: SessionDep, participant: ParticipantDep, choice: DatasetChoice) -> OptOutChange:
    return OptOutChange(datasets=actions.opt_out(session, participant, choice.datasets),
                        note="takes effect at the next run of the opt-out job; approvals granted before it are "
                             "unaffected")


@router.post("/opt-in", responses=problems(404), summary="Undo an opt-out, per dataset or for all (the linked "
                                                         "participant only)")
def post_opt_in(session: SessionDep, participant: ParticipantDep, choice: DatasetChoice) -> OptOutChange:
    return OptOutChange(datasets=actions.opt_in(session, participant, choice.datasets),
                        note="takes effect at the next run of the opt-out job")


class NoticeChoice(BaseModel):
    email: str = Field(min_length=3, max_length=notices.MAX_ADDRESS, description="where to be told (kept encrypted)")


class NoticeState(BaseModel):
    subscribed: bool


@router.get("/notices", responses=problems(404),
            summary="Whether I get e-mail notices of new approvals covering my data (the linked participant only)")
def get_notices(session: SessionDep, participant: ParticipantDep) -> NoticeState:
    return NoticeState(subscribed=notices.subscribed(session, participant))


@router.put("/notices", responses=problems(404),
            summary="Get an e-mail when a new approval covers my data; the address is kept encrypted (the linked "
                    "participant only)")
def put_notices(session: SessionDep, settings: SettingsDep, participant: ParticipantDep,
                choice: NoticeChoice) -> NoticeState:
    notices.subscribe(session, participant, choice.email, key=settings.participant_key)
    return NoticeState(subscribed=True)


@router.delete("/notices", responses=problems(404),
               summary="No more e-mail notices; the address is deleted (the linked participant only)")
def delete_notices(session: SessionDep, participant: ParticipantDep) -> NoticeState:
    notices.unsubscribe(session, participant)
    return NoticeState(subscribed=False)


# --- the open register ------------------------------------------------------------------------------------------

class PermitPublic(BaseModel):
    """An approval as the open register lists it: no applicant account, no participant's data."""

    request_id: str
    dataset_id: str
    dataset_title: str
    organisation: str
    project_title: str
    purpose: list[str]
    lay_summary: str
    granted_at: datetime
    until: datetime
    state: PermitState
    revoked_at: datetime | None


@register_router.get("/permits", summary="Every approval of access to data held here: dataset, organisation, "
                                         "purpose, dates, state (anyone)")
def list_permits(session: SessionDep) -> list[PermitPublic]:
    return [PermitPublic(request_id=p.request_id, dataset_id=p.dataset_id, dataset_title=p.dataset_title,
                         organisation=p.organisation, project_title=p.project_title, purpose=list(p.purpose),
                         lay_summary=p.lay_summary, granted_at=p.granted_at, until=p.until, state=p.state,
                         revoked_at=p.revoked_at) for p in public_register(session)]


