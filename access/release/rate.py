"""The release rate limit, counted from the audit log: what one requester was given in the last window."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, func, select

from access.models import AuditEvent
from access.release.policy import Requester
from catalogue.errors import RateLimited

__all__ = ["COUNTED", "RateLimit", "check_rate"]

# The audit lines a release request leaves: each ticket, each block, each download counts once.
COUNTED = ("release.ticket", "release.block", "release.download")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` counted requests per `window` seconds and requester (`limit` 0: no limit)."""

    limit: int = 600
    window: int = 60


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone (they are stored in UTC), PostgreSQL with one.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_rate(session: Session, who: Requester, rate: RateLimit, *, now: datetime) -> None:
    """Pass, or RateLimited (with the seconds until the oldest counted request leaves the window).

    The audit log is the count: it is shared by every server process and survives restarts, and a request
    refused here leaves no line, so refusals do not prolong a wait. Requests racing past the check at the same
    instant can overshoot the limit by as many as run at once (at most GENOMEGATE_MAX_IN_FLIGHT per process).
    """
    if rate.limit <= 0:
        return
    since = now - timedelta(seconds=rate.window)
    query = select(AuditEvent.at).where(AuditEvent.actor == who.actor, col(AuditEvent.action).in_(COUNTED),
                                        col(AuditEvent.at) > since)
    if who.anonymous:
        query = query.where(AuditEvent.client == who.client)
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    if count < rate.limit:
        return
    # The limit-th most recent line leaves the window first among those that keep the count at the limit.
    oldest = session.exec(query.order_by(col(AuditEvent.at).desc()).offset(rate.limit - 1).limit(1)).first()
    wait = rate.window if oldest is None else (_aware(oldest) + timedelta(seconds=rate.window) - now).total_seconds()
    retry_after = max(1, math.ceil(wait))
    raise RateLimited(f"you asked for more than {rate.limit} tickets, blocks and downloads in {rate.window} s; "
                      f"retry in {retry_after} s", retry_after=retry_after)
