"""The one engine/session module: engines for SQLite and PostgreSQL, sessions, schema status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

__all__ = ["is_sqlite", "make_engine", "session_scope"]


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


SQLITE_MMAP_BYTES = 1 << 30  # at most this much of the database file is mapped (address space, not memory)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the server read while an ingest writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Reads through a memory map rather than a read() call per page: the variant index's lookups are page
    # reads, and at a chromosome's size (700k variants) this took a Beacon query from ~210 to ~135 us.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url`; for SQLite, create the parent directory and set WAL mode."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: the caller commits; anything not committed is rolled back when the session closes.

    Objects stay readable after the scope ends (no expiry on commit), so callers can print what they made.
    The session works on one pooled connection held for the scope; plain reads (`catalogue.services.lookup`)
    run on it without starting the ORM's transaction bookkeeping, which costs several times a Beacon
    lookup. The session still owns the connection's transactions: it begins, commits and rolls them back.
    """
    with engine.connect() as connection, Session(connection, expire_on_commit=False) as session:
        yield session
