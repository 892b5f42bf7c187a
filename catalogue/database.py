"""The one engine/session module: engines for SQLite and PostgreSQL, sessions, schema status."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.pool import PoolProxiedConnection, SingletonThreadPool
from sqlmodel import Session, create_engine

from catalogue.errors import DomainError

__all__ = ["DatabaseBusy", "ScopeSession", "busy_error", "is_sqlite", "make_engine", "make_loop_reader",
           "session_scope", "vacuum"]

_log = logging.getLogger(__name__)

RETRY_AFTER_BUSY = 1  # seconds a client is told to wait when the node sheds load


class DatabaseBusy(DomainError):
    """Every database connection of this server process is in use (or the process is at its limit of
    requests): the request was refused rather than queued. Retry after `retry_after` seconds."""

    title = "Service busy"

    def __init__(self, message: str, *, retry_after: int = RETRY_AFTER_BUSY) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


SQLITE_MMAP_BYTES = 1 << 30  # at most this much of the database file is mapped (address space, not memory)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_ms: int = 30_000) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the server read while an ingest writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")  # how long a write waits for another's to end
    # Reads through a memory map rather than a read() call per page: the variant index's lookups are page
    # reads, and at a chromosome's size (700k variants) this took a Beacon query from ~210 to ~135 us.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def make_engine(url: str, *, pool_size: int | None = None, pool_timeout: float | None = None,
                lock_timeout: float | None = None, read_only: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for `url`; for SQLite, create the parent directory and set WAL mode.

    `pool_size` connections at most (no overflow), each waited for at most `pool_timeout` seconds (then
    `DatabaseBusy` from a `session_scope`); SQLAlchemy's defaults (5 + 10 overflow, 30 s) when not given.
    A write waits for another's lock at most `lock_timeout` seconds (`pool_timeout` when not given; SQLite's
    busy_timeout, 30 s when neither is; PostgreSQL's lock_timeout, none), then raises `DatabaseBusy`: with
    both short, a request's waits stay within its time budget and it is answered 503 rather than late.
    `read_only`: every connection refuses writes (PostgreSQL default_transaction_read_only, SQLite query_only),
    for a replica's engine: nothing read through it can write, whatever the database role may do.
    """
    lock_wait = lock_timeout if lock_timeout is not None else pool_timeout
    pooled: dict[str, Any] = {}
    memory = is_sqlite(url) and make_url(url).database in (None, "", ":memory:")
    if pool_size is not None and not memory:  # an in-memory SQLite database is one connection per thread
        pooled = {"pool_size": pool_size, "max_overflow": 0}
    if pool_timeout is not None and not memory:
        pooled["pool_timeout"] = pool_timeout
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pooled, **kwargs)
        busy_ms = int((lock_wait or 30.0) * 1000)
        event.listen(engine, "connect", lambda conn, record: _sqlite_pragmas(conn, record, busy_ms))
        event.listen(engine, "handle_error", _locked_is_busy)
        if read_only:
            event.listen(engine, "connect", _read_only)
        return engine
    options = []
    if lock_wait is not None:  # a row lock (e.g. a privacy budget's) is waited for at most this long
        options.append(f"-c lock_timeout={int(lock_wait * 1000)}")
    if read_only:
        options.append("-c default_transaction_read_only=on")
    if options:
        kwargs.setdefault("connect_args", {})["options"] = " ".join(options)
    engine = create_engine(url, pool_pre_ping=True, **pooled, **kwargs)
    event.listen(engine, "handle_error", _locked_is_busy)
    return engine


# PostgreSQL's SQLSTATEs of a write that lost to another's: lock_timeout ran out, a deadlock, a serialisation
_LOST_TO_ANOTHER = {"55P03": "is locked by another request", "40P01": "was part of a deadlock",
                    "40001": "clashed with another request's"}


def _locked_is_busy(context: ExceptionContext) -> Exception | None:
    return busy_error(context.original_exception)


def busy_error(original: BaseException) -> DatabaseBusy | None:
    """A statement that lost to another's becomes DatabaseBusy (503, retry): SQLite's "database is locked"
    (busy_timeout ran out), PostgreSQL's lock_not_available (lock_timeout), deadlock and serialisation failures.
    None for any other error. (SQLAlchemy's errors are translated by an event; a raw DB-API cursor's with this.)"""
    if isinstance(original, sqlite3.OperationalError) and "database is locked" in str(original):
        return DatabaseBusy("the database is busy with another write (e.g. an ingestion); retry shortly")
    lost = _LOST_TO_ANOTHER.get(str(getattr(original, "sqlstate", "")))
    if lost:
        return DatabaseBusy(f"the data this request changes {lost}; retry shortly")
    return None


