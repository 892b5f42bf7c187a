"""The participant side's background work: e-mail notices of new approvals."""

from __future__ import annotations

from catalogue.database import session_scope
from jobs import registry
from jobs.context import JobContext
from participants.notices import queue_notices

__all__ = ["NOTICES", "notices"]

NOTICES = "participants.notices"


@registry.periodic(NOTICES, every=lambda settings: settings.notifications_every_seconds)
def notices(ctx: JobContext) -> dict[str, int]:
    """Queue notices of new approvals to the participants who asked for them (the outbox sends them)."""
    with session_scope(ctx.engine) as session:
        return {"queued": queue_notices(session)}
