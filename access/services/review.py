"""The request's life: submit, withdraw, comment, vote, decide (approve, reject, return), close, renew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from access import audit
from access.domain import Match, transition
from access.errors import IncompatibleUse, NotYourRequest, Recused, StaleRequest
from access.models import AccessRequest, Command, RequestCreate, RequestEvent, RequestState, Vote, VoteChoice
from access.notifications import notify
from access.services.entitlements import grant_entitlements, revoke_for_request
from access.services.requests import (
    create_request,
    dataset_terms,
    get_request,
    is_applicant,
    request_datasets,
    use_verdicts,
)
from catalogue.errors import Forbidden, InvalidInput
from catalogue.identity import Caller
from catalogue.models import Dac, utcnow
from catalogue.services.registry import dac_members

__all__ = [
    "close_request", "comment", "decide", "history", "renew_request", "submit_request", "vote", "votes",
    "withdraw_request",
]


def _move(session: Session, request: AccessRequest, command: Command, actor: str, message: str = "") -> None:
    """Apply a command: the state changes only if nobody changed the request since it was read."""
    before = RequestState(request.state)
    target = transition(before, command)
    now = utcnow()
    changed = session.execute(
        update(AccessRequest).where(col(AccessRequest.id) == request.id, col(AccessRequest.version) == request.version)
        .values(state=target.value, version=request.version + 1, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        session.rollback()
        raise StaleRequest(f"request {request.id} was changed by someone else just now; reload it")
    request.state, request.version, request.updated_at = target.value, request.version + 1, now
    session.add(RequestEvent(request_id=request.id, actor=actor, kind=command.value, message=message,
                             from_state=before.value, to_state=target.value))
    audit.append(session, actor=actor, action=f"request.{command.value}", request_id=request.id,
                 details={"from": before.value, "to": target.value, **({"message": message} if message else {})})


def _applicant_only(caller: Caller, request: AccessRequest) -> str:
    if caller.subject != request.applicant:
        raise NotYourRequest("only the applicant may do this")
    return caller.subject


def _reviewer(session: Session, caller: Caller, request: AccessRequest) -> str:
    """A member of the request's DAC who is not an applicant in it (a recusal is recorded)."""
    subject = caller.subject or ""
    if not caller.sits_on(request.dac_id):
        raise Forbidden(f"only members of {request.dac_id} may review this request")
    if is_applicant(caller, request):
        session.add(RequestEvent(request_id=request.id, actor=subject, kind="recuse", visible_to_applicant=False,
                                 message="an applicant of this request cannot review it"))
        audit.append(session, actor=subject, action="request.recuse", request_id=request.id)
        session.commit()
        raise Recused("you are an applicant in this request: another member of the DAC must review it")
    return subject


def _round(session: Session, request_id: str) -> int:
    return int(session.exec(select(func.count()).select_from(RequestEvent).where(
        RequestEvent.request_id == request_id, RequestEvent.kind == Command.submit.value)).one())


def _dac_recipients(session: Session, dac_id: str) -> list[str]:
    dac = session.get(Dac, dac_id)
    return ([dac.contact_email] if dac else []) + dac_members(session, dac_id)


def submit_request(session: Session, caller: Caller, request_id: str) -> AccessRequest:
    """Send a draft (or returned) request to the DAC: agreements accepted, purpose compatible (or for a person)."""
    request = get_request(session, caller, request_id)
    actor = _applicant_only(caller, request)
    transition(RequestState(request.state), Command.submit)  # refuse early, before the checks below
    for dataset_id in request_datasets(session, request.id):
        dataset = dataset_terms(session, dataset_id)
        if request.accepted_agreements.get(dataset_id) != dataset.dua_version:
            raise InvalidInput(f"accept the data access agreement of {dataset_id} (version {dataset.dua_version}) "
                               "before submitting", field="accept_agreements")
    verdict = use_verdicts(session, request)
    if verdict["result"] == Match.deny:
        raise IncompatibleUse("the research purpose is incompatible with the data use conditions: "
                              + "; ".join(verdict["reasons"]), field="purpose")
    request.duo_verdict = verdict
    request.submitted_at = utcnow()
    session.add(request)
    _move(session, request, Command.submit, actor)
    notify(session, _dac_recipients(session, request.dac_id), kind="submission", request_id=request.id,
           subject=f"Access request {request.id} to review",
           body=f"{request.applicant} submitted access request {request.id} ({request.project_title}).\n"
                f"DUO check: {verdict['result']} ({'; '.join(verdict['reasons'])}).\n")
    session.commit()
    return request


def withdraw_request(session: Session, caller: Caller, request_id: str) -> AccessRequest:
    """The applicant takes the request back before a decision."""
    request = get_request(session, caller, request_id)
    _move(session, request, Command.withdraw, _applicant_only(caller, request))
    session.commit()
    return request


def comment(session: Session, caller: Caller, request_id: str, message: str, *, internal: bool = False) -> RequestEvent:
    """A message on the request; `internal` ones (DAC members only) are hidden from the applicants."""
    request = get_request(session, caller, request_id)
    if not message.strip():
        raise InvalidInput("a comment needs text", field="message")
    if internal or not is_applicant(caller, request):
        _reviewer(session, caller, request)
    event = RequestEvent(request_id=request.id, actor=caller.subject or "", kind="comment", message=message,
                         visible_to_applicant=not internal)
    session.add(event)
    audit.append(session, actor=caller.subject or "", action="request.comment", request_id=request.id)
    session.commit()
    return event


