"""What operators see of the privacy budgets: spending, locks, refusals and alerts per holder and dataset."""

from __future__ import annotations

from sqlmodel import Session, SQLModel, col, select

from beacon.privacy.domain import budget
from beacon.privacy.models import PrivacyLedger
from beacon.privacy.services import Policy
from catalogue.identity import Caller
from catalogue.models import Dataset, UtcDatetime, as_utc
from catalogue.services.roles import require_admin

__all__ = ["BudgetStatus", "budget_status", "cap"]


class BudgetStatus(SQLModel):
    """One holder's budget for one dataset."""

    holder: str
    kind: str
    organisation: str | None
    dataset_id: str
    budget: float | None  # nats; None when the dataset's defence is off
    spent: float
    remaining: float | None
    answered: int
    refused: int
    rare: int
    locked_at: UtcDatetime | None
    alerted_at: UtcDatetime | None
    period_start: UtcDatetime


def cap(kind: str, p: float, policy: Policy) -> float:
    """The budget in nats of a holder of this kind on a dataset of parameter p (p > 0)."""
    if kind == "organisation":
        return budget(p) * policy.org_budgets
    if kind == "address":
        return budget(max(p, policy.anonymous_p))
    return budget(p)


def budget_status(session: Session, caller: Caller, policy: Policy, *, holder: str | None = None,
                  dataset_id: str | None = None,
                  alerts_only: bool = False, limit: int = 100, offset: int = 0) -> list[BudgetStatus]:
    """Budgets (admins and the operator), the most recently locked or alerted first, then by spending.

    `holder` matches a holder key exactly or a subject at its end (`issuer|subject`).
    """
    require_admin(caller)
    query = select(PrivacyLedger, Dataset.privacy_p).join(Dataset, col(Dataset.id) == PrivacyLedger.dataset_id)
    if holder:
        query = query.where((col(PrivacyLedger.holder) == holder) | col(PrivacyLedger.holder).endswith(f"|{holder}"))
    if dataset_id:
        query = query.where(PrivacyLedger.dataset_id == dataset_id)
    if alerts_only:
        query = query.where(col(PrivacyLedger.alerted_at).is_not(None))
    query = query.order_by(col(PrivacyLedger.locked_at).desc().nulls_last(), col(PrivacyLedger.spent).desc(),
                           col(PrivacyLedger.holder), col(PrivacyLedger.dataset_id)).offset(offset).limit(limit)
    out = []
    for row, p in session.exec(query).all():
        finite = cap(row.kind, p, policy) if p > 0 else None
        out.append(BudgetStatus(
            holder=row.holder, kind=row.kind, organisation=row.organisation, dataset_id=row.dataset_id,
            budget=finite, spent=row.spent, remaining=None if finite is None else max(finite - row.spent, 0.0),
            answered=row.answered, refused=row.refused, rare=row.rare,
            locked_at=row.locked_at and as_utc(row.locked_at), alerted_at=row.alerted_at and as_utc(row.alerted_at),
            period_start=as_utc(row.period_start)))
    return out
