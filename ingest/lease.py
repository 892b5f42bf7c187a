"""Leases of ingestion jobs: the process holding a job proves it lives; a job whose process died is failed.

An ingestion is one write transaction, so its process cannot write a heartbeat to its own job row: on
SQLite the transaction holds the database's single writer lock for the whole ingest, and on PostgreSQL it
holds the job row's lock. So the lease lives beside the row:

- SQLite (every process on one machine, by SQLite's own rule): an exclusive `flock` on the file
  `<database>.leases/<job>.lock`, taken by the process that creates the job before it commits and held until
  the job ends. The kernel releases it when the process dies, however it dies; any process that can take the
  lock of an unfinished job knows its holder is gone. Nothing is written while the holder lives.
- PostgreSQL (processes on several machines): a row in `ingest_lease` that a thread of the holding process
  renews on its own connection every quarter of the job's `lease_seconds`; a job whose row was not renewed
  for `lease_seconds` (by the database's clock) is failed. A killed process's transaction is rolled back by
  the server, so the failure mark is never racing a commit: it waits for the job row's lock (briefly) and
  re-checks the lease in the same statement.

The job row names its holder (`held_by`, host:pid) and the lease length it promised (`lease_seconds`).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import anyio.to_thread
from sqlalchemy import Engine, bindparam, delete, insert, text, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, col, func, select

from catalogue.database import is_sqlite, session_scope
from catalogue.errors import Conflict
from catalogue.models import utcnow
from ingest.models import IngestionChunk, IngestionJob, IngestionLease, JobState, StagedVariant

__all__ = ["ABANDONED", "DEFAULT_LEASE_SECONDS", "engine_of", "holder_name", "holds", "lock_dir", "reap",
           "reap_every", "release", "take"]

log = logging.getLogger("genomegate.ingest")
ABANDONED = "the process running it stopped; nothing was changed: run it again"
DEFAULT_LEASE_SECONDS = 40  # renewed every 10 s, swept every 10 s: a dead job is failed within ~50 s
_UNFINISHED = (JobState.queued.value, JobState.running.value)
_REAP_BUSY_MS = 2000  # how long a reaper waits for SQLite's writer lock or a job row's lock before giving up


def holder_name() -> str:
    """This process, as a job row names its holder: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def lock_dir(engine: Engine) -> Path:
    """Where a SQLite database's lease files live: beside the database file, which every process shares."""
    database = engine.url.database
    if not database or database == ":memory:":  # a database only this process sees
        return Path(tempfile.gettempdir()) / f"genomegate-leases-{os.getpid()}"
    path = Path(database).resolve()
    return path.with_name(f"{path.name}.leases")


class _Keeper:
    """This process's leases on one database: locked files (SQLite) or heartbeat rows it renews (PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        self.mutex = threading.Lock()
        self.files: dict[str, int] = {}  # job id -> descriptor of its locked file (SQLite)
        self.renewed: dict[str, int] = {}  # job id -> lease seconds (PostgreSQL)
        self.thread: threading.Thread | None = None

    def path(self, job_id: str) -> Path:
        return lock_dir(self.engine) / f"{job_id}.lock"

    def lock(self, job_id: str) -> None:
        with self.mutex:
            if job_id in self.files:
                return
            path = self.path(job_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise Conflict(f"ingestion {job_id} is held by another process") from None
            os.ftruncate(fd, 0)
            os.write(fd, holder_name().encode())  # for people looking at the folder
            self.files[job_id] = fd

    def unlock(self, job_id: str) -> None:
        with self.mutex:
            fd = self.files.pop(job_id, None)
        if fd is not None:
            _unlink_locked(self.path(job_id), fd)

    def probe(self, job_id: str) -> int | None:
        """None while a live process holds the job's lock; else the lock, taken here (-1: there is no file)."""
        with self.mutex:
            if job_id in self.files:
                return None
        try:
            fd = os.open(self.path(job_id), os.O_RDWR)
        except FileNotFoundError:
            return -1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def renew(self, job_id: str, seconds: int) -> None:
        with self.mutex:
            self.renewed[job_id] = seconds
            if self.thread is None:
                self.thread = threading.Thread(target=self._heartbeat, name="ingest-lease", daemon=True)
                self.thread.start()

    def stop_renewing(self, job_id: str) -> bool:
        with self.mutex:
            return self.renewed.pop(job_id, None) is not None

    def _heartbeat(self) -> None:
        while True:
            with self.mutex:
                held = dict(self.renewed)
                if not held:
                    self.thread = None
                    return
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(IngestionLease).where(col(IngestionLease.job_id).in_(held))
                                 .values(renewed_at=func.now()))
            except SQLAlchemyError as exc:  # the database is away: try again next beat; the lease may lapse
                log.warning("could not renew the lease of ingestion(s) %s: %s", ", ".join(held), exc)
            time.sleep(max(0.1, min(held.values()) / 4))


def _unlink_locked(path: Path, fd: int) -> None:
    """Remove a lease file whose lock `fd` holds (unless the name now names another file), then unlock it."""
    try:
        if fd >= 0 and os.stat(path).st_ino == os.fstat(fd).st_ino:
            path.unlink()
    except FileNotFoundError:
        pass
    finally:
        if fd >= 0:
            os.close(fd)


_keepers: dict[str, _Keeper] = {}
_keepers_mutex = threading.Lock()


def _keeper(engine: Engine) -> _Keeper:
    key = engine.url.render_as_string(hide_password=False)
    with _keepers_mutex:
        keeper = _keepers.get(key)
        if keeper is None:
            keeper = _keepers[key] = _Keeper(engine)
        return keeper


