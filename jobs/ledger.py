"""The ledger: submit jobs in the caller's transaction, read them, retry failed ones, follow a parent's children.

A job is handed to the broker only after the transaction that recorded it commits: a worker never sees a job
that may yet be rolled back, and a job whose hand-over fails stays queued for the reaper to hand over again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from catalogue.database import is_sqlite
from catalogue.errors import InvalidInput
from catalogue.limits import MAX_OFFSET
from catalogue.models import as_utc, utcnow
from catalogue.settings import Settings
from jobs import registry
from jobs.broker import broker_of
from jobs.errors import JobNotFound, NotRetryable
from jobs.models import Job, JobPublic, JobsPublic, JobState

__all__ = ["MAX_LIST", "MAX_PAYLOAD_BYTES", "children_states", "engine_of", "get", "list_jobs", "public", "retry",
           "submit"]

log = logging.getLogger("genomegate.jobs")
MAX_PAYLOAD_BYTES = 16_384  # a payload names the work (ids, a chunk number); the work's data stays in its tables
MAX_LIST = 500
_PENDING = "jobs.pending"  # session.info: jobs recorded in the open transaction, handed over when it commits
_DEFAULT_ATTEMPTS = Settings.model_fields["job_max_attempts"].default

# updates that leave the session's loaded objects alone (they hold naive datetimes on SQLite)
_JOBS = update(Job).execution_options(synchronize_session=False)


def _known(session: Session, dedupe_key: str) -> Job | None:
    """The job recorded with `dedupe_key`, if any."""
    return session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).first()


def _insert_once(session: Session, job: Job) -> Job | None:
    """`job` (with a dedupe key) recorded, or None when another transaction recorded its key first."""
    if is_sqlite(engine_of(session)):
        # The ledger's check may have read outside a transaction (the driver begins one at the first write), so
        # another process may have recorded the key since: the insert does nothing then. (Not a SAVEPOINT: SQLite's
        # driver turns a first SAVEPOINT into the transaction itself, and its release would commit the caller's
        # work.)
        new_id = session.execute(sqlite_insert(Job).values(job.model_dump(exclude={"id"}))
                                 .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(Job.id))).scalar()
        return None if new_id is None else session.get_one(Job, new_id)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        return None
    return job


def engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def submit(session: Session, kind: str, payload: Mapping[str, Any], dedupe_key: str | None = None,
           parent_id: int | None = None, *, not_before: datetime | None = None) -> Job:
    """Record a job of `kind` in the caller's transaction (the caller commits); it is handed to the broker once
    that transaction commits. With a `dedupe_key` already used, the job that has it is returned instead; the
    same job submitted twice in one transaction is recorded once."""
    if not kind or len(kind) > registry.MAX_NAME:
        raise InvalidInput(f"a job's kind has 1 to {registry.MAX_NAME} characters", field="kind")
    if dedupe_key is not None and not 1 <= len(dedupe_key) <= 200:
        raise InvalidInput("a dedupe key has 1 to 200 characters", field="dedupe_key")
    body = dict(payload)
    try:
        size = len(json.dumps(body))
    except (TypeError, ValueError):
        raise InvalidInput("a job's payload must be JSON (ids and numbers, not objects)", field="payload") from None
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"a job's payload is at most {MAX_PAYLOAD_BYTES} bytes of JSON", field="payload")
    held: list[_Pending] = session.info.get(_PENDING, [])
    for waiting in held:
        if (waiting.kind, waiting.payload, waiting.parent_id, waiting.dedupe_key) == (kind, body, parent_id,
                                                                                       dedupe_key):
            return waiting.job
    if dedupe_key is not None:
        known = _known(session, dedupe_key)
        if known is not None:
            return known
    kind_of = registry.get(kind)
    broker = broker_of(engine_of(session))
    attempts = (kind_of.max_attempts if kind_of and kind_of.max_attempts else
                broker.settings.job_max_attempts if broker else _DEFAULT_ATTEMPTS)
    job = Job(kind=kind, payload=body, dedupe_key=dedupe_key, parent_id=parent_id, max_attempts=attempts,
              not_before=not_before or utcnow())
    if dedupe_key is None:
        session.add(job)
        session.flush()
    else:
        recorded = _insert_once(session, job)
        if recorded is None:  # another transaction recorded this dedupe key since the check
            known = _known(session, dedupe_key)
            if known is None:
                raise RuntimeError(f"the job with dedupe key {dedupe_key!r} was neither recorded nor found")
            return known
        job = recorded
    _hold(session, job)
    return job


@dataclass(frozen=True, slots=True)
class _Pending:
    """A job recorded in the open transaction, as it was recorded (read without the session after the commit)."""

    job: Job
    id: int
    kind: str
    payload: dict[str, Any]
    parent_id: int | None
    dedupe_key: str | None
    not_before: datetime


def _hold(session: Session, job: Job) -> None:
    """Hand `job` (flushed) to the broker when the session's transaction commits."""
    assert job.id is not None
    session.info.setdefault(_PENDING, []).append(_Pending(
        job=job, id=job.id, kind=job.kind, payload=dict(job.payload), parent_id=job.parent_id,
        dedupe_key=job.dedupe_key, not_before=job.not_before))
    _hand_over_on_commit(session)


