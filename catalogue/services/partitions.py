"""The variant index's partitions on PostgreSQL: one per dataset, built aside and swapped in at once.

`catalogue_variant` is LIST-partitioned by dataset (migration 0011). A dataset's new variants are written
to a table of their own while readers keep reading the old ones; then, in the writer's transaction, the
old partition is detached and dropped and the new table attached (its CHECK constraint lets ATTACH skip
the scan). The cost of a replacement is that of the dataset's own rows, whatever else the index holds.
A DEFAULT partition takes rows written to the parent for a dataset without a partition of its own (small,
direct writes); a swap moves the dataset out of it. SQLite keeps one plain table and never comes here.

The Beacon's counts are answered from the locus index alone: (chrom, pos) carries the other columns a count
reads (`catalogue.models.LOCUS_INCLUDE`), so an exact or range count is an index-only scan that reads no row of
the table, once the partition's pages are marked all-visible: the load vacuums the new partition right after its
commit (`index.finish_variant_load`); until that has run (or autovacuum) a count also reads the rows it finds.
"""

from __future__ import annotations

import re
import time
import uuid

from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from catalogue.database import DatabaseBusy
from catalogue.models import LOCUS_INCLUDE

__all__ = [
    "DEFAULT_PARTITION", "PARENT", "DuplicateVariant", "dataset_partitions", "drop_dataset_partition",
    "lock_dataset", "new_load_table", "swap_in",
]

PARENT = "catalogue_variant"
DEFAULT_PARTITION = "catalogue_variant_default"
_KEY = ("dataset_id", "chrom", "pos", "ref", "alt")
# How a swap waits for the parent's lock: in short tries, so that queries arriving meanwhile queue behind
# a waiting swap for one try at most, never for as long as a slow reader holds the table.
_LOCK_TRY_MS = 200
_DDL_LOCK_SECONDS = 5  # how long the swap's detach and drop may wait for a lock (see _detach_and_drop)
_LOCK_TRIES = 150


def _name(dataset_id: str) -> str:
    """A new table's name: the dataset (for people reading the catalog) and a unique tail."""
    slug = re.sub(r"[^a-z0-9]", "_", dataset_id.lower())[:24]
    return f"{PARENT}_{slug}_{uuid.uuid4().hex[:8]}"


def lock_dataset(session: Session, dataset_id: str) -> None:
    """Hold the dataset's variant-writing lock to the end of the transaction: two loads of one dataset run one
    after the other (the second would otherwise drop rows the first added)."""
    before = session.execute(text("SHOW lock_timeout")).scalar_one()
    session.execute(text("SET LOCAL lock_timeout = 0"))  # waits for the other load, however long it takes
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('catalogue_variant:' || :d))"), {"d": dataset_id})
    session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": before})


def dataset_partitions(session: Session, dataset_id: str) -> list[str]:
    """The partition holding the dataset's variants (none or one), by its bound rather than its name."""
    rows = session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:parent AS regclass) "
        "AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%L)', CAST(:d AS text))"),
        {"parent": PARENT, "d": dataset_id}).all()
    return [r[0] for r in rows]


def new_load_table(session: Session, dataset_id: str, *, keep_except_files: tuple[str, ...] | None) -> str:
    """Create a table shaped like the index (no indexes yet: they are built once the rows are in) for the
    dataset's new variants, and return its name. `keep_except_files`: copy the dataset's current variants
    but those of these files (None: start empty)."""
    table = _name(dataset_id)
    session.execute(text(f'CREATE TABLE "{table}" (LIKE {PARENT} INCLUDING DEFAULTS)'))
    if keep_except_files is not None:
        # Every file but the dropped ones (an impossible file id stands for "none dropped").
        statement = text(f'INSERT INTO "{table}" SELECT * FROM {PARENT} WHERE dataset_id = :d '
                         "AND file_id NOT IN :files").bindparams(bindparam("files", expanding=True))
        session.execute(statement, {"d": dataset_id, "files": list(keep_except_files) or [""]})
    return table


