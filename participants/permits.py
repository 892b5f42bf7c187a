"""Approvals (permits) as the public and participants see them: who, what for, from when until when, in which state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from access.models import AccessRequest, Entitlement
from catalogue.models import Dataset, as_utc, utcnow

__all__ = ["MAX_PERMITS", "Permit", "PermitState", "permits", "public_register"]

MAX_PERMITS = 10_000


class PermitState(StrEnum):
    active = "active"
    ended = "ended"
    revoked = "revoked"


@dataclass(frozen=True, slots=True)
class Permit:
    """One approval of one dataset for one request (its applicant's entitlement): no participant's data."""

    request_id: str
    dataset_id: str
    dataset_title: str
    organisation: str  # the applicant's institution, as the request states it
    applicant: str
    project_title: str
    purpose: tuple[str, ...]
    lay_summary: str
    granted_at: datetime
    until: datetime
    state: PermitState
    revoked_at: datetime | None
    entitlement_id: int


def _state(entitlement: Entitlement, now: datetime) -> PermitState:
    if entitlement.revoked_at is not None:
        return PermitState.revoked
    return PermitState.active if as_utc(entitlement.end) > now else PermitState.ended


def permits(session: Session, dataset_ids: Iterable[str] | None = None) -> list[Permit]:
    """Approvals, newest first: each request's applicant's entitlement per dataset (co-applicants share it)."""
    query = (select(Entitlement, AccessRequest, Dataset)
             .join(AccessRequest, col(AccessRequest.id) == col(Entitlement.request_id))
             .join(Dataset, col(Dataset.id) == col(Entitlement.dataset_id))
             .where(col(Entitlement.subject) == col(AccessRequest.applicant)))
    if dataset_ids is not None:
        query = query.where(col(Entitlement.dataset_id).in_(list(dataset_ids)))
    query = query.order_by(col(Entitlement.start).desc(), col(Entitlement.id).desc()).limit(MAX_PERMITS)
    now = utcnow()
    return [Permit(request_id=r.id, dataset_id=d.id, dataset_title=d.title, organisation=r.institution,
                   applicant=r.applicant, project_title=r.project_title, purpose=tuple(e.granted_use),
                   lay_summary=r.lay_summary, granted_at=as_utc(e.start), until=as_utc(e.end), state=_state(e, now),
                   revoked_at=as_utc(e.revoked_at) if e.revoked_at else None, entitlement_id=e.id or 0)
            for e, r, d in session.exec(query)]


def public_register(session: Session) -> list[Permit]:
    """Every approval, for the open register (the applicant's account is left out when it is shown)."""
    return permits(session)