def vote(session: Session, caller: Caller, request_id: str, choice: VoteChoice, reason: str = "") -> Vote:
    """A DAC member's vote in the current round of review (a new vote replaces the member's earlier one)."""
    request = get_request(session, caller, request_id)
    member = _reviewer(session, caller, request)
    if request.state != RequestState.submitted:
        raise InvalidInput(f"a {request.state} request takes no votes", field="state")
    if choice == VoteChoice.reject and not reason.strip():
        raise InvalidInput("a vote to reject needs a reason", field="reason")
    current = _round(session, request.id)
    row = session.exec(select(Vote).where(Vote.request_id == request.id, Vote.member == member,
                                          Vote.round == current)).first()
    row = row or Vote(request_id=request.id, member=member, round=current, choice=choice)
    row.choice, row.reason, row.created_at = choice.value, reason, utcnow()
    session.add(row)
    session.add(RequestEvent(request_id=request.id, actor=member, kind="vote", message=f"{choice.value}: {reason}",
                             visible_to_applicant=False))
    audit.append(session, actor=member, action="request.vote", request_id=request.id,
                 details={"choice": choice.value, "round": current})
    session.commit()
    return row


def votes(session: Session, caller: Caller, request_id: str) -> list[Vote]:
    request = get_request(session, caller, request_id)
    if not caller.sits_on(request.dac_id) and not caller.is_admin:
        raise Forbidden("votes are visible to the DAC only")
    return list(session.exec(select(Vote).where(Vote.request_id == request.id).order_by(col(Vote.id))).all())


def _quorum_reached(session: Session, request: AccessRequest, choice: VoteChoice) -> None:
    dac = session.get(Dac, request.dac_id)
    quorum = dac.quorum if dac else 1
    if quorum <= 1:
        return
    agreeing = session.exec(select(func.count()).select_from(Vote).where(
        Vote.request_id == request.id, Vote.round == _round(session, request.id),
        Vote.choice == choice.value)).one()
    if agreeing < quorum:
        raise InvalidInput(f"{request.dac_id} decides by a quorum of {quorum} votes; {agreeing} member(s) voted "
                           f"to {choice.value} so far", field="command")


def decide(session: Session, caller: Caller, request_id: str, command: Command, *, reason: str = "",
           access_end: datetime | None = None, default_days: int = 365) -> AccessRequest:
    """Approve (entitling the applicants until `access_end`), reject (with a reason) or return (with a message)."""
    request = get_request(session, caller, request_id)
    member = _reviewer(session, caller, request)
    if command not in (Command.approve, Command.reject, Command.return_):
        raise InvalidInput("a decision is approve, reject or return", field="command")
    transition(RequestState(request.state), command)
    if command in (Command.reject, Command.return_) and not reason.strip():
        raise InvalidInput(f"to {command.value} a request, say why (reason)", field="reason")
    datasets = request_datasets(session, request.id)
    if command is Command.approve:
        _quorum_reached(session, request, VoteChoice.approve)
        end = access_end or utcnow() + timedelta(days=default_days)
        end = end if end.tzinfo else end.replace(tzinfo=UTC)
        if end <= utcnow():
            raise InvalidInput("the end of access must lie in the future", field="access_end")
        request.access_end = end
    elif command is Command.reject:
        _quorum_reached(session, request, VoteChoice.reject)
    if command is not Command.return_:
        request.decided_at, request.decided_by, request.decision_reason = utcnow(), member, reason or None
    _move(session, request, command, member, reason)
    if command is Command.approve:
        assert request.access_end is not None
        grant_entitlements(session, request, datasets, end=request.access_end, granted_by=member)
    session.add(request)
    outcome = {Command.approve: "approved", Command.reject: "rejected", Command.return_: "returned for changes"}
    notify(session, [request.applicant_email or request.applicant, *request.co_applicants], kind="decision",
           request_id=request.id, subject=f"Access request {request.id} was {outcome[command]}",
           body=f"Your access request {request.id} ({request.project_title}) was {outcome[command]}."
                + (f"\nAccess ends on {request.access_end:%Y-%m-%d}." if command is Command.approve else "")
                + (f"\nMessage from the DAC: {reason}" if reason else "") + "\n")
    session.commit()
    return request


def close_request(session: Session, caller: Caller, request_id: str, reason: str) -> AccessRequest:
    """Close a request for good (its DAC or an admin); the entitlements it granted are revoked."""
    request = get_request(session, caller, request_id)
    actor = caller.subject or ""
    if not caller.is_admin:
        actor = _reviewer(session, caller, request)
    if not reason.strip():
        raise InvalidInput("closing a request needs a reason", field="reason")
    _move(session, request, Command.close, actor, reason)
    revoke_for_request(session, request, actor, f"request closed: {reason}")
    session.commit()
    return request


def renew_request(session: Session, caller: Caller, request_id: str) -> AccessRequest:
    """A draft renewal of an approved request, pre-filled from it; once approved it follows without a gap."""
    request = get_request(session, caller, request_id)
    _applicant_only(caller, request)
    if request.state != RequestState.approved:
        raise InvalidInput(f"only an approved request can be renewed; {request.id} is {request.state}",
                           field="request_id")
    data = RequestCreate(
        project_title=request.project_title, lay_summary=request.lay_summary, purpose=request.purpose,
        disease_terms=request.disease_terms, institution=request.institution, for_profit=request.for_profit,
        co_applicants=request.co_applicants, datasets=request_datasets(session, request.id), renewal_of=request.id)
    return create_request(session, caller, data)


def history(session: Session, caller: Caller, request_id: str) -> list[RequestEvent]:
    """The request's events; applicants do not see the DAC's internal ones (votes, internal comments)."""
    request = get_request(session, caller, request_id)
    query = select(RequestEvent).where(RequestEvent.request_id == request.id)
    if not (caller.sits_on(request.dac_id) or caller.is_admin):
        query = query.where(col(RequestEvent.visible_to_applicant).is_(True))
    return list(session.exec(query.order_by(col(RequestEvent.id))).all())
