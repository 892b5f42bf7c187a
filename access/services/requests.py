"""Access requests: create, edit, read and list them; who may see each one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, or_
from sqlmodel import Session, col, select

from access import audit
from access.domain import Verdict, check_use, combine, normalise_purpose
from access.errors import NotYourRequest
from access.models import (
    AccessRequest,
    AccessRequestDataset,
    Entitlement,
    RemoteDataset,
    RemoteDatasetFacts,
    RequestCreate,
    RequestEvent,
    RequestPublic,
    RequestState,
    RequestUpdate,
    is_remote,
)
from catalogue.accessions import next_accession
from catalogue.duo import validate_conditions
from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import Dataset, DatasetStatus, SecurityLevel, utcnow
from catalogue.services.datasets import get_dataset
from catalogue.services.registry import get_dac
from catalogue.services.remote_dacs import remote_dac
from catalogue.services.roles import require_admin, require_authenticated

__all__ = [
    "REQUEST", "DatasetTerms", "RemoteResolver", "RequestedDataset", "can_read", "create_request", "dataset_terms",
    "get_request", "requested_dataset",
    "is_applicant", "known_remote", "list_requests", "preview_purpose", "preview_use", "request_datasets",
    "request_public", "update_request", "use_verdicts",
]

REQUEST = "GGR"
EDITABLE = (RequestState.draft, RequestState.returned)

RemoteResolver = Callable[[Session, str], RemoteDatasetFacts | None]
"""Finds a dataset held at another node by its URL there (the federated catalogue, passed down by the layer that
has it); None when this node does not know it."""


@dataclass(frozen=True, slots=True)
class DatasetTerms:
    """What a request is checked against for one dataset: its DAC, data use conditions and agreement version."""

    ref: str  # the id of a dataset held here, or a remote dataset's URL
    dac_id: str | None
    duo: list[str] = field(default_factory=list)
    disease_terms: list[str] = field(default_factory=list)
    dua_version: str = "1"
    remote: RemoteDatasetFacts | None = None  # a remote dataset's facts, as its resolver gave them


def dataset_terms(session: Session, ref: str) -> DatasetTerms:
    """The terms of a dataset a request names: a local one's from the catalogue, a remote one's as the request
    last saw them."""
    found = session.get(RemoteDataset, ref) if is_remote(ref) else session.get(Dataset, ref)
    if found is None:
        raise NotFound(f"dataset {ref} does not exist", field="datasets")
    return DatasetTerms(ref, found.dac_id, list(found.duo), list(found.disease_terms), found.dua_version)


@dataclass(frozen=True, slots=True)
class RequestedDataset:
    """A dataset as the request pages show it: one held here, or one held at another node (`node`)."""

    id: str  # as the request names it: an id here, a remote dataset's URL
    title: str
    duo: list[str]
    disease_terms: list[str]
    href: str  # its page: here, or at the node holding it
    dua_version: str = "1"
    dua_text: str = ""
    node: str | None = None


def requested_dataset(session: Session, caller: Caller, ref: str,
                      resolve: RemoteResolver | None = None) -> RequestedDataset:
    """A dataset a request names (or may name), for display; a remote one through `resolve` (default: as a
    request here last saw it). NotFound when unknown or not visible to the caller."""
    if not is_remote(ref):
        d = get_dataset(session, caller, ref)
        return RequestedDataset(d.id, d.title, list(d.duo), list(d.disease_terms), f"/datasets/{d.id}",
                                d.dua_version, d.dua_text)
    facts = (resolve or known_remote)(session, ref)
    if facts is None:
        raise NotFound(f"dataset {ref} is not in this node's catalogue of its peers' datasets", field="datasets")
    href = f"{facts.node_url}/datasets/{facts.dataset_id}"
    return RequestedDataset(ref, facts.title, list(facts.duo), list(facts.disease_terms), href, facts.dua_version,
                            f"The agreement of this dataset held at {facts.node_url} (see its page there: {href}), "
                            "whose access this node's DAC decides.", facts.node_url)


def known_remote(session: Session, url: str) -> RemoteDatasetFacts | None:
    """A remote dataset a request here named before (renewals)."""
    return session.get(RemoteDataset, url)


def is_applicant(caller: Caller, request: AccessRequest) -> bool:
    return caller.subject is not None and (caller.subject == request.applicant
                                           or caller.subject in request.co_applicants)


def can_read(caller: Caller, request: AccessRequest) -> bool:
    """Applicants and co-applicants, members of the request's DAC (once submitted), and admins."""
    if is_applicant(caller, request) or caller.is_admin:
        return True
    return caller.sits_on(request.dac_id) and request.state != RequestState.draft


def get_request(session: Session, caller: Caller, request_id: str) -> AccessRequest:
    """The request, or NotFound when it does not exist or the caller may not read it (no existence leak)."""
    require_authenticated(caller)
    request = session.get(AccessRequest, request_id)
    if request is None or not can_read(caller, request):
        raise NotFound(f"access request {request_id} does not exist", field="request_id")
    return request


