"""Replacing and retiring a dataset's variants: atomic, the other datasets untouched, readers never see a half.

On PostgreSQL each dataset is a partition of its own (swapped in, detached and dropped), and the Beacon's
queries touch only the partitions of the datasets they ask about; SQLite keeps one plain table.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from catalogue.database import make_engine, session_scope
from catalogue.errors import Conflict
from catalogue.services import index
from catalogue.services.lookup import PublishedDataset, VariantSearch, find_variants, tally_variants
from tests.factories import make_dataset, make_organisation


def _rows(start: int, n: int, ac: int = 1) -> list[tuple[Any, ...]]:
    """variant_values() rows: SNVs at start, start+10, ... on chromosome 1."""
    return [("1", start + 10 * i, "A", "G", start + 10 * i, "SNP", 1, ac, 100, ac, 0, 0, None, None)
            for i in range(n)]


def _dataset_with_file(session: Session, org_id: str, name: str = "a.vcf.gz") -> tuple[str, str]:
    dataset = make_dataset(session, organisation_id=org_id, publish=True, title=f"Cohort {name}")
    file = index.register_file(session, dataset_id=dataset.id, name=name, uri=f"/store/{name}", fmt="VCF",
                               size=1, md5="0" * 32, sha256="0" * 64, index_uri=None)
    session.commit()
    return dataset.id, file.id


def _file(session: Session, dataset_id: str, name: str) -> str:
    file = index.register_file(session, dataset_id=dataset_id, name=name, uri=f"/store/{name}", fmt="VCF",
                               size=1, md5="0" * 32, sha256="1" * 64, index_uri=None)
    session.commit()
    return file.id


def _count(engine: Engine, dataset_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM catalogue_variant WHERE dataset_id = :d"),
                                {"d": dataset_id}).scalar_one())


def _partitions(engine: Engine) -> dict[str, int]:
    """Each partition of the index (PostgreSQL) and how many rows it holds."""
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'catalogue_variant'::regclass"))]
        return {n: int(conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()) for n in names}


@pytest.fixture
def two(engine: Engine) -> Iterator[tuple[str, str, str, str]]:
    """Two datasets of one file each, 50 and 30 variants, loaded through the index's load."""
    with Session(engine, expire_on_commit=False) as session:
        org = make_organisation(session)
        a, fa = _dataset_with_file(session, org.id)
        b, fb = _dataset_with_file(session, org.id, "b.vcf.gz")
        index.replace_dataset_variants(session, a, [(fa, [_rows(1000, 50)])])
        index.replace_dataset_variants(session, b, [(fb, [_rows(1000, 30)])])
        session.commit()
    yield a, fa, b, fb


