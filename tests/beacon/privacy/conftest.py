"""Attack-suite fixtures: one simulated population, and the app serving it over HTTP on loopback (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from catalogue.database import make_engine
from catalogue.identity import Caller
from catalogue.models import Assembly, Dataset, SecurityLevel
from catalogue.runtime import Runtime
from catalogue.settings import Settings
from catalogue.tokens import LocalIssuer, TokenVerifier
from genomegate.schema import upgrade
from ingest.reference_af import load_reference_af
from ingest.services import run_job, start_ingestion
from tests.beacon.privacy.attacks import SEED, World, simulate_world
from tests.factories import make_dac, make_dataset, make_organisation
from tests.serving import serving_node

OPERATOR = Caller.cli_operator()
MEMBERS, OUTSIDERS, PANEL, SITES = 1_000, 300, 1_000, 20_000


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return simulate_world(tmp_path_factory.mktemp("privacy-world"), members=MEMBERS, outsiders=OUTSIDERS,
                          panel=PANEL, sites=SITES, seed=SEED)


@dataclass(frozen=True)
class LiveBeacon:
    """The app on a loopback port, holding the members twice: with the default defence, and with it off."""

    base_url: str
    runtime: Runtime
    defended: str  # dataset id; privacy_p at its default
    undefended: str  # the same genotypes; privacy_p = 0
    samples: int

    def token(self, subject: str, organisation: str) -> str:
        """A token of its own account (subject) and organisation (schac_home_organization)."""
        assert self.runtime.issuer is not None
        return self.runtime.issuer.issue(subject, affiliation=organisation)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30.0)


def _runtime(folder: Path) -> Runtime:
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'genomegate.db'}",
                        import_dir=folder / "import", public_base_url="http://127.0.0.1", log_level="ERROR")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    issuer = LocalIssuer(folder / "keys" / "signing-key.json", issuer=settings.issuer_url,
                         audience=settings.token_audience)
    return Runtime(settings=settings, engine=engine, issuer=issuer, verifier=TokenVerifier(settings, issuer))


def _beacon_dataset(runtime: Runtime, world: World, title: str, privacy_p: float | None) -> str:
    """A published PUBLIC dataset of the members' genotypes (with their sample sheet), privacy_p as given."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        organisation = make_organisation(session, suffix=title)
        dac = make_dac(session, name=f"{title} DAC")
        dataset = make_dataset(session, organisation_id=organisation.id, publish=True, security=SecurityLevel.PUBLIC,
                               title=title, dac_id=dac.id, dua_text="use it well", count_threshold=0)
        if privacy_p is not None:
            row = session.get(Dataset, dataset.id)
            assert row is not None
            row.privacy_p = privacy_p
            session.add(row)
            session.commit()
        job = start_ingestion(session, OPERATOR, dataset.id, files=[world.members_file], samples=world.sample_sheet)
    done = run_job(runtime.engine, job.id, store_root=runtime.settings.store_root)
    assert done.state == "succeeded", done
    return dataset.id


@pytest.fixture(scope="session")
def live_beacon(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBeacon]:
    """SQLite in a temporary folder: the members ingested twice, the panel loaded as the reference frequencies."""
    runtime = _runtime(tmp_path_factory.mktemp("privacy-node"))
    defended = _beacon_dataset(runtime, world, "Defended cohort", None)
    undefended = _beacon_dataset(runtime, world, "Undefended cohort", 0.0)
    with Session(runtime.engine, expire_on_commit=False) as session:
        loaded = load_reference_af(session, OPERATOR, world.panel_sites, assembly=Assembly.GRCh38)
    assert loaded == len(world.panel_ac)
    with serving_node(runtime) as base:
        yield LiveBeacon(base, runtime, defended, undefended, len(world.members))
    runtime.engine.dispose()
