"""The published datasets' query settings, as every Beacon query reads them: never stale, whoever changed them.

On SQLite they are kept with each pooled connection; these tests change a dataset from another engine (as
another server process or the CLI would), from the reading session itself, and in a transaction rolled back.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session

from catalogue.database import make_engine, session_scope
from catalogue.models import Dataset
from catalogue.services.lookup import published_for_queries
from tests.factories import make_dataset, make_organisation


def _security(engine: Engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {d.id: d.security for d in published_for_queries(session)}


def _published(engine: Engine) -> str:
    with Session(engine) as session:
        org = make_organisation(session)
        return make_dataset(session, organisation_id=org.id, publish=True).id


def test_a_change_committed_by_another_process_is_seen_at_once(engine: Engine) -> None:
    dataset_id = _published(engine)
    for _ in range(3):  # read again and again: on SQLite the pooled connection keeps them
        assert _security(engine) == {dataset_id: "PUBLIC"}
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with other.begin() as conn:
            conn.execute(text("UPDATE catalogue_dataset SET security = 'CONTROLLED' WHERE id = :d"), {"d": dataset_id})
        assert _security(engine) == {dataset_id: "CONTROLLED"}
        with other.begin() as conn:
            conn.execute(text("UPDATE catalogue_dataset SET status = 'retired' WHERE id = :d"), {"d": dataset_id})
        assert _security(engine) == {}
    finally:
        other.dispose()


def test_the_session_sees_its_own_change_and_not_after_a_rollback(engine: Engine) -> None:
    dataset_id = _published(engine)
    assert _security(engine) == {dataset_id: "PUBLIC"}
    with session_scope(engine) as session:
        dataset = session.get(Dataset, dataset_id)
        assert dataset is not None
        dataset.security = "REGISTERED"
        session.flush()
        assert {d.id: d.security for d in published_for_queries(session)} == {dataset_id: "REGISTERED"}
        session.rollback()
        assert {d.id: d.security for d in published_for_queries(session)} == {dataset_id: "PUBLIC"}
    assert _security(engine) == {dataset_id: "PUBLIC"}


def test_what_a_caller_does_to_the_list_stays_with_it(engine: Engine) -> None:
    dataset_id = _published(engine)
    with session_scope(engine) as session:
        published_for_queries(session).clear()
        assert [d.id for d in published_for_queries(session)] == [dataset_id]


def test_a_savepoint_rolled_back_is_not_seen(engine: Engine) -> None:
    dataset_id = _published(engine)
    with session_scope(engine) as session:
        session.execute(text("UPDATE catalogue_dataset SET count_threshold = 7 WHERE id = :d"), {"d": dataset_id})
        savepoint = session.begin_nested()
        session.execute(text("UPDATE catalogue_dataset SET security = 'CONTROLLED' WHERE id = :d"), {"d": dataset_id})
        assert [d.security for d in published_for_queries(session)] == ["CONTROLLED"]
        savepoint.rollback()
        assert [(d.security, d.count_threshold) for d in published_for_queries(session)] == [("PUBLIC", 7)]
        session.commit()
    assert _security(engine) == {dataset_id: "PUBLIC"}