class DuplicateVariant(Exception):
    """The new rows hold one (chrom, pos, ref, alt) twice."""


def swap_in(session: Session, dataset_id: str, table: str) -> None:
    """Index `table` and make it the dataset's partition, dropping the old one, in the caller's transaction.

    The indexes and constraints are built before the parent is locked, so readers wait only for the
    detach/attach itself (milliseconds). Raises DuplicateVariant when the rows break the primary key.
    """
    quoted = f'"{table}"'
    try:
        with session.begin_nested():
            session.execute(text(f"ALTER TABLE {quoted} ADD CONSTRAINT \"{table}_pkey\" PRIMARY KEY "
                                 f"({', '.join(_KEY)})"))
    except IntegrityError:
        raise DuplicateVariant(dataset_id) from None
    include = ", ".join(f'"{c}"' for c in LOCUS_INCLUDE)  # as the parent's index: ATTACH then takes it as its own
    session.execute(text(f'CREATE INDEX "{table}_locus" ON {quoted} (chrom, pos) INCLUDE ({include})'))
    session.execute(text(f'CREATE INDEX "{table}_file_id" ON {quoted} (file_id)'))
    # Implies the partition's bound, so ATTACH takes it as proof instead of scanning the rows.
    session.execute(text(f'ALTER TABLE {quoted} ADD CONSTRAINT "{table}_bound" '
                         f"CHECK (dataset_id = {_literal(dataset_id)})"))
    session.execute(text(f"ANALYZE {quoted}"))  # the planner's figures for it, before anyone queries it
    _lock_parent(session)
    _detach_and_drop(session, dataset_id)
    session.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {quoted} FOR VALUES IN ({_literal(dataset_id)})"))
    session.execute(text(f'ALTER TABLE {quoted} DROP CONSTRAINT "{table}_bound"'))


def drop_dataset_partition(session: Session, dataset_id: str) -> None:
    """Remove the dataset's variants at once: detach and drop its partition (and any rows in the default)."""
    _lock_parent(session)
    _detach_and_drop(session, dataset_id)


def _detach_and_drop(session: Session, dataset_id: str) -> None:
    """With the parent locked (no reader can hold the old partition), detach and drop it. Autovacuum may be
    working on it (it yields to a lock waited for longer than deadlock_timeout, 1 s): the transaction's short
    lock_timeout would fail the swap for that, so these statements may wait up to _DDL_LOCK_SECONDS. (The
    partitions carry no foreign keys, whose upkeep would lock the dataset and file tables here: migration 0011.)"""
    before = session.execute(text("SHOW lock_timeout")).scalar_one()
    session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": f"{_DDL_LOCK_SECONDS}s"})
    session.execute(text(f"DELETE FROM {DEFAULT_PARTITION} WHERE dataset_id = :d"), {"d": dataset_id})
    for old in dataset_partitions(session, dataset_id):
        session.execute(text(f'ALTER TABLE {PARENT} DETACH PARTITION "{old}"'))
        session.execute(text(f'DROP TABLE "{old}"'))
    session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": before})


def _literal(value: str) -> str:
    """A string as an SQL literal (DDL takes no parameters); dataset ids are accessions, quoted all the same."""
    return "'" + value.replace("'", "''") + "'"


def _lock_parent(session: Session) -> None:
    """Take the parent's ACCESS EXCLUSIVE lock (which DETACH needs) in short tries, then restore the
    transaction's lock_timeout. DatabaseBusy when readers held it through every try (minutes)."""
    before = session.execute(text("SHOW lock_timeout")).scalar_one()
    for _ in range(_LOCK_TRIES):
        try:
            with session.begin_nested():
                session.execute(text(f"SET LOCAL lock_timeout = '{_LOCK_TRY_MS}ms'"))
                session.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
        except DatabaseBusy:
            time.sleep(_LOCK_TRY_MS / 1000)
            continue
        session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": before})
        return
    raise DatabaseBusy("the variant index was busy with queries throughout; retry the ingestion")
