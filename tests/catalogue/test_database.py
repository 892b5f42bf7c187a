"""The SQLite engine's connection settings: WAL, foreign keys, a busy timeout and memory-mapped reads."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from catalogue.database import SQLITE_MMAP_BYTES, make_engine


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
