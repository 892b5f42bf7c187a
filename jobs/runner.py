"""Running one job on a worker: claim it, keep its lease alive, run its kind, record how it ended.

The claim is a conditional update (queued -> running, one more attempt, a lease named by a fresh token): of two
deliveries of the same job, one claims it and the other finds nothing to do. Every later write names the token,
so a worker whose lease lapsed (stalled, or cut off from the database) can no longer record anything: the job
was given to another worker by the reaper.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from catalogue.errors import DomainError
from catalogue.models import utcnow
from catalogue.settings import Settings
from jobs import registry
from jobs.broker import broker_of
from jobs.context import JobContext
from jobs.errors import GiveUp, JobBusy, UnknownKind
from jobs.models import Job, JobState

__all__ = ["MAX_BACKOFF_SECONDS", "Claim", "backoff", "claim", "error_line", "give_up", "holding", "run_job",
           "worker_name"]

log = logging.getLogger("genomegate.jobs")
MAX_BACKOFF_SECONDS = 600
MAX_ERROR = 500

# updates that leave the session's loaded objects alone (they hold naive datetimes on SQLite)
_JOBS = update(Job).execution_options(synchronize_session=False)

def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: 2, 4, 8, ... at most MAX_BACKOFF_SECONDS."""
    return float(min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS))


def error_line(exc: BaseException) -> str:
    """What a job's row says about its failure: one line, never a traceback."""
    message = exc.message if isinstance(exc, DomainError) else str(exc)
    first = (message.strip().splitlines() or [""])[0]
    line = first if isinstance(exc, DomainError) else f"{type(exc).__name__}: {first}".rstrip(": ")
    return line[:MAX_ERROR]


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    token: str


