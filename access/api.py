"""HTTP API of the access workflow under /api/access: requests, review, entitlements, passports, audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from access.checkpoints import SignedCheckpoint, node_signer
from access.deps import RemoteResolverDep, visa_verifier
from access.models import (
    AttachmentPublic,
    AuditEventPublic,
    Command,
    EntitlementPublic,
    RequestCreate,
    RequestEventPublic,
    RequestPublic,
    RequestState,
    RequestUpdate,
    VoteChoice,
    VotePublic,
)
from access.services import attachments, audit_log, entitlements, remote_dacs, requests, review
from access.visas import PassportCheck, issue_passport, remote_visa_issuers
from catalogue.deps import CallerDep, RuntimeDep, SessionDep, SignedInDep
from catalogue.errors import InvalidInput, Unauthenticated
from catalogue.limits import MAX_ID, MAX_OFFSET
from catalogue.models import RemoteDacPublic, RemoteDacSet
from catalogue.problems import problems
from catalogue.services.remote_dacs import remote_dac_public

__all__ = ["audit_wellknown_router", "router"]

# Every route here decides who may call it (the applicant, the DAC, admins): 403 for anyone else.
router = APIRouter(prefix="/api/access", tags=["access"], responses=problems(403))
audit_wellknown_router = APIRouter(prefix="/.well-known/genomegate", tags=["audit"])
_SIZE = Query(ge=1, le=2**31, description="a tree size: the number of lines, from the first")

ShortText = Annotated[str | None, Query(max_length=200)]
DatasetId = Annotated[str, Path(min_length=1, max_length=16, description="a dataset held at this node")]
Scope = Annotated[str, Query(max_length=20, description="mine, dac or all")]


class Decision(BaseModel):
    decision: Command = Field(description="approve, reject or return")
    reason: str = Field(default="", max_length=5_000, description="required to reject or return")
    access_end: datetime | None = Field(default=None, description="end of access when approving (default: policy)")


class CommentIn(BaseModel):
    message: str = Field(min_length=1, max_length=10_000)
    internal: bool = Field(default=False, description="visible to the DAC only")


class VoteIn(BaseModel):
    choice: VoteChoice
    reason: str = Field(default="", max_length=5_000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5_000)


class Passport(BaseModel):
    ga4gh_passport_v1: list[str]


class PassportIn(BaseModel):
    passport: list[str] = Field(max_length=1_000)


class AuditJwk(BaseModel):
    """The node's Ed25519 public key that signs audit checkpoints, as a JWK (RFC 8037)."""

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class ChainStatus(BaseModel):
    ok: bool
    checked: int
    broken_at: int | None
    reason: str


# --- requests -----------------------------------------------------------------------------------------

@router.post("/requests", responses=problems(404, 409),
             status_code=status.HTTP_201_CREATED, summary="Start a draft request (signed-in callers)")
def create_request(data: RequestCreate, session: SessionDep, caller: SignedInDep,
                   resolve: RemoteResolverDep) -> RequestPublic:
    return requests.request_public(session, requests.create_request(session, caller, data, resolve))


@router.get("/requests", summary="My requests (scope=mine) or my DACs' queue (scope=dac) (signed-in callers)")
def list_requests(session: SessionDep, caller: SignedInDep, scope: Scope = "mine",
                  state: RequestState | None = None) -> list[RequestPublic]:
    return [requests.request_public(session, r)
            for r in requests.list_requests(session, caller, scope=scope, state=state)]


@router.get("/requests/{request_id}", summary="One request (its applicants, its DAC, admins)")
def get_request(request_id: str, session: SessionDep, caller: SignedInDep) -> RequestPublic:
    return requests.request_public(session, requests.get_request(session, caller, request_id))


@router.patch("/requests/{request_id}", responses=problems(409),
              summary="Edit a draft/returned request, accept agreements (the applicant)")
def update_request(request_id: str, data: RequestUpdate, session: SessionDep, caller: SignedInDep) -> RequestPublic:
    return requests.request_public(session, requests.update_request(session, caller, request_id, data))


@router.get("/requests/{request_id}/duo-check",
            summary="The DUO verdict of the purpose against each dataset's conditions (readers of the request)")
def duo_check(request_id: str, session: SessionDep, caller: SignedInDep) -> dict[str, Any]:
    return requests.preview_use(session, caller, request_id)


@router.post("/requests/{request_id}/submit", responses=problems(409), summary="Submit to the DAC (the applicant)")
def submit(request_id: str, session: SessionDep, caller: SignedInDep) -> RequestPublic:
    request = review.submit_request(session, caller, request_id)
    return requests.request_public(session, request)


@router.post("/requests/{request_id}/withdraw", responses=problems(409),
             summary="Withdraw before a decision (the applicant)")
def withdraw(request_id: str, session: SessionDep, caller: SignedInDep) -> RequestPublic:
    return requests.request_public(session, review.withdraw_request(session, caller, request_id))


