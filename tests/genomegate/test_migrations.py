"""Migrations: from empty to head, and step by step from every earlier revision with data kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from catalogue.database import make_engine
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
