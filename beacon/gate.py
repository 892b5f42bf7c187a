"""The privacy gate as a stage of a Beacon answer: which datasets answer, and typed reasons for the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from sqlmodel import Session

from beacon.answers import Exclusion, Reason
from beacon.filters import Selection
from beacon.plan import Scoped
from beacon.privacy.errors import BudgetExhausted, TooRevealing
from beacon.privacy.services import Gate, budgeted
from catalogue.services.lookup import PublishedDataset, VariantSearch

__all__ = ["Admitted", "admit"]


class Admitted(NamedTuple):
    """The datasets that answer (`budgeted` ones capped at boolean, charged) and those the gate left out."""

    datasets: tuple[Scoped, ...]
    excluded: tuple[Exclusion, ...] = ()
    budgeted: frozenset[str] = frozenset()


def admit(session: Session, gate: Gate, items: Sequence[Scoped], search: Callable[[PublishedDataset], VariantSearch],
          *, selection: Selection | None = None) -> Admitted:
    """Pass each budgeted dataset through `Gate.admit`; the others answer without it.

    The gate is asked one dataset at a time so that each refusal comes back as the gate's own error (budget
    spent with its renewal time, or too revealing) rather than words. As `Gate.admit` does for a whole
    request, the first refusal (a spent budget first) is raised when no dataset answers at all.
    """
    for item in items:
        if budgeted(item.dataset, item.record_rights):
            break
    else:
        return Admitted(tuple(items))  # the common case: nothing for the gate to charge or refuse
    admitted: list[Scoped] = []
    excluded: list[Exclusion] = []
    refusals: list[BudgetExhausted | TooRevealing] = []
    charged: set[str] = set()
    for item in items:
        if not budgeted(item.dataset, item.record_rights):
            admitted.append(item)
            continue
        try:
            passed, left_out = gate.admit(session, [item], search, selection=selection)
        except (BudgetExhausted, TooRevealing) as refusal:
            refusals.append(refusal)
            excluded.append(_refused(item.dataset.id, refusal))
            continue
        admitted += (Scoped(*p) for p in passed)
        charged.update(p[0].id for p in passed)
        # The only exclusion the gate returns rather than raises: no budget holder for an anonymous caller.
        excluded += (Exclusion(item.dataset.id, Reason.GENOTYPES_SIGN_IN_REQUIRED) for _ in left_out)
    if refusals and not admitted:
        spent = [r for r in refusals if isinstance(r, BudgetExhausted)]
        raise (spent or refusals)[0]
    return Admitted(tuple(admitted), tuple(excluded), frozenset(charged))


def _refused(dataset_id: str, refusal: BudgetExhausted | TooRevealing) -> Exclusion:
    if isinstance(refusal, BudgetExhausted):
        return Exclusion(dataset_id, Reason.BUDGET_SPENT, message=refusal.message, renews_at=refusal.renews_at,
                         retry_after=refusal.retry_after)
    return Exclusion(dataset_id, Reason.PRIVACY_REFUSED, message=refusal.message)