def claim(engine: Engine, job_id: int, lease_seconds: float, *, now: datetime | None = None) -> Claim | None:
    """Take a queued, due job for this worker; None when it is not there to take (another has it, it ended, or
    it is not due yet: then the broker or the reaper delivers it again when it is)."""
    now = now or utcnow()
    token = f"{worker_name()}:{uuid.uuid4().hex[:12]}"
    with Session(engine) as session:
        taken = session.execute(
            _JOBS.where(col(Job.id) == job_id, col(Job.state) == JobState.queued.value,
                              col(Job.not_before) <= now)
            .values(state=JobState.running.value, attempts=col(Job.attempts) + 1, lease_owner=token,
                    lease_expires_at=now + timedelta(seconds=lease_seconds), started_at=now, finished_at=None)
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
        if not taken:
            return None
        job = session.get(Job, job_id)
        assert job is not None
        return Claim(job_id=job_id, kind=job.kind, payload=dict(job.payload), attempt=job.attempts,
                     max_attempts=job.max_attempts, token=token)


def _mine(claim: Claim) -> Any:
    return (col(Job.id) == claim.job_id, col(Job.state) == JobState.running.value,
            col(Job.lease_owner) == claim.token)


def _record(engine: Engine, claim: Claim, **values: Any) -> bool:
    with Session(engine) as session:
        done = session.execute(_JOBS.where(*_mine(claim)).values(**values)).rowcount  # type: ignore[attr-defined]
        session.commit()
    return bool(done)


class _Heartbeat:
    """Renews the claim's lease every third of it while the kind runs, on a thread of its own."""

    def __init__(self, engine: Engine, claim: Claim, lease_seconds: float) -> None:
        self.engine, self.claim, self.lease = engine, claim, lease_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{claim.job_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.lease / 3):
            try:
                kept = _record(self.engine, self.claim,
                               lease_expires_at=utcnow() + timedelta(seconds=self.lease))
            except (SQLAlchemyError, DomainError) as exc:  # the database is away: the lease may lapse
                log.warning("job %s: could not renew its lease: %s", self.claim.job_id, error_line(exc))
                continue
            if not kept:
                log.warning("job %s: its lease was lost (it ran too long unrenewed); another worker has it now",
                            self.claim.job_id)
                return


def run_job(engine: Engine, settings: Settings, job_id: int) -> None:
    """Run one delivered job if it is there to claim (the broker's task, on a worker's thread)."""
    lease = float(settings.job_lease_seconds)
    taken = claim(engine, job_id, lease)
    if taken is None:
        log.debug("job %s: nothing to claim (a repeated delivery, or it is not due)", job_id)
        return
    kind = registry.get(taken.kind)
    log.debug("job %s (%s) started, attempt %s of %s", job_id, taken.kind, taken.attempt, taken.max_attempts)

    def report(done: int, total: int | None) -> None:
        _record(engine, taken, progress_done=done, progress_total=total)

    ctx = JobContext(engine=engine, settings=settings, job_id=job_id, attempt=taken.attempt, _report=report)
    try:
        if kind is None:
            raise UnknownKind(f"no kind {taken.kind} in this worker: upgrade it, then retry the job")
        with _Heartbeat(engine, taken, lease):
            result = kind.run(ctx, taken.payload)
    except Exception as exc:
        permanent = isinstance(exc, GiveUp | UnknownKind)
        if not isinstance(exc, DomainError):
            log.error("job %s (%s) raised", job_id, taken.kind, exc_info=exc)  # for operators: the worker's log
        _failed(engine, taken, error_line(exc), permanent=permanent, kind=kind)
        return
    small = dict(result) if isinstance(result, Mapping) else None
    if _record(engine, taken, state=JobState.succeeded.value, finished_at=utcnow(), lease_owner=None,
               lease_expires_at=None, error=None, result=small):
        log.info("job %s (%s) succeeded%s", job_id, taken.kind, f": {small}" if small else "")
    else:
        log.warning("job %s (%s) finished after its lease was lost; the other worker's run counts", job_id,
                    taken.kind)


def _failed(engine: Engine, claim: Claim, error: str, *, permanent: bool, kind: registry.Kind | None) -> None:
    if not permanent and claim.attempt < claim.max_attempts:
        wait = backoff(claim.attempt)
        note = f"attempt {claim.attempt}: {error}"[:MAX_ERROR]
        if _record(engine, claim, state=JobState.queued.value, lease_owner=None, lease_expires_at=None,
                   not_before=utcnow() + timedelta(seconds=wait), error=note):
            log.warning("job %s (%s) attempt %s failed, tried again in %.0f s: %s", claim.job_id, claim.kind,
                        claim.attempt, wait, error)
            broker = broker_of(engine)
            if broker is not None:
                broker.send([claim.job_id], delay=wait)
        return
    give_up(engine, claim.kind, claim.payload, error, kind)
    if _record(engine, claim, state=JobState.failed.value, finished_at=utcnow(), lease_owner=None,
               lease_expires_at=None, error=error):
        log.error("job %s (%s) failed after %s attempt(s): %s", claim.job_id, claim.kind, claim.attempt, error)


def give_up(engine: Engine, kind_name: str, payload: Mapping[str, Any], error: str,
            kind: registry.Kind | None) -> None:
    """Run the kind's on_give_up hook before its job is marked failed (a worker dying in between leaves the job
    to the reaper, which runs the hook again: hooks are idempotent)."""
    if kind is None or kind.on_give_up is None:
        return
    try:
        kind.on_give_up(engine, payload, error)
    except Exception:
        log.exception("the give-up hook of %s failed", kind_name)


@contextmanager
def holding(engine: Engine, job_id: int, lease_seconds: float) -> Iterator[Claim]:
    """Run a job in this process, in the foreground (an operator's command), under the claim and lease a worker
    would take: should this process die, the lease lapses and the reaper hands the job to a worker. How the
    block ends is how the job ends (failed at once: the operator saw why). JobBusy when it is not there to take."""
    taken = claim(engine, job_id, lease_seconds)
    if taken is None:
        raise JobBusy(f"job {job_id} is not queued: a worker runs it, or it ended (genomegate jobs show {job_id})")
    try:
        with _Heartbeat(engine, taken, lease_seconds):
            yield taken
    except BaseException as exc:
        _record(engine, taken, state=JobState.failed.value, finished_at=utcnow(), lease_owner=None,
                lease_expires_at=None, error=error_line(exc) if isinstance(exc, Exception) else "interrupted")
        raise
    _record(engine, taken, state=JobState.succeeded.value, finished_at=utcnow(), lease_owner=None,
            lease_expires_at=None, error=None)
