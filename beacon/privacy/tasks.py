"""The privacy budget's background work: renew every budget whose period ended (queries renew theirs lazily)."""

from __future__ import annotations

from beacon.privacy.services import Policy, renew_ended_periods
from catalogue.database import session_scope
from catalogue.settings import Settings
from jobs import registry
from jobs.context import JobContext

__all__ = ["renew_budgets"]


def _every(settings: Settings) -> float:
    # budgets that never renew (privacy_renew_days 0) need no job
    return float(settings.budget_renewal_every_seconds) if settings.privacy_renew_days else 0.0


@registry.periodic("beacon.privacy.renew_budgets", every=_every)
def renew_budgets(ctx: JobContext) -> dict[str, int]:
    with session_scope(ctx.engine) as session:
        return {"renewed": renew_ended_periods(session, Policy.from_settings(ctx.settings))}
