"""Entitlements: granted on approval, revoked by the DAC, expiring by themselves, renewed through review."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from access import audit
from access.models import AccessRequest, Entitlement, EntitlementPublic, is_remote
from access.notifications import notify
from catalogue.errors import Forbidden, InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import Dataset, as_utc, utcnow
from catalogue.services.datasets import datasets_of_dacs
from catalogue.services.roles import require_authenticated

__all__ = [
    "SYSTEM_ACTOR", "entitlement_public", "grant_entitlements", "is_active", "list_entitlements", "record_expiries",
    "remind_expiring", "revoke_entitlement", "revoke_for_request",
]


SYSTEM_ACTOR = "genomegate"  # the audit log's actor of what the node does by itself (expiries)
MAX_EXPIRIES = 1_000  # recorded per run; the next run records the rest

# updates that leave the session's loaded objects alone (they hold naive datetimes on SQLite)
_ENTITLEMENTS = update(Entitlement).execution_options(synchronize_session=False)

def is_active(entitlement: Entitlement, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (entitlement.revoked_at is None and as_utc(entitlement.start) <= now < as_utc(entitlement.end))


def entitlement_public(entitlement: Entitlement) -> EntitlementPublic:
    return EntitlementPublic.model_validate(entitlement, update={"active": is_active(entitlement)})


def grant_entitlements(session: Session, request: AccessRequest, datasets: list[str], *, end: datetime,
                       granted_by: str) -> list[Entitlement]:
    """Entitle the applicant and co-applicants to each dataset until `end` (in the caller's transaction)."""
    now = utcnow()
    granted = []
    for subject in dict.fromkeys([request.applicant, *request.co_applicants]):
        for dataset_id in datasets:
            entitlement = Entitlement(subject=subject, dataset_id=dataset_id, request_id=request.id,
                                      granted_use=list(request.purpose), start=now, end=end, granted_by=granted_by)
            session.add(entitlement)
            session.flush()
            audit.append(session, actor=granted_by, action="entitlement.grant", dataset_id=dataset_id,
                         request_id=request.id, entitlement_id=entitlement.id,
                         details={"subject": subject, "end": end.isoformat()})
            granted.append(entitlement)
    return granted


def _may_manage(session: Session, caller: Caller, entitlement: Entitlement) -> bool:
    """Admins, and members of the DAC deciding the dataset: a local dataset's own, a remote one's request's."""
    if caller.is_admin:
        return True
    if is_remote(entitlement.dataset_id):
        request = session.get(AccessRequest, entitlement.request_id)
        return request is not None and caller.sits_on(request.dac_id)
    dataset = session.get(Dataset, entitlement.dataset_id)
    return dataset is not None and dataset.dac_id is not None and caller.sits_on(dataset.dac_id)


def revoke_entitlement(session: Session, caller: Caller, entitlement_id: int, reason: str) -> Entitlement:
    """Revoke one entitlement (members of the dataset's DAC; admins); effective on the next query."""
    subject = require_authenticated(caller)
    entitlement = session.get(Entitlement, entitlement_id)
    if entitlement is None or not (_may_manage(session, caller, entitlement) or entitlement.subject == subject):
        raise NotFound(f"entitlement {entitlement_id} does not exist")
    if not _may_manage(session, caller, entitlement):
        raise Forbidden("only the dataset's DAC can revoke an entitlement")
    if not reason.strip():
        raise InvalidInput("a revocation needs a reason", field="reason")
    if entitlement.revoked_at is not None:
        return entitlement
    entitlement.revoked_at, entitlement.revoked_by, entitlement.revoke_reason = utcnow(), subject, reason
    session.add(entitlement)
    audit.append(session, actor=subject, action="entitlement.revoke", dataset_id=entitlement.dataset_id,
                 request_id=entitlement.request_id, entitlement_id=entitlement.id, details={"reason": reason})
    notify(session, [entitlement.subject], kind="revocation", request_id=entitlement.request_id,
           subject=f"Your access to {entitlement.dataset_id} was revoked",
           body=f"Your access to dataset {entitlement.dataset_id} (request {entitlement.request_id}) was revoked "
                f"by its data access committee.\nReason: {reason}\n")
    session.commit()
    return entitlement


def revoke_for_request(session: Session, request: AccessRequest, actor: str, reason: str) -> int:
    """Revoke every active entitlement a request granted (when the request is closed)."""
    count = 0
    for entitlement in session.exec(select(Entitlement).where(
            Entitlement.request_id == request.id, col(Entitlement.revoked_at).is_(None))):
        entitlement.revoked_at, entitlement.revoked_by, entitlement.revoke_reason = utcnow(), actor, reason
        session.add(entitlement)
        audit.append(session, actor=actor, action="entitlement.revoke", dataset_id=entitlement.dataset_id,
                     request_id=request.id, entitlement_id=entitlement.id, details={"reason": reason})
        count += 1
    return count


def list_entitlements(session: Session, caller: Caller, *, scope: str = "mine",
                      dataset_id: str | None = None) -> list[Entitlement]:
    """`mine`: the caller's own; `dac`: those of the datasets the caller's DACs govern (admins: all)."""
    subject = require_authenticated(caller)
    query = select(Entitlement)
    if scope == "mine":
        query = query.where(Entitlement.subject == subject)
    elif scope == "dac":
        if not caller.is_admin:
            dacs = caller.roles.dac_member_of
            remote_of_dacs = select(AccessRequest.id).where(col(AccessRequest.dac_id).in_(dacs))
            query = query.where(or_(
                col(Entitlement.dataset_id).in_(datasets_of_dacs(session, dacs)),
                and_(col(Entitlement.dataset_id).contains("://"), col(Entitlement.request_id).in_(remote_of_dacs))))
    else:
        raise InvalidInput("scope must be mine or dac", field="scope")
    if dataset_id:
        query = query.where(Entitlement.dataset_id == dataset_id)
    return list(session.exec(query.order_by(col(Entitlement.id))).all())


def remind_expiring(session: Session, *, days: int, now: datetime | None = None) -> int:
    """Queue one reminder per active entitlement ending within `days` (each is reminded once)."""
    now = now or utcnow()
    due = session.exec(select(Entitlement).where(
        col(Entitlement.revoked_at).is_(None), col(Entitlement.reminded_at).is_(None),
        col(Entitlement.end) > now, col(Entitlement.end) <= now + timedelta(days=days),
    )).all()
    for entitlement in due:
        notify(session, [entitlement.subject], kind="expiry", request_id=entitlement.request_id,
               subject=f"Your access to {entitlement.dataset_id} ends on {entitlement.end:%Y-%m-%d}",
               body=f"Your access to dataset {entitlement.dataset_id} ends on {entitlement.end:%Y-%m-%d}. "
                    f"To continue, ask for a renewal of request {entitlement.request_id}; it is reviewed like "
                    "the original and, once approved, follows on without a gap.\n")
        entitlement.reminded_at = now
        session.add(entitlement)
    session.commit()
    return len(due)


def record_expiries(session: Session, *, now: datetime | None = None, limit: int = MAX_EXPIRIES) -> int:
    """Record, once per entitlement, that it ended: an audit line and a notice to its holder, in one transaction.

    Access already stops at `end` (checked on every query); this makes the end visible in the audit log and to
    the holder. Each entitlement is marked by a conditional update, so concurrent runs record it once.
    """
    now = now or utcnow()
    ended = session.exec(select(Entitlement).where(
        col(Entitlement.revoked_at).is_(None), col(Entitlement.expiry_recorded_at).is_(None),
        col(Entitlement.end) <= now).order_by(col(Entitlement.id)).limit(limit)).all()
    recorded = 0
    for entitlement in ended:
        marked = session.execute(_ENTITLEMENTS.where(
            col(Entitlement.id) == entitlement.id, col(Entitlement.expiry_recorded_at).is_(None),
            col(Entitlement.revoked_at).is_(None)).values(expiry_recorded_at=now)).rowcount  # type: ignore[attr-defined]
        if not marked:
            continue
        audit.append(session, actor=SYSTEM_ACTOR, action="entitlement.expire", dataset_id=entitlement.dataset_id,
                     request_id=entitlement.request_id, entitlement_id=entitlement.id,
                     details={"subject": entitlement.subject, "end": as_utc(entitlement.end).isoformat()})
        notify(session, [entitlement.subject], kind="expired", request_id=entitlement.request_id,
               subject=f"Your access to {entitlement.dataset_id} has ended",
               body=f"Your access to dataset {entitlement.dataset_id} (request {entitlement.request_id}) ended on "
                    f"{as_utc(entitlement.end):%Y-%m-%d}. To use the data again, ask for a renewal of the request.\n")
        recorded += 1
    session.commit()
    return recorded
