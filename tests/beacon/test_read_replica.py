"""A read replica (GENOMEGATE_DATABASE_READ_URL): the Beacon reads through it, every write goes to the primary,
and nothing read through it can write.

The "replica" is a copy of the primary taken after the cohorts were ingested (PostgreSQL: CREATE DATABASE ...
TEMPLATE; SQLite: the backup API), as a replica lagging behind would be. The primary then drops the public
dataset's variants: a Beacon still finding them answered from the replica, and the ledger and audit rows the
same requests wrote are on the primary and not on the copy.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from catalogue.database import make_engine
from catalogue.identity import Caller
from catalogue.models import Assembly
from catalogue.runtime import Runtime, build_runtime
from catalogue.services import index
from genomegate.app import create_app
from ingest.reference_af import load_reference_af
from tests.beacon.conftest import Cohort, Datasets
from tests.conftest import PostgresDatabases
from tests.factories import make_entitlement

B = "/beacon/v2/g_variants"
OPERATOR = Caller.cli_operator()


def _copy(engine: Engine, request: pytest.FixtureRequest, folder: Path) -> str:
    """A copy of the engine's database as it is now; its URL."""
    url = engine.url
    engine.dispose()  # PostgreSQL copies a database only while nobody is connected to it
    if url.get_backend_name() == "sqlite":
        copy = folder / "replica.db"
        with sqlite3.connect(str(url.database)) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        return f"sqlite:///{copy}"
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    name = f"{url.database}_replica_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname="postgres",
                         autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    databases.created.append(name)
    return make_url(str(url.render_as_string(hide_password=False))).set(database=name).render_as_string(
        hide_password=False)


@dataclass(frozen=True)
class Node:
    runtime: Runtime
    client: TestClient
    replica: str


@pytest.fixture
def node(runtime: Runtime, datasets: Datasets, session: Session, engine: Engine, request: pytest.FixtureRequest,
         tmp_path: Path, cohort: Cohort) -> Iterator[Node]:
    assert load_reference_af(session, OPERATOR, cohort.cohort.path, assembly=Assembly.GRCh38) > 0  # prices
    registered = datasets.registered
    registered.privacy_p = 0.2  # signed-in callers without record rights are charged for what they ask
    session.add(registered)
    session.commit()
    make_entitlement(session, "alice", datasets.controlled.id)
    session.close()
    replica = _copy(engine, request, tmp_path)
    with Session(engine) as primary:  # the primary moves on; the replica has not caught up
        index.retire_dataset_variants(primary, datasets.public.id)
        primary.commit()
    settings = runtime.settings.model_copy(update={"database_read_url": replica})
    built = build_runtime(settings)
    assert built.read_engine is not None and built.reader is built.read_engine
    with TestClient(create_app(runtime=built), raise_server_exceptions=False) as client:
        yield Node(built, client, replica)
    built.engine.dispose()
    built.read_engine.dispose()


def _a_variant(replica: str, dataset_id: str) -> dict[str, str | int]:
    """The dataset's carried SNV or indel most common in the reference panel (the cheapest question), as the
    replica holds it, in Beacon query parameters."""
    copy = make_engine(replica)
    try:
        with copy.connect() as conn:
            chrom, pos, ref, alt = conn.execute(text(
                "SELECT v.chrom, v.pos, v.ref, v.alt FROM catalogue_variant v JOIN catalogue_reference_allele r "
                "ON r.chrom = v.chrom AND r.pos = v.pos AND r.ref = v.ref AND r.alt = v.alt "
                "WHERE v.dataset_id = :d AND v.ac > 0 AND v.alt NOT LIKE '<%' "
                "ORDER BY r.af_lower DESC, v.pos LIMIT 1"), {"d": dataset_id}).one()
    finally:
        copy.dispose()
    return {"referenceName": chrom, "start": pos - 1, "referenceBases": ref, "alternateBases": alt}


def _rows(url_or_engine: str | Engine, table: str) -> int:
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def test_beacon_reads_go_to_the_replica_and_its_writes_to_the_primary(
        node: Node, datasets: Datasets, engine: Engine) -> None:
    public, registered, controlled = datasets.public.id, datasets.registered.id, datasets.controlled.id
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM catalogue_variant WHERE dataset_id = :d"),
                            {"d": public}).scalar_one() == 0  # the primary holds none of them any more
    allele = _a_variant(node.replica, public)
    anonymous = node.client.get(B, params={**allele, "datasetIds": public, "requestedGranularity": "count"})
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["responseSummary"]["exists"] is True  # the replica's answer

    issuer = node.runtime.issuer
    assert issuer is not None
    audit_before = _rows(engine, "access_audit_event")
    # Alice may see the controlled dataset's records: the answer is read from the replica, audited on the primary.
    alice = {"Authorization": f"Bearer {issuer.issue('alice')}"}
    allele = _a_variant(node.replica, controlled)
    records = node.client.get(B, params={**allele, "datasetIds": controlled, "requestedGranularity": "record"},
                              headers=alice)
    assert records.status_code == 200, records.text
    assert records.json()["meta"]["returnedGranularity"] == "record"
    assert _rows(engine, "access_audit_event") == audit_before + 1
    assert _rows(node.replica, "access_audit_event") == audit_before  # as it was copied
    # Bob has no rights on the registered dataset: his answer is charged to his budget, on the primary.
    bob = {"Authorization": f"Bearer {issuer.issue('bob')}"}
    allele = _a_variant(node.replica, registered)
    charged = node.client.get(B, params={**allele, "datasetIds": registered, "requestedGranularity": "count"},
                              headers=bob)
    assert charged.status_code == 200, charged.text
    assert _rows(engine, "beacon_privacy_ledger") >= 1  # his account (and any organisation) charged
    assert _rows(node.replica, "beacon_privacy_ledger") == 0


def test_nothing_read_through_the_replica_engine_can_write(node: Node, datasets: Datasets) -> None:
    reader = node.runtime.read_engine
    assert reader is not None
    for statement in ("DELETE FROM catalogue_variant",
                      "UPDATE beacon_privacy_ledger SET spent = 0",
                      "INSERT INTO catalogue_id_counter (prefix, value) VALUES ('ZZZ', 1)"):
        with pytest.raises(DBAPIError, match="read-only transaction|readonly database"), reader.begin() as conn:
            conn.execute(text(statement))
    with reader.connect() as conn:  # reads work
        assert conn.execute(text("SELECT COUNT(*) FROM catalogue_dataset")).scalar_one() == len(
            [datasets.public, datasets.registered, datasets.controlled])
