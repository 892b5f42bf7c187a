"""Migrations: from empty to head, and step by step from every earlier revision with data kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel

from catalogue.database import make_engine
from catalogue.services import index
from genomegate.schema import alembic_config, import_all_models, schema_status, upgrade


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_upgrade_from_empty_creates_every_table_of_the_models(
        backend: str, new_database_url: Callable[[str], str]) -> None:
    engine = make_engine(new_database_url(backend))
    assert not schema_status(engine).is_current
    upgrade(engine)
    assert schema_status(engine).is_current
    import_all_models()
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    upgrade(engine)  # a second run changes nothing
    assert schema_status(engine).is_current
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_each_revision_upgrades_a_database_of_the_previous_one_keeping_its_data(
        backend: str, new_database_url: Callable[[str], str]) -> None:
    engine = make_engine(new_database_url(backend))
    revisions = _revisions()
    upgrade(engine, revisions[0])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO catalogue_organisation (id, name, created_at) "
                          "VALUES ('GGO000001', 'Old lab', CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO catalogue_dataset (id, title, description, assembly, security, licence, dua_text, "
            "dua_version, keywords, organisation_id, duo, disease_terms, status, version, statistics, created_at, "
            "updated_at) VALUES ('GGD000001', 'Old cohort', '', 'GRCh38', 'PUBLIC', '', '', '1', '[]', 'GGO000001', "
            "'[]', '[]', 'published', 1, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    for revision in revisions[1:]:
        upgrade(engine, revision)
        assert schema_status(engine).current == revision
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM catalogue_organisation")).scalar_one() == "Old lab"
        assert conn.execute(text("SELECT title FROM catalogue_dataset")).scalar_one() == "Old cohort"
    assert schema_status(engine).is_current
    engine.dispose()


def test_the_models_and_the_migrations_agree() -> None:
    """Autogenerate against a migrated database finds nothing to do: no schema change without a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine("sqlite://")
    upgrade(engine)
    import_all_models()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_variant_index_of_the_previous_release_is_kept_whole_by_the_partitioning(
        backend: str, new_database_url: Callable[[str], str]) -> None:
    """0011 partitions the index by dataset on PostgreSQL (SQLite keeps its table): every row is kept, each
    dataset lands in a partition of its own, and the index takes new rows and replacements afterwards."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    before = script.get_revision("0011").down_revision
    assert isinstance(before, str)
    engine = make_engine(new_database_url(backend))
    upgrade(engine, before)
    sizes = {"GGD000001": 7, "GGD000002": 3}
    rows = [(d, "1", p, "A", "G") for d, n in sizes.items() for p in range(100, 100 + n)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO catalogue_organisation (id, name, created_at) "
                          "VALUES ('GGO000001', 'Old lab', CURRENT_TIMESTAMP)"))
        for dataset_id in ("GGD000001", "GGD000002"):
            conn.execute(text(
                "INSERT INTO catalogue_dataset (id, title, description, assembly, security, licence, dua_text, "
                "dua_version, keywords, organisation_id, duo, disease_terms, status, version, statistics, "
                "created_at, updated_at, beacon_granularity, count_threshold, privacy_p) VALUES (:d, :d, '', "
                "'GRCh38', 'PUBLIC', '', '', '1', '[]', 'GGO000001', '[]', '[]', 'published', 1, '{}', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'record', 0, 0)"), {"d": dataset_id})
            conn.execute(text(
                "INSERT INTO catalogue_dataset_file (id, dataset_id, name, uri, format, size, md5, sha256, "
                "created_at) VALUES (:f, :d, 'a.vcf.gz', '/x', 'VCF', 1, '', '', CURRENT_TIMESTAMP)"),
                {"f": "GGF" + dataset_id[3:], "d": dataset_id})
        for d, chrom, pos, ref, alt in rows:
            conn.execute(text(
                'INSERT INTO catalogue_variant (dataset_id, chrom, pos, ref, alt, file_id, "end", variant_type, '
                "length, ac, an, het, hom_alt, hemi_alt, groups) VALUES (:d, :c, :p, :r, :a, :f, :p, 'SNP', 1, "
                "1, 10, 1, 0, 0, NULL)"), {"d": d, "c": chrom, "p": pos, "r": ref, "a": alt, "f": "GGF" + d[3:]})
    upgrade(engine)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT dataset_id, chrom, pos, ref, alt FROM catalogue_variant "
                                 "ORDER BY dataset_id, pos")).all()
        assert [tuple(r) for r in kept] == rows
        if backend == "postgres":
            held = {name: conn.execute(text(f'SELECT DISTINCT dataset_id FROM "{name}"')).scalars().all()
                    for name in conn.execute(text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'catalogue_variant'::regclass")).scalars()}
            assert sorted(map(tuple, held.values())) == [(), ("GGD000001",), ("GGD000002",)]
            assert held["catalogue_variant_default"] == []
        else:
            assert conn.execute(text("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'catalogue_variant%' "
                                     "AND name != 'catalogue_variant_annotation' "
                                     "AND type = 'table'")).scalar_one() == 1
    with Session(engine) as session:  # the converted index takes a replacement
        index.replace_dataset_variants(session, "GGD000001", [("GGF000001", [[
            ("1", 500, "C", "T", 500, "SNP", 1, 2, 10, 2, 0, 0, None, None)]])], dropping_files=["GGF000001"])
        session.commit()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT dataset_id, pos FROM catalogue_variant ORDER BY dataset_id, pos")).all() == [
            ("GGD000001", 500), ("GGD000002", 100), ("GGD000002", 101), ("GGD000002", 102)]
    engine.dispose()
