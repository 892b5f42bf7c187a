"""Suite-wide fixtures: every database test runs on SQLite and on PostgreSQL, against the real app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from catalogue.database import make_engine
from catalogue.runtime import Runtime
from catalogue.settings import Settings
from catalogue.tokens import LocalIssuer, TokenVerifier
from genomegate.app import create_app
from genomegate.schema import import_all_models, upgrade

POSTGRES_URL = os.environ.get("GENOMEGATE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def need_shared(*parts: str) -> Path:
    """A path under ../shared; skip (fail in CI) when the shared folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing; CI always has ../shared")
        pytest.skip(f"{path} is absent (../shared is not beside this clone)")
    return path


class PostgresDatabases:
    """Creates throw-away databases on the test server, so runs never touch each other's data."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.created: list[str] = []

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.url.host, port=self.url.port or 5432, user=self.url.username,
            password=self.url.password, dbname=self.url.database, autocommit=True, connect_timeout=5)

    def create(self) -> str:
        name = f"gg_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self._admin() as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(POSTGRES_URL)
    try:
        databases._admin().close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is not answering: {exc}".strip()
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def new_database_url(tmp_path_factory: pytest.TempPathFactory,
                     request: pytest.FixtureRequest) -> Callable[[str], str]:
    """A function giving the URL of a new, empty database of the given backend."""

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'genomegate.db'}"
        return request.getfixturevalue("postgres").create()

    return make


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_engine(db_backend: str, new_database_url: Callable[[str], str]) -> Iterator[Engine]:
    engine = make_engine(new_database_url(db_backend))
    upgrade(engine)
    yield engine
    engine.dispose()


def _empty_tables(engine: Engine) -> None:
    import_all_models()
    # The accession counters stay (seeded by the migrations), at zero, so that ids are predictable per test.
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name != "catalogue_id_counter"]
    with engine.begin() as conn:
        if engine.url.get_backend_name() == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            # the variant index's partitions of the datasets just removed go with them (the default one stays)
            for name in conn.execute(text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'catalogue_variant'::regclass "
                    "AND c.relname <> 'catalogue_variant_default'")).scalars():
                conn.execute(text(f'DROP TABLE "{name}"'))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
        conn.execute(text("UPDATE catalogue_id_counter SET value = 0"))


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    """A migrated database (SQLite, then PostgreSQL), emptied before each test."""
    _empty_tables(migrated_engine)
    return migrated_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def issuer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def settings(issuer_dir: Path, engine: Engine, tmp_path: Path) -> Settings:
    return Settings(data_dir=issuer_dir, database_url=engine.url.render_as_string(hide_password=False),
                    import_dir=tmp_path / "import", public_base_url="http://testserver")


@pytest.fixture
def runtime(settings: Settings, engine: Engine) -> Runtime:
    issuer = LocalIssuer(settings.data_dir / "keys" / "signing-key.json",
                         issuer=settings.issuer_url, audience=settings.token_audience)
    return Runtime(settings=settings, engine=engine, issuer=issuer, verifier=TokenVerifier(settings, issuer))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def auth(runtime: Runtime) -> Callable[[str], dict[str, str]]:
    """Headers carrying a valid token for a subject: `client.get(url, headers=auth("alice"))`."""
    assert runtime.issuer is not None
    issuer = runtime.issuer

    def headers(subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.issue(subject)}"}

    return headers