@router.post("/requests/{request_id}/decision", responses=problems(409),
             summary="Approve, reject or return (members of the request's DAC who are not applicants in it)")
def decide(request_id: str, data: Decision, session: SessionDep, caller: SignedInDep,
           runtime: RuntimeDep) -> RequestPublic:
    request = review.decide(session, caller, request_id, data.decision, reason=data.reason,
                            access_end=data.access_end, default_days=runtime.settings.access_days)
    return requests.request_public(session, request)


@router.post("/requests/{request_id}/comments", responses=problems(409), status_code=status.HTTP_201_CREATED,
             summary="Comment (applicants; DAC members, also internally)")
def comment(request_id: str, data: CommentIn, session: SessionDep, caller: SignedInDep) -> RequestEventPublic:
    event = review.comment(session, caller, request_id, data.message, internal=data.internal)
    return RequestEventPublic.model_validate(event)


@router.get("/requests/{request_id}/events", summary="History of the request (readers; internal events: DAC only)")
def events(request_id: str, session: SessionDep, caller: SignedInDep) -> list[RequestEventPublic]:
    return [RequestEventPublic.model_validate(e) for e in review.history(session, caller, request_id)]


@router.post("/requests/{request_id}/votes", responses=problems(409), status_code=status.HTTP_201_CREATED,
             summary="Vote in the current round (DAC members who are not applicants in it)")
def vote(request_id: str, data: VoteIn, session: SessionDep, caller: SignedInDep) -> VotePublic:
    return VotePublic.model_validate(review.vote(session, caller, request_id, data.choice, data.reason))


@router.get("/requests/{request_id}/votes", summary="Votes on the request (its DAC; admins)")
def list_votes(request_id: str, session: SessionDep, caller: SignedInDep) -> list[VotePublic]:
    return [VotePublic.model_validate(v) for v in review.votes(session, caller, request_id)]


@router.post("/requests/{request_id}/close", responses=problems(409),
             summary="Close for good, revoking its entitlements (its DAC; admins)")
def close(request_id: str, data: ReasonIn, session: SessionDep, caller: SignedInDep) -> RequestPublic:
    return requests.request_public(session, review.close_request(session, caller, request_id, data.reason))


@router.post("/requests/{request_id}/renew", responses=problems(409), status_code=status.HTTP_201_CREATED,
             summary="A pre-filled renewal of an approved request, as a draft (the applicant)")
def renew(request_id: str, session: SessionDep, caller: SignedInDep) -> RequestPublic:
    return requests.request_public(session, review.renew_request(session, caller, request_id))


@router.post("/requests/{request_id}/attachments", responses=problems(409), status_code=status.HTTP_201_CREATED,
             summary="Attach a document: the body is the file, its Content-Type one of PDF, PNG, JPEG, text "
                     "(the applicant)")
async def attach(request_id: str, request: Request, session: SessionDep, caller: SignedInDep,
                 runtime: RuntimeDep,
                 filename: Annotated[str, Query(min_length=1, max_length=255)]) -> AttachmentPublic:
    limit = runtime.settings.attachment_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InvalidInput(f"the attachment has {int(declared):,} bytes; at most {limit:,} are accepted", field="file")
    data = await request.body()
    row = await run_in_threadpool(
        attachments.add_attachment, session, caller, request_id, filename=filename,
        content_type=request.headers.get("content-type", ""), data=data,
        root=runtime.settings.data_dir / "attachments", max_bytes=limit)
    return AttachmentPublic.model_validate(row)


@router.get("/requests/{request_id}/attachments", summary="Attachments of the request (its readers)")
def list_attachments(request_id: str, session: SessionDep, caller: SignedInDep) -> list[AttachmentPublic]:
    return [AttachmentPublic.model_validate(a) for a in attachments.list_attachments(session, caller, request_id)]


@router.get("/requests/{request_id}/attachments/{attachment_id}", response_class=FileResponse,
            summary="Download an attachment (readers of the request)")
def download_attachment(request_id: str, attachment_id: str, session: SessionDep, caller: SignedInDep) -> Response:
    row, path = attachments.get_attachment(session, caller, request_id, attachment_id)
    return FileResponse(path, media_type=row.content_type, filename=row.filename)


# --- entitlements, passports, audit ------------------------------------------------------------------

@router.get("/entitlements", summary="My entitlements (scope=mine) or my DACs' (scope=dac) (signed-in callers)")
def list_entitlements(session: SessionDep, caller: SignedInDep, scope: Scope = "mine",
                      dataset: ShortText = None) -> list[EntitlementPublic]:
    return [entitlements.entitlement_public(e)
            for e in entitlements.list_entitlements(session, caller, scope=scope, dataset_id=dataset)]


@router.post("/entitlements/{entitlement_id}/revoke", responses=problems(409),
             summary="Revoke, effective at once (the dataset's DAC; admins)")
