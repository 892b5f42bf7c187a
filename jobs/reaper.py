"""The reaper (periodic kind `jobs.reap`, every half lease): no job stays stuck, none is lost, old ones go.

- A running job whose lease lapsed (its worker was killed, or lost the database) is queued again, or failed
  when its attempts are used up (its kind's give-up hook runs first).
- A queued job still unclaimed a lease after it was due (its delivery was lost: the broker restarted, or it
  was down when the job was submitted) is handed to the broker again. A claim is a conditional update, so a
  job delivered twice still runs once.
- Jobs that ended more than `job_keep_days` ago are deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from catalogue.models import utcnow
from catalogue.settings import Settings
from jobs import registry
from jobs.broker import broker_of
from jobs.context import JobContext
from jobs.models import Job, JobState
from jobs.runner import give_up

__all__ = ["LAPSED", "Reaped", "reap"]

log = logging.getLogger("genomegate.jobs")
LAPSED = "the worker running it stopped (its lease lapsed)"
_BATCH = 500

# updates that leave the session's loaded objects alone (they hold naive datetimes on SQLite)
_JOBS = update(Job).execution_options(synchronize_session=False)

@dataclass(frozen=True, slots=True)
class Reaped:
    requeued: list[int]
    failed: list[int]
    redelivered: list[int]
    deleted: int

    def as_result(self) -> dict[str, int]:
        return {"requeued": len(self.requeued), "failed": len(self.failed), "redelivered": len(self.redelivered),
                "deleted": self.deleted}


def reap(engine: Engine, settings: Settings, *, now: datetime | None = None) -> Reaped:
    now = now or utcnow()
    requeued, failed = _lapsed(engine, now)
    redelivered = _lost(engine, now, timedelta(seconds=settings.job_lease_seconds))
    broker = broker_of(engine)
    if broker is not None:
        broker.send(requeued + redelivered)
    with Session(engine) as session:
        deleted = session.execute(delete(Job).where(
            col(Job.state).in_([JobState.succeeded.value, JobState.failed.value]),
            col(Job.finished_at) < now - timedelta(days=settings.job_keep_days))).rowcount  # type: ignore[attr-defined]
        session.commit()
    reaped = Reaped(requeued=requeued, failed=failed, redelivered=redelivered, deleted=int(deleted or 0))
    if requeued or failed or redelivered:
        log.warning("reaper: %s job(s) queued again after their worker stopped (%s), %s failed for good (%s), "
                    "%s handed to the broker again (%s)", len(requeued), requeued, len(failed), failed,
                    len(redelivered), redelivered)
    return reaped


def _lapsed(engine: Engine, now: datetime) -> tuple[list[int], list[int]]:
    requeued: list[int] = []
    failed: list[int] = []
    with Session(engine) as session:
        lapsed = session.exec(select(Job).where(col(Job.state) == JobState.running.value,
                                                col(Job.lease_expires_at) < now).limit(_BATCH)).all()
        for job in lapsed:
            assert job.id is not None
            still = (col(Job.id) == job.id, col(Job.state) == JobState.running.value,
                     col(Job.lease_owner) == job.lease_owner, col(Job.lease_expires_at) < now)
            if job.attempts < job.max_attempts:
                done = session.execute(_JOBS.where(*still).values(
                    state=JobState.queued.value, lease_owner=None, lease_expires_at=None, not_before=now,
                    error=f"attempt {job.attempts}: {LAPSED}")).rowcount  # type: ignore[attr-defined]
                session.commit()
                if done:
                    requeued.append(job.id)
                continue
            error = f"{LAPSED}; its {job.attempts} attempt(s) are used up"
            give_up(engine, job.kind, job.payload, error, registry.get(job.kind))
            done = session.execute(_JOBS.where(*still).values(
                state=JobState.failed.value, lease_owner=None, lease_expires_at=None, finished_at=now,
                error=error)).rowcount  # type: ignore[attr-defined]
            session.commit()
            if done:
                failed.append(job.id)
    return requeued, failed


def _lost(engine: Engine, now: datetime, lease: timedelta) -> list[int]:
    """Queued jobs a lease overdue: their due time moves to now (so each is re-sent once a lease), and back to
    the broker they go."""
    with Session(engine) as session:
        overdue = list(session.exec(select(Job.id).where(
            col(Job.state) == JobState.queued.value, col(Job.not_before) < now - lease).limit(_BATCH)).all())
        if not overdue:
            return []
        session.execute(_JOBS.where(col(Job.id).in_(overdue), col(Job.state) == JobState.queued.value)
                        .values(not_before=now))
        session.commit()
    return [i for i in overdue if i is not None]


@registry.periodic("jobs.reap", every=lambda settings: max(1.0, settings.job_lease_seconds / 2))
def reap_jobs(ctx: JobContext) -> dict[str, int]:
    return reap(ctx.engine, ctx.settings).as_result()