def test_replacing_a_dataset_changes_it_alone_and_readers_see_old_or_new_never_half(
        engine: Engine, two: tuple[str, str, str, str]) -> None:
    a, fa, b, _ = two
    reader = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with Session(engine) as writer:
            load = index.begin_variant_load(writer, a, dropping_files=[fa])
            index.write_values(writer, a, fa, [_rows(5000, 20), _rows(9000, 5)], into=load)
            # Written, not yet swapped in: another connection still sees the old variants, all of them.
            # (From the swap to the commit, PostgreSQL's readers wait: they never see a half either.)
            assert _count(reader, a) == 50
            index.finish_variant_load(writer, load)
            writer.commit()
        assert _count(reader, a) == 25
        assert _count(reader, b) == 30
        with Session(engine) as writer:  # a replacement rolled back leaves the dataset as it was
            index.replace_dataset_variants(writer, a, [(fa, [_rows(1, 3)])], dropping_files=[fa])
            writer.rollback()
        assert _count(reader, a) == 25
    finally:
        reader.dispose()
    if engine.dialect.name == "postgresql":
        held = _partitions(engine)
        assert sorted(held.values()) == [0, 25, 30]  # the default, then one partition per dataset
        assert held["catalogue_variant_default"] == 0
    else:
        with engine.connect() as conn:  # SQLite: one plain table
            tables = [r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'catalogue_variant%'"))]
        assert sorted(tables) == ["catalogue_variant", "catalogue_variant_annotation"]  # no partitions


def test_a_load_keeps_the_other_files_of_the_dataset(engine: Engine, two: tuple[str, str, str, str]) -> None:
    a, fa, _, _ = two
    with Session(engine) as session:
        fc = _file(session, a, "c.vcf.gz")
        load = index.begin_variant_load(session, a)  # adding a file: nothing dropped
        index.write_values(session, a, fc, [_rows(100_000, 7)], into=load)
        stats = index.refresh_statistics(session, a, load=load)
        index.finish_variant_load(session, load)
        session.commit()
    assert stats["variants"] == 57
    assert _count(engine, a) == 57
    with Session(engine) as session:  # then dropping the first file only
        index.replace_dataset_variants(session, a, [], dropping_files=[fa])
        session.commit()
    with engine.connect() as conn:
        files = set(conn.execute(text("SELECT DISTINCT file_id FROM catalogue_variant WHERE dataset_id = :d"),
                                 {"d": a}).scalars())
    assert files == {fc}


def test_a_load_holding_an_allele_twice_is_refused_and_changes_nothing(
        engine: Engine, two: tuple[str, str, str, str]) -> None:
    a, fa, _, _ = two
    with Session(engine) as session:
        fc = _file(session, a, "c.vcf.gz")
        with pytest.raises(Conflict, match="holds some of these variants already|would hold some variants twice"):
            index.replace_dataset_variants(session, a, [(fc, [_rows(1000, 3)])])  # fa holds these already
        session.rollback()
    assert _count(engine, a) == 50


def test_retiring_a_dataset_removes_its_variants_alone(engine: Engine, two: tuple[str, str, str, str]) -> None:
    a, _, b, _ = two
    with Session(engine) as session:
        index.retire_dataset_variants(session, a)
        session.commit()
    assert _count(engine, a) == 0
    assert _count(engine, b) == 30
    if engine.dialect.name == "postgresql":
        assert sorted(_partitions(engine).values()) == [0, 30]  # a's partition is gone


def test_rows_written_straight_to_the_index_are_kept_and_moved_by_a_load(
        engine: Engine, two: tuple[str, str, str, str]) -> None:
    """A dataset written without a load (its rows in the DEFAULT partition on PostgreSQL) is read like any
    other, and its first load moves it into a partition of its own."""
    a, fa, _, _ = two
    with Session(engine) as session:
        org = make_organisation(session, suffix="B")
        c, fc = _dataset_with_file(session, org.id, "c.vcf.gz")
        index.write_values(session, c, fc, [_rows(1000, 4)])
        session.commit()
    with session_scope(engine) as session:
        found = tally_variants(session, [_published(c)], VariantSearch(chrom="1", pos_min=1000, pos_max=1030))
    assert found[c].variants == 4
    with Session(engine) as session:
        index.replace_dataset_variants(session, c, [(fc, [_rows(1000, 6)])], dropping_files=[fc])
        session.commit()
    assert _count(engine, c) == 6
    if engine.dialect.name == "postgresql":
        assert sorted(_partitions(engine).values()) == [0, 6, 30, 50]


def _published(dataset_id: str) -> PublishedDataset:
    return PublishedDataset(dataset_id, "GRCh38", "PUBLIC", "record", 0, {})


def _locked_partitions(session: Session) -> set[str]:
    """The partitions of the index this transaction has locked (a query locks those its plan reads)."""
    rows = session.connection().execute(text(
        "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "JOIN pg_inherits i ON i.inhrelid = c.oid "
        "WHERE l.pid = pg_backend_pid() AND i.inhparent = 'catalogue_variant'::regclass"))
    return {r[0] for r in rows}


def test_the_beacon_queries_read_only_the_partitions_of_the_datasets_asked(
        engine: Engine, two: tuple[str, str, str, str]) -> None:
    """Partition pruning applies to the lookups the Beacon runs (counts, records; exact, range, overlap), on
    the first run and on every run after (psycopg prepares a statement run often; PostgreSQL may then plan it
    once for all values)."""
    a, _, b, _ = two
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one table: there is nothing to prune")
    own = {p for p in _partitions(engine) if p != "catalogue_variant_default"}
    searches = [VariantSearch(chrom="1", pos_min=1010, pos_max=1010, ref="A", alt="G"),
                VariantSearch(chrom="1", pos_min=1000, pos_max=101_000),
                VariantSearch(chrom="1", overlap=(900, 2000))]
    with Session(engine) as session:
        partition_of = {d: next(p for p in own if _count_in(session, p, d)) for d in (a, b)}
        session.rollback()
    for _ in range(12):
        for search in searches:
            for datasets in ([a], [b], [a, b]):
                with session_scope(engine) as session:
                    tallies = tally_variants(session, [_published(d) for d in datasets], search)
                    hits = find_variants(session, [_published(d) for d in datasets], search, limit=5)
                    assert set(tallies) == set(datasets) and {h.dataset_id for h in hits} <= set(datasets)
                    assert _locked_partitions(session) == {partition_of[d] for d in datasets}, (search, datasets)


def test_counts_are_answered_from_the_locus_index_alone_once_a_load_commits(engine: Engine) -> None:
    """PostgreSQL: the Beacon's exact, range and overlap counts read no row of the table (index-only scans, no
    heap fetch), from the first query after the load committed: the locus index carries what a count reads and
    the new partition is vacuumed at the commit. The counts are those of the rows loaded."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one table with its own indexes")
    rows = [("1", 1000 * (i + 1), "A", "G", 1000 * (i + 1), "SNP", 1, 1 + i % 7, 100, 1 + i % 7, 0, 0, None, None)
            for i in range(20_000)]
    with Session(engine, expire_on_commit=False) as session:
        dataset_id, file_id = _dataset_with_file(session, make_organisation(session).id)
        index.replace_dataset_variants(session, dataset_id, [(file_id, [rows])])
        session.commit()
    (partition,) = (p for p in _partitions(engine) if p != "catalogue_variant_default")
    wanted = [(VariantSearch(chrom="1", pos_min=5000, pos_max=5000, ref="A", alt="G"), [rows[4]]),
              (VariantSearch(chrom="1", pos_min=100_000, pos_max=200_000), rows[99:200]),
              (VariantSearch(chrom="1", overlap=(300_500, 400_500)), rows[300:400])]
    for search, matching in wanted:
        with session_scope(engine) as session:
            published = PublishedDataset(dataset_id, "GRCh38", "PUBLIC", "record", 0,
                                         {"max_span_per_chromosome": {"1": 0}})  # as ingest keeps them
            before = _reads(session, partition)
            tally = tally_variants(session, [published], search)[dataset_id]
            after = _reads(session, partition)
        seq_scans, index_scans, heap_fetches = (b - a for a, b in zip(before, after, strict=True))
        assert (tally.variants, tally.allele_count) == (len(matching), sum(r[7] for r in matching)), search
        assert (seq_scans, index_scans, heap_fetches) == (0, 1, 0), search


def test_a_load_commits_whole_when_no_connection_is_free_to_vacuum_its_partition(engine: Engine) -> None:
    """The vacuum after a load's commit is best effort: with the pool's one connection held by the loading session,
    the commit succeeds (no error once the pool's timeout has passed), and the load is whole."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one table: nothing is vacuumed")
    with Session(engine, expire_on_commit=False) as session:
        dataset_id, file_id = _dataset_with_file(session, make_organisation(session).id)
    one = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1, pool_timeout=0.2)
    try:
        with Session(one) as session:
            index.replace_dataset_variants(session, dataset_id, [(file_id, [_rows(1000, 40)])])
            session.commit()
    finally:
        one.dispose()
    assert _count(engine, dataset_id) == 40


def _reads(session: Session, table: str) -> tuple[int, int, int]:
    """This connection's sequential scans, index scans and rows fetched by index scans of `table` so far."""
    row = session.connection().execute(text(
        "SELECT seq_scan, idx_scan, idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = :t"),
        {"t": table}).one()
    return int(row[0]), int(row[1]), int(row[2])


def _count_in(session: Session, partition: str, dataset_id: str) -> int:
    return int(session.connection().execute(text(f'SELECT COUNT(*) FROM "{partition}" WHERE dataset_id = :d'),
                                            {"d": dataset_id}).scalar_one())


def test_the_files_a_load_names_must_be_of_its_dataset(engine: Engine, two: tuple[str, str, str, str]) -> None:
    a, _, b, fb = two
    with Session(engine) as session:
        load = index.begin_variant_load(session, a)
        with pytest.raises(ValueError, match=f"a load of {a} cannot take variants of {b}"):
            index.write_values(session, b, fb, [_rows(1, 1)], into=load)
        session.rollback()


def test_two_loads_of_one_dataset_run_one_after_the_other_and_lose_nothing(
        engine: Engine, two: tuple[str, str, str, str]) -> None:
    """The second load waits for the first to commit, then starts from what it left: both files are kept."""
    a, _, _, _ = two
    with Session(engine) as session:
        fx, fy = _file(session, a, "x.vcf.gz"), _file(session, a, "y.vcf.gz")
    first_loaded, second_started = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def second() -> None:
        try:
            first_loaded.wait(30)
            with Session(engine) as session:
                second_started.set()
                index.replace_dataset_variants(session, a, [(fy, [_rows(300_000, 5)])])
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    waiting = threading.Thread(target=second)
    waiting.start()
    with Session(engine) as session:
        load = index.begin_variant_load(session, a)
        index.write_values(session, a, fx, [_rows(200_000, 4)], into=load)
        first_loaded.set()
        second_started.wait(30)
        time.sleep(0.5)  # the second load is waiting now (for the dataset's lock, or SQLite's writer lock)
        index.finish_variant_load(session, load)
        session.commit()
    waiting.join(60)
    assert not failures, failures
    assert _count(engine, a) == 50 + 4 + 5