def revoke(entitlement_id: Annotated[int, Path(ge=1, le=MAX_ID)], data: ReasonIn, session: SessionDep,
           caller: SignedInDep) -> EntitlementPublic:
    entitlement = entitlements.revoke_entitlement(session, caller, entitlement_id, data.reason)
    return entitlements.entitlement_public(entitlement)


@router.get("/passport", summary="My GA4GH Passport visas, signed by this node (signed-in callers)")
def passport(session: SessionDep, caller: SignedInDep, runtime: RuntimeDep) -> Passport:
    if runtime.issuer is None:
        raise Unauthenticated("this node issues no visas (its built-in issuer is off)")
    return Passport(ga4gh_passport_v1=issue_passport(session, caller, runtime.issuer, runtime.settings))


@router.post("/passport/verify",
             summary="Which datasets a passport's visas grant me here, and which were ignored (signed-in callers)")
def verify_passport(data: PassportIn, request: Request, session: SessionDep, caller: SignedInDep) -> dict[str, Any]:
    check: PassportCheck = visa_verifier(request).check(data.passport, caller.subject or "",
                                                        remote=remote_visa_issuers(session))
    return {"datasets": check.datasets, "rejected": check.rejected}


# --- datasets whose DAC sits at another node ------------------------------------------------------------

@router.put("/datasets/{dataset_id}/remote-dac", responses=problems(404, 422),
            summary="Name the DAC at another node that decides access to this dataset, and the visa issuer it signs "
                    "with (stewards of the dataset's organisation, admins; audited)")
def set_remote_dac(dataset_id: DatasetId, data: RemoteDacSet, session: SessionDep,
                   caller: SignedInDep) -> RemoteDacPublic:
    return remote_dac_public(remote_dacs.set_remote_dac(session, caller, dataset_id, data))


@router.get("/datasets/{dataset_id}/remote-dac", responses=problems(404),
            summary="The DAC at another node that decides access to this dataset (anyone who may see the dataset)")
def get_remote_dac(dataset_id: DatasetId, session: SessionDep, caller: CallerDep) -> RemoteDacPublic:
    return remote_dac_public(remote_dacs.get_remote_dac(session, caller, dataset_id))


@router.delete("/datasets/{dataset_id}/remote-dac", responses=problems(404), status_code=status.HTTP_204_NO_CONTENT,
               summary="Decide access to this dataset here again (stewards of the dataset's organisation, admins; "
                       "audited)")
def clear_remote_dac(dataset_id: DatasetId, session: SessionDep, caller: SignedInDep) -> Response:
    remote_dacs.clear_remote_dac(session, caller, dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", summary="The audit log (admins; DAC members: their DACs' datasets and requests)")
def audit(session: SessionDep, caller: SignedInDep, dataset: ShortText = None, action: ShortText = None,
          limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
          offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[AuditEventPublic]:
    rows = audit_log.list_audit(session, caller, dataset_id=dataset, action=action, limit=limit, offset=offset)
    return [AuditEventPublic.model_validate(r) for r in rows]


@router.get("/audit/verify", summary="Check the audit log's hash chain (admins)")
def verify_audit(session: SessionDep, caller: SignedInDep) -> ChainStatus:
    report = audit_log.verify_audit(session, caller)
    return ChainStatus(ok=report.ok, checked=report.checked, broken_at=report.broken_at, reason=report.reason)


@router.get("/audit/proofs/inclusion", tags=["audit"], responses=problems(404),
            summary="Proof that an audit line is in the tree of the first `size` lines (those who may read the line: "
                    "admins; DAC members for their DACs' lines)")
def audit_inclusion(session: SessionDep, caller: SignedInDep, line: Annotated[int, Query(ge=1, le=MAX_ID)],
                    size: Annotated[int, _SIZE]) -> audit_log.InclusionProof:
    return audit_log.inclusion(session, caller, line=line, size=size)


@router.get("/audit/proofs/consistency", tags=["audit"],
            summary="Proof that the log's first `second` lines extend its first `first` lines (anyone)")
def audit_consistency(session: SessionDep, first: Annotated[int, _SIZE],
                      second: Annotated[int, _SIZE]) -> audit_log.ConsistencyProof:
    return audit_log.consistency(session, first=first, second=second)


@audit_wellknown_router.get("/audit-key", summary="The public key that signs audit checkpoints, a JWK (anyone)")
def audit_key(runtime: RuntimeDep) -> AuditJwk:
    return AuditJwk.model_validate(node_signer(runtime.settings.data_dir).public.jwk())


@audit_wellknown_router.get("/audit-checkpoint", responses=problems(404),
                            summary="The latest signed checkpoint of the audit log (anyone)")
def audit_checkpoint(session: SessionDep) -> SignedCheckpoint:
    return audit_log.latest(session)