def _hand_over_on_commit(session: Session) -> None:
    if event.contains(session, "after_commit", _after_commit):
        return
    event.listen(session, "after_commit", _after_commit)
    event.listen(session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the caller's transaction is still open
        return
    jobs: list[_Pending] = session.info.pop(_PENDING, [])
    if not jobs:
        return
    broker = broker_of(engine_of(session))
    if broker is None:  # no broker here (a script): a worker's reaper hands them over within a lease
        return
    now = utcnow()
    for job in jobs:
        broker.send([job.id], delay=max(0.0, (as_utc(job.not_before) - now).total_seconds()))


def _after_rollback(session: Session) -> None:
    # A savepoint rolled back keeps the transaction's other jobs; one submitted inside it is handed over all the
    # same, and the worker finds no such job to claim.
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


def get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(f"job {job_id} does not exist", field="id")
    return job


def public(job: Job) -> JobPublic:
    return JobPublic.model_validate(job)


def list_jobs(session: Session, *, state: JobState | None = None, kind: str | None = None,
              parent_id: int | None = None, limit: int = 50, offset: int = 0) -> JobsPublic:
    """Jobs newest first, filtered; at most `limit` (1 to MAX_LIST) from `offset`, and how many match."""
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit is 1 to {MAX_LIST}", field="limit")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset is 0 to {MAX_OFFSET}", field="offset")
    query = select(Job)
    if state is not None:
        query = query.where(Job.state == state.value)
    if kind:
        query = query.where(Job.kind == kind)
    if parent_id is not None:
        query = query.where(Job.parent_id == parent_id)
    count = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Job.id).desc()).offset(offset).limit(limit)).all()
    return JobsPublic(data=[public(j) for j in rows], count=count)


def retry(session: Session, job_id: int, *, actor: str) -> Job:
    """Queue a failed job again with all its attempts (admins); it is handed to the broker on commit."""
    job = get(session, job_id)
    now = utcnow()
    done = session.execute(
        _JOBS.where(col(Job.id) == job_id, col(Job.state) == JobState.failed.value)
        .values(state=JobState.queued.value, attempts=0, not_before=now, finished_at=None, lease_owner=None,
                lease_expires_at=None)).rowcount  # type: ignore[attr-defined]
    if not done:
        raise NotRetryable(f"job {job_id} is {job.state}: only a failed job can be retried", field="id")
    _hold(session, job)
    session.commit()
    session.refresh(job)
    log.info("job %s (%s) queued again by %s after: %s", job_id, job.kind, actor, job.error)
    return job


def children_states(session: Session, parent_id: int) -> dict[JobState, int]:
    """How many of a parent's jobs are in each state (every state present, 0 when none): a parent's last child
    may check that no child is left queued or running before it finishes the parent's work."""
    counts = dict(session.exec(select(Job.state, func.count()).where(Job.parent_id == parent_id)
                               .group_by(col(Job.state))).all())
    return {state: int(counts.get(state.value, 0)) for state in JobState}