def take(session: Session, job: IngestionJob, lease_seconds: int) -> None:
    """Hold `job` in this process until `release`: call it before the transaction recording the job commits,
    so that no other process ever sees the job unheld."""
    keeper = _keeper(engine_of(session))
    job.held_by, job.lease_seconds = holder_name(), lease_seconds
    session.add(job)
    if keeper.sqlite:
        keeper.lock(job.id)
        return
    session.flush()
    session.execute(delete(IngestionLease).where(col(IngestionLease.job_id) == job.id))
    session.execute(insert(IngestionLease).values(job_id=job.id, held_by=job.held_by, renewed_at=func.now()))
    keeper.renew(job.id, lease_seconds)


def holds(engine: Engine, job_id: str) -> bool:
    """Whether this process holds the job's lease."""
    keeper = _keeper(engine)
    with keeper.mutex:
        return job_id in (keeper.files if keeper.sqlite else keeper.renewed)


def release(engine: Engine, job_id: str) -> None:
    """Let the job go: after its final state is committed (or when it was never recorded)."""
    keeper = _keeper(engine)
    if keeper.sqlite:
        keeper.unlock(job_id)
        return
    if keeper.stop_renewing(job_id):
        try:
            with engine.begin() as conn:
                conn.execute(delete(IngestionLease).where(col(IngestionLease.job_id) == job_id))
        except SQLAlchemyError as exc:  # harmless: a finished job's lease row is never read
            log.warning("could not remove the lease of ingestion %s: %s", job_id, exc)


def reap(engine: Engine, *, job_ids: Sequence[str] | None = None, dataset_id: str | None = None) -> list[str]:
    """Fail the unfinished jobs (all, those of `job_ids`, or of a dataset) whose process died; their data was
    never committed. Returns the ids failed here. Never waits long: a job it cannot mark now stays for the
    next look."""
    query = select(IngestionJob.id).where(col(IngestionJob.state).in_(_UNFINISHED))
    if job_ids is not None:
        query = query.where(col(IngestionJob.id).in_(job_ids))
    if dataset_id is not None:
        query = query.where(IngestionJob.dataset_id == dataset_id)
    with session_scope(engine) as session:
        candidates = list(session.exec(query).all())
        if not candidates:
            return []
        try:
            if is_sqlite(engine):
                return _reap_sqlite(session, _keeper(engine), candidates)
            return _reap_postgres(session, candidates)
        except OperationalError as exc:  # the writer lock or the row lock is busy: the next look will do
            session.rollback()
            log.info("ingestion(s) %s not checked now: %s", ", ".join(candidates), exc.orig)
            return []


def _reap_sqlite(session: Session, keeper: _Keeper, candidates: list[str]) -> list[str]:
    taken: dict[str, int] = {}  # dead job -> its lock, held here until the job is marked
    try:
        for job_id in candidates:
            fd = keeper.probe(job_id)
            if fd is not None:
                taken[job_id] = fd
        if not taken:
            return []
        conn = session.connection()
        before = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.exec_driver_sql(f"PRAGMA busy_timeout={_REAP_BUSY_MS}")
        try:
            failed = list(session.execute(
                update(IngestionJob)
                .where(col(IngestionJob.id).in_(taken), col(IngestionJob.state).in_(_UNFINISHED))
                .values(state=JobState.failed.value, error=ABANDONED, finished_at=utcnow())
                .returning(col(IngestionJob.id))).scalars())
            _drop_staged(session, failed)
            session.commit()
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(before or 0)}")
    finally:
        for job_id, fd in taken.items():
            _unlink_locked(keeper.path(job_id), fd)
    _log_failed(failed)
    return failed


_FAIL_UNRENEWED = text("""
    UPDATE ingest_job AS j SET state = :failed, error = :error, finished_at = now()
    WHERE j.id IN :ids AND j.state IN :unfinished
      AND NOT EXISTS (SELECT 1 FROM ingest_lease AS l WHERE l.job_id = j.id
                      AND l.renewed_at > now() - j.lease_seconds * interval '1 second')
    RETURNING j.id
""").bindparams(bindparam("ids", expanding=True), bindparam("unfinished", expanding=True))


def _reap_postgres(session: Session, candidates: list[str]) -> list[str]:
    session.execute(text(f"SET LOCAL lock_timeout = '{_REAP_BUSY_MS}ms'"))
    failed = list(session.execute(_FAIL_UNRENEWED, {
        "failed": JobState.failed.value, "error": ABANDONED, "ids": candidates, "unfinished": list(_UNFINISHED),
    }).scalars())
    _drop_staged(session, failed)
    session.commit()
    _log_failed(failed)
    return failed


def _drop_staged(session: Session, failed: list[str]) -> None:
    """What the failed jobs' chunks staged goes with them (ingest/chunks.py): it was never published."""
    if failed:
        session.execute(delete(StagedVariant).where(col(StagedVariant.ingestion_id).in_(failed)))
        session.execute(delete(IngestionChunk).where(col(IngestionChunk.ingestion_id).in_(failed)))


def _log_failed(failed: list[str]) -> None:
    if failed:
        log.warning("ingestion(s) %s failed: %s", ", ".join(failed), ABANDONED)


async def reap_every(engine: Engine, seconds: float) -> None:
    """The server's sweep: every `seconds`, fail the jobs whose process died (on the thread pool)."""
    while True:
        try:
            await anyio.to_thread.run_sync(lambda: reap(engine))
        except SQLAlchemyError as exc:
            log.warning("the sweep of abandoned ingestions failed: %s", exc)
        await asyncio.sleep(seconds)
