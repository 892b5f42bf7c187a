"""Operators' view of the Beacon's privacy budgets: GET /api/admin/privacy (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from beacon.privacy.services import Policy
from beacon.privacy.status import BudgetStatus, budget_status
from catalogue.deps import CallerDep, SessionDep, SettingsDep

__all__ = ["router"]

router = APIRouter(prefix="/api/admin/privacy", tags=["privacy"])


@router.get("", summary="Privacy budgets of accounts, organisations and addresses per dataset (admins)")
def list_budgets(session: SessionDep, caller: CallerDep, settings: SettingsDep,
                       holder: Annotated[str | None, Query(description="a holder key or a subject")] = None,
                       dataset: Annotated[str | None, Query(description="a dataset id")] = None,
                       alerts: Annotated[bool, Query(description="only holders flagged as a possible attack")] = False,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                       offset: Annotated[int, Query(ge=0)] = 0) -> list[BudgetStatus]:
    return budget_status(session, caller, Policy.from_settings(settings), holder=holder, dataset_id=dataset,
                         alerts_only=alerts, limit=limit, offset=offset)