def request_datasets(session: Session, request_id: str) -> list[str]:
    return list(session.exec(select(AccessRequestDataset.dataset_id).where(
        AccessRequestDataset.request_id == request_id).order_by(col(AccessRequestDataset.dataset_id))).all())


def request_public(session: Session, request: AccessRequest) -> RequestPublic:
    return RequestPublic.model_validate(request, update={"datasets": request_datasets(session, request.id)})


def _local(session: Session, caller: Caller, dataset_id: str) -> DatasetTerms:
    d = get_dataset(session, caller, dataset_id)
    if d.status != DatasetStatus.published:
        raise InvalidInput(f"dataset {d.id} is {d.status}; access can be requested to published datasets only",
                           field="datasets")
    if d.security != SecurityLevel.CONTROLLED or d.dac_id is None:
        to = "anyone" if d.security == SecurityLevel.PUBLIC else "signed-in callers"
        raise InvalidInput(f"dataset {d.id} is {d.security}: it needs no access request; its files are released "
                           f"to {to} (/htsget/variants/{d.id}, /api/release/{d.id}/files/...)", field="datasets")
    elsewhere = remote_dac(session, d.id)
    if elsewhere is not None:
        raise InvalidInput(f"access to dataset {d.id} is decided by the DAC {elsewhere.dac_id} at "
                           f"{elsewhere.node_url}: apply there", field="datasets")
    return DatasetTerms(d.id, d.dac_id, list(d.duo), list(d.disease_terms), d.dua_version)


def _remote(session: Session, url: str, resolve: RemoteResolver) -> DatasetTerms:
    """A dataset held at another node whose DAC sits here; its terms are kept with the request."""
    facts = resolve(session, url)
    if facts is None:
        raise NotFound(f"dataset {url} is not in this node's catalogue of its peers' datasets", field="datasets")
    if facts.security != SecurityLevel.CONTROLLED:
        raise InvalidInput(f"dataset {url} is {facts.security}: it needs no access request", field="datasets")
    get_dac(session, facts.dac_id)  # a DAC of this node decides it, or it cannot be requested here
    return DatasetTerms(url, facts.dac_id, list(facts.duo), list(facts.disease_terms), facts.dua_version, facts)


def _keep_remote(session: Session, facts: RemoteDatasetFacts) -> None:
    """Keep a remote dataset's terms as the request saw them (its checks and decision use these)."""
    row = session.get(RemoteDataset, facts.url) or RemoteDataset(**facts.model_dump())
    for name, value in facts.model_dump().items():
        setattr(row, name, value)
    row.seen_at = utcnow()
    session.add(row)


def _requestable(session: Session, caller: Caller, dataset_ids: Sequence[str],
                 resolve: RemoteResolver = known_remote) -> list[DatasetTerms]:
    """The terms of each dataset asked for: published, CONTROLLED and decided by a DAC here (a dataset held at
    another node is named by its URL there and found through `resolve`)."""
    datasets = [_remote(session, d, resolve) if is_remote(d) else _local(session, caller, d)
                for d in dict.fromkeys(dataset_ids)]
    if len({d.dac_id for d in datasets}) > 1:
        raise InvalidInput("the datasets of one request must share a data access committee; "
                           "make one request per DAC", field="datasets")
    return datasets


def _check_terms(purpose: list[str], diseases: list[str]) -> list[str]:
    normalised = normalise_purpose(purpose)
    validate_conditions([], diseases)  # disease CURIEs are checked the same way as a dataset's
    return normalised


def _check_renewable(session: Session, subject: str, request_id: str) -> None:
    """A renewal continues one of the applicant's own requests that was approved (its access granted, whether
    it is still running, ended or was closed since); another's request is as unknown as a missing one."""
    renewed = session.get(AccessRequest, request_id)
    if renewed is None or renewed.applicant != subject:
        raise NotFound(f"renewal_of: {request_id} is not a request of yours; name the approved request this "
                       "one renews", field="renewal_of")
    granted = session.exec(select(Entitlement.id).where(Entitlement.request_id == renewed.id).limit(1)).first()
    if renewed.state != RequestState.approved and granted is None:
        raise InvalidInput(f"renewal_of: {request_id} is {renewed.state} and never granted access; only an approved "
                           "request can be renewed (ask for access afresh instead)", field="renewal_of")


def create_request(session: Session, caller: Caller, data: RequestCreate,
                   resolve: RemoteResolver = known_remote) -> AccessRequest:
    """A draft request by the caller for datasets of one DAC (held here, or at other nodes: found by `resolve`)."""
    subject = require_authenticated(caller)
    datasets = _requestable(session, caller, data.datasets, resolve)
    purpose = _check_terms(data.purpose, data.disease_terms)
    if data.renewal_of is not None:
        _check_renewable(session, subject, data.renewal_of)
    request = AccessRequest(
        id=next_accession(session, REQUEST), applicant=subject,
        applicant_email=caller.principal.email if caller.principal else None, dac_id=datasets[0].dac_id or "",
        **data.model_dump(exclude={"datasets", "purpose", "renewal_of"}), purpose=purpose,
        renewal_of=data.renewal_of,
    )
    session.add(request)
    session.flush()
    session.add_all(AccessRequestDataset(request_id=request.id, dataset_id=d.ref) for d in datasets)
    for d in datasets:
        if d.remote is not None:
            _keep_remote(session, d.remote)
    session.add(RequestEvent(request_id=request.id, actor=subject, kind="create", to_state=RequestState.draft))
    audit.append(session, actor=subject, action="request.create", request_id=request.id,
                 details={"datasets": [d.ref for d in datasets]})
    session.commit()
    return request


