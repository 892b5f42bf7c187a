"""What a caller may see of which datasets: record-level rights come from active entitlements."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from access.models import Entitlement
from catalogue.models import utcnow

__all__ = ["active_entitlements", "record_datasets"]


def active_entitlements(session: Session, subject: str, *, now: datetime | None = None) -> list[Entitlement]:
    """The subject's entitlements in force now: started, not ended, not revoked."""
    now = now or utcnow()
    return list(session.exec(select(Entitlement).where(
        Entitlement.subject == subject, col(Entitlement.revoked_at).is_(None),
        col(Entitlement.start) <= now, col(Entitlement.end) > now,
    ).order_by(col(Entitlement.id))).all())


def record_datasets(session: Session, subject: str | None, dataset_ids: Iterable[str], *,
                    now: datetime | None = None) -> frozenset[str]:
    """Those of `dataset_ids` whose record-level data `subject` may see now (none for anonymous callers).

    Read from the database on every call, so a revocation or an expiry takes effect on the next query.
    """
    wanted = set(dataset_ids)
    if subject is None or not wanted:
        return frozenset()
    return frozenset(e.dataset_id for e in active_entitlements(session, subject, now=now) if e.dataset_id in wanted)
