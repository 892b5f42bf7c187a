"""The engines and sessions: SQLite's connection settings (WAL, foreign keys, a busy timeout, memory-mapped
reads), and a session_scope's transactions, which its plain reads share (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import DatabaseError
from sqlalchemy import Engine, text

from catalogue.database import SQLITE_MMAP_BYTES, make_engine, session_scope
from catalogue.models import Organisation
from catalogue.services.lookup import _run
from genomegate.schema import upgrade
from tests.conftest import PostgresDatabases


def test_every_sqlite_connection_gets_the_catalogue_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'catalogue.db'}", pool_size=2)
    try:
        with engine.connect() as first, engine.connect() as second:  # two pool connections, each configured
            for conn in (first, second):
                pragmas = {name: conn.execute(text(f"PRAGMA {name}")).scalar()
                           for name in ("journal_mode", "foreign_keys", "busy_timeout", "mmap_size")}
                assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000,
                                   "mmap_size": SQLITE_MMAP_BYTES}
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "catalogue.db").exists()


def _names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT name FROM catalogue_organisation ORDER BY name")).scalars())


def test_a_scope_commits_what_it_commits_and_rolls_back_the_rest(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert _run(session, "SELECT COUNT(*) FROM catalogue_organisation", {}) == [(0,)]  # a plain read first
        session.add(Organisation(id="ORG00000001", name="Kept"))
        session.commit()
        session.add(Organisation(id="ORG00000002", name="Dropped"))
        session.flush()
        # A plain read sees the session's own uncommitted row: it runs in the session's transaction.
        assert _run(session, "SELECT name FROM catalogue_organisation ORDER BY name", {}) == [("Dropped",), ("Kept",)]
    assert _names(engine) == ["Kept"]


def test_a_failing_scope_loses_its_uncommitted_work(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="boom"), session_scope(engine) as session:
        session.add(Organisation(id="ORG00000003", name="Lost"))
        session.flush()
        raise RuntimeError("boom")
    assert _names(engine) == []
    with session_scope(engine) as session:  # and the pooled connection it used is clean for the next scope
        assert _run(session, "SELECT COUNT(*) FROM catalogue_organisation", {}) == [(0,)]


def test_a_scope_takes_its_pooled_connection_on_first_use_and_always_returns_it(engine: Engine) -> None:
    engine.dispose()  # a fresh pool: nothing checked out, nothing kept
    with session_scope(engine):
        assert engine.pool.checkedout() == 0  # a request that never reads takes no connection
    with session_scope(engine) as session:
        _run(session, "SELECT COUNT(*) FROM catalogue_organisation", {})
        session.add(Organisation(id="ORG00000004", name="Read then written"))
        session.flush()
        # Plain reads and the ORM share the one connection (and so its transaction).
        assert engine.pool.checkedout() == 1
        assert _run(session, "SELECT name FROM catalogue_organisation", {}) == [("Read then written",)]
    assert engine.pool.checkedout() == 0
    with pytest.raises(RuntimeError, match="boom"), session_scope(engine) as session:
        _run(session, "SELECT 1", {})
        raise RuntimeError("boom")
    assert engine.pool.checkedout() == 0
    assert _names(engine) == []


def test_objects_added_but_never_flushed_are_let_go_when_the_scope_ends(engine: Engine) -> None:
    organisation = Organisation(id="ORG00000005", name="Added late")
    with session_scope(engine) as first:
        first.add(organisation)  # neither flushed nor committed: dropped with the scope
    assert _names(engine) == []
    with session_scope(engine) as second:  # and free to join another session (the first one still exists)
        second.add(organisation)
        second.commit()
    assert organisation not in first
    assert _names(engine) == ["Added late"]


def test_a_session_cannot_reach_the_database_once_its_scope_has_ended(engine: Engine) -> None:
    with session_scope(engine) as session:
        _run(session, "SELECT 1", {})
    with pytest.raises(RuntimeError, match="scope has ended"):
        _run(session, "SELECT 1", {})
    with pytest.raises(RuntimeError, match="scope has ended"):
        session.get(Organisation, "ORG00000001")
    assert engine.pool.checkedout() == 0


def test_plain_reads_on_postgresql_keep_their_prepared_plans_across_scopes(postgres: PostgresDatabases) -> None:
    """psycopg forgets its prepared statements when a transaction rolls back: a scope of plain reads ends by
    COMMIT instead, so a query asked often (the Beacon's) is planned once per connection, not per request."""
    engine = make_engine(postgres.create(), pool_size=1)
    upgrade(engine)
    query = "SELECT COUNT(*) FROM pg_class WHERE relname = :name"
    try:
        for _ in range(8):  # psycopg prepares a query on its fifth execution
            with session_scope(engine) as session:
                assert _run(session, query, {"name": "pg_class"}) == [(1,)]
        with session_scope(engine) as session:
            prepared = _run(session, "SELECT statement FROM pg_prepared_statements", {})
        assert [row[0] for row in prepared] == ["SELECT COUNT(*) FROM pg_class WHERE relname = $1"]
        with pytest.raises(DatabaseError), session_scope(engine) as session:  # a failed read: rolled back
            _run(session, "SELECT 1 / 0", {})
        with session_scope(engine) as session:  # and the connection is whole again
            assert _run(session, query, {"name": "pg_class"}) == [(1,)]
        with session_scope(engine) as session:  # a scope that wrote through the ORM still loses what it did not commit
            session.add(Organisation(id="ORG00000009", name="Never committed"))
            session.flush()
            _run(session, query, {"name": "pg_class"})
        assert _names(engine) == []
    finally:
        engine.dispose()