def update_request(session: Session, caller: Caller, request_id: str, data: RequestUpdate) -> AccessRequest:
    """Edit a draft or returned request (the applicant only); accept data access agreements."""
    request = get_request(session, caller, request_id)
    if caller.subject != request.applicant:
        raise NotYourRequest("only the applicant may edit the request")
    if request.state not in EDITABLE:
        raise InvalidInput(f"a {request.state} request cannot be edited", field="state")
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"accept_agreements"})
    if "purpose" in changes or "disease_terms" in changes:
        changes["purpose"] = _check_terms(changes.get("purpose", request.purpose),
                                          changes.get("disease_terms", request.disease_terms))
    for name, value in changes.items():
        setattr(request, name, value)
    if data.accept_agreements:
        accepted = dict(request.accepted_agreements)
        for dataset_id, version in data.accept_agreements.items():
            dataset = _dataset_of(session, request, dataset_id)
            if version != dataset.dua_version:
                raise InvalidInput(f"the data access agreement of {dataset_id} is at version {dataset.dua_version}, "
                                   f"not {version}: read the current one and accept it", field="accept_agreements")
            accepted[dataset_id] = version
            audit.append(session, actor=request.applicant, action="agreement.accept", dataset_id=dataset_id,
                         request_id=request.id, details={"version": version})
        request.accepted_agreements = accepted
    request.updated_at = utcnow()
    session.add(request)
    session.commit()
    return request


def _dataset_of(session: Session, request: AccessRequest, dataset_id: str) -> DatasetTerms:
    if dataset_id not in request_datasets(session, request.id):
        raise InvalidInput(f"dataset {dataset_id} is not part of request {request.id}", field="accept_agreements")
    return dataset_terms(session, dataset_id)


def _verdicts(datasets: Sequence[DatasetTerms], purpose: list[str], diseases: list[str], *,
              for_profit: bool) -> dict[str, Any]:
    per_dataset: dict[str, Verdict] = {
        d.ref: check_use(purpose, diseases, for_profit=for_profit, conditions=d.duo,
                         condition_diseases=d.disease_terms) for d in datasets}
    overall = combine(per_dataset.values())
    return {**overall.as_dict(), "datasets": {d: v.as_dict() for d, v in per_dataset.items()}}


def use_verdicts(session: Session, request: AccessRequest) -> dict[str, Any]:
    """The DUO verdict per dataset and overall: approve, deny or abstain, with reasons."""
    return _verdicts([dataset_terms(session, d) for d in request_datasets(session, request.id)], request.purpose,
                     request.disease_terms, for_profit=request.for_profit)


def preview_purpose(session: Session, caller: Caller, dataset_ids: Sequence[str], purpose: list[str],
                    diseases: list[str], *, for_profit: bool) -> dict[str, Any]:
    """The DUO verdict a request with this purpose would get, before any draft exists (the form's live check)."""
    require_authenticated(caller)
    return _verdicts(_requestable(session, caller, dataset_ids), _check_terms(purpose, diseases), diseases,
                     for_profit=for_profit)


def preview_use(session: Session, caller: Caller, request_id: str) -> dict[str, Any]:
    """What the DUO check says about the request as it stands (shown before submitting)."""
    return use_verdicts(session, get_request(session, caller, request_id))


def list_requests(session: Session, caller: Caller, *, scope: str = "mine",
                  state: RequestState | None = None) -> list[AccessRequest]:
    """`mine`: requests the caller applies for (or co-applies); `dac`: the queue of the caller's DACs;
    `all`: every request (admins)."""
    subject = require_authenticated(caller)
    query = select(AccessRequest)
    if scope == "mine":
        query = query.where(or_(col(AccessRequest.applicant) == subject,
                                cast(AccessRequest.co_applicants, String).like(f'%"{subject}"%')))
    elif scope == "dac":
        query = query.where(col(AccessRequest.dac_id).in_(caller.roles.dac_member_of),
                            AccessRequest.state != RequestState.draft.value)
    elif scope == "all":
        require_admin(caller)
    else:
        raise InvalidInput("scope must be mine, dac or all", field="scope")
    if state is not None:
        query = query.where(AccessRequest.state == state.value)
    rows = session.exec(query.order_by(col(AccessRequest.id))).all()
    # The LIKE above is a coarse filter on the JSON text; confirm membership exactly.
    return [r for r in rows if scope != "mine" or is_applicant(caller, r)]