def vacuum(engine: Engine, table: str) -> None:
    """PostgreSQL: VACUUM `table` now (outside any transaction), so that the space of its deleted rows is reused
    and its pages are marked all-visible, rather than when autovacuum comes by (if it is on). Best effort, never
    raising: a table gone, locked by another (SKIP_LOCKED: no wait) or no connection free within the pool's
    timeout is left as it is. SQLite: nothing (it reuses freed pages itself; its VACUUM rewrites the database)."""
    if is_sqlite(engine):
        return
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'VACUUM (SKIP_LOCKED) "{table}"'))
    except sa_exc.SQLAlchemyError as exc:
        _log.info("%s was not vacuumed now: %s", table, exc)


def make_loop_reader(url: str) -> Engine | None:
    """For a file SQLite database: an engine of one connection per thread that is never waited for, for the
    reads the event loop's thread makes itself (the Beacon's anonymous count queries); None otherwise.

    Such a read takes microseconds from the memory-mapped file, and in WAL mode never waits for a writer;
    the connection is the loop thread's own, so the request pool's being exhausted never stalls the loop.
    """
    if not is_sqlite(url) or make_url(url).database in (None, "", ":memory:"):
        return None
    engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=SingletonThreadPool)
    # A WAL reader hardly ever meets a lock (a checkpoint's brief one); if it does, it waits 50 ms at most.
    event.listen(engine, "connect", lambda conn, record: _sqlite_pragmas(conn, record, busy_ms=50))
    event.listen(engine, "connect", _read_only)
    return engine


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")  # the loop's reader never writes (a write could wait for the lock)
    cursor.close()


class ScopeSession(Session):
    """The session of a `session_scope`: one pooled connection, taken when first needed and held to the end.

    Plain reads (`catalogue.services.lookup`) go straight to its DB-API connection (`dbapi`). The ORM works
    on a SQLAlchemy Connection over that same DB-API connection, made on the ORM's first use (`get_bind`):
    a read-only request (a Beacon query) never pays for the Connection, its transaction bookkeeping or the
    Session's, which cost more than the index lookup itself. Plain reads and the ORM share the transaction:
    a plain read sees the session's own flushes.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(expire_on_commit=False)
        self._engine = engine
        self._dbapi: PoolProxiedConnection | None = None
        self._orm: Connection | None = None
        self._ended = False

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    @property
    def dbapi(self) -> PoolProxiedConnection:
        """The scope's pooled DB-API connection (checked out on first use)."""
        if self._dbapi is None:
            if self._ended:  # a connection taken now would never go back to the pool
                raise RuntimeError("this session's scope has ended: use a new session_scope")
            try:
                self._dbapi = self._engine.raw_connection()
            except sa_exc.TimeoutError:
                raise DatabaseBusy("every database connection of this server is in use; retry shortly") from None
        return self._dbapi

    def get_bind(self, *args: Any, **kwargs: Any) -> Connection:  # noqa: ARG002 - one bind, whatever is asked
        if self._orm is None:
            self._orm = Connection(self._engine, connection=self.dbapi)
        return self._orm

    def release(self) -> None:
        """Close the session (rolling back what it did not commit) and return the connection to the pool."""
        try:
            # A session the ORM never used holds nothing to roll back or detach; closing it costs a Beacon
            # query ~7 us (emptying an empty identity map).
            if self._transaction is not None or self.identity_map or self._new or self._deleted:
                self.close()
            elif self._orm is None and self._dbapi is not None:
                _end_plain_reads(self._engine.dialect, self._dbapi)
        finally:
            self._ended = True
            held, self._orm, self._dbapi = self._orm or self._dbapi, None, None
            if held is not None:
                held.close()  # the Connection returns its DB-API connection; the pool resets it


def _end_plain_reads(dialect: Dialect, dbapi: PoolProxiedConnection) -> None:
    """End a PostgreSQL transaction that only plain reads used by COMMIT rather than the pool's ROLLBACK.

    Both end a read-only transaction alike, but psycopg forgets every statement it prepared when it rolls
    back, so a Beacon read path ending in the pool's rollback never reuses a plan: each query is planned
    anew, which costs more than running it once the variant index has a partition per dataset.
    """
    if dialect.name != "postgresql":
        return
    driver = dbapi.driver_connection
    if driver is not None and driver.info.transaction_status == driver.info.transaction_status.INTRANS:
        dbapi.commit()


@contextmanager
def session_scope(engine: Engine) -> Iterator[ScopeSession]:
    """A unit of work: the caller commits; anything not committed is rolled back when the scope ends.

    Objects stay readable after the scope ends (no expiry on commit), so callers can print what they made.
    The scope holds one pooled connection, taken on first use (see `ScopeSession`).
    """
    session = ScopeSession(engine)
    try:
        yield session
    finally:
        session.release()
