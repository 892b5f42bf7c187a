"""Release fixtures: a VCF.gz and a BCF cohort in controlled datasets, ticket helpers, and the app on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.models import DatasetFile
from catalogue.runtime import Runtime
from catalogue.services.datasets import dataset_files
from ingest.services import run_job, start_ingestion
from ingest.synthetic import SimulatedCohort, simulate_cohort
from tests.factories import make_dac, make_dataset, make_entitlement, make_organisation
from tests.serving import serving_node

Auth = Callable[[str], dict[str, str]]
ALICE = "alice@example.org"  # entitled to both datasets
BOB = "bob@example.org"  # signed in, entitled to nothing


@pytest.fixture(scope="session")
def cohorts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SimulatedCohort]:
    """The same seeded cohort as bgzipped VCF (+ .tbi) and BCF (+ .csi): SNVs, indels, multi-allelics, SVs."""
    folder = tmp_path_factory.mktemp("release-cohorts")
    options: dict[str, Any] = {"samples": 12, "variants_per_contig": 1200, "contigs": ("1", "2"), "seed": 5,
                               "indel_rate": 0.15, "sv_rate": 0.04, "multiallelic_rate": 0.05}
    return {"VCF": simulate_cohort(folder / "cohort.vcf.gz", fmt="vcf.gz", **options),
            "BCF": simulate_cohort(folder / "cohort.bcf", fmt="bcf", **options)}


@dataclass
class Released:
    """Two controlled datasets of one DAC, one per format, with Alice entitled to both."""

    client: TestClient
    auth: Auth
    runtime: Runtime
    datasets: dict[str, str]  # format -> dataset id
    files: dict[str, DatasetFile]  # format -> its one file

    def ticket(self, fmt: str, who: str | None = ALICE, *, file: bool = False, **params: Any) -> httpx.Response:
        dataset = self.datasets[fmt]
        path = f"/htsget/variants/{dataset}" + (f"/{self.files[fmt].id}" if file else "")
        return self.client.get(path, params={"format": fmt, **params}, headers=self.auth(who) if who else {})

    def fetch(self, ticket: dict[str, Any]) -> bytes:
        """Follow a ticket as a client does: every URL with its headers, concatenated."""
        import base64

        blob = b""
        for entry in ticket["htsget"]["urls"]:
            url = entry["url"]
            if url.startswith("data:"):
                blob += base64.b64decode(url.split(",", 1)[1])
                continue
            response = self.client.get(url, headers=entry.get("headers", {}))
            assert response.status_code in (200, 206), response.text
            blob += response.content
        return blob


def ingest(runtime: Runtime, dataset_id: str, path: Path) -> None:
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, Caller.cli_operator(), dataset_id, files=[path])
    run_job(runtime.engine, job.id, store_root=runtime.settings.store_root)


@pytest.fixture
def released(session: Session, client: TestClient, auth: Auth, runtime: Runtime,
             cohorts: dict[str, SimulatedCohort]) -> Released:
    org = make_organisation(session)
    dac = make_dac(session)
    datasets, files = {}, {}
    for fmt, cohort in cohorts.items():
        dataset = make_dataset(session, organisation_id=org.id, title=f"{fmt} cohort", security="CONTROLLED",
                               dac_id=dac.id, dua_text="DUA", publish=True)
        ingest(runtime, dataset.id, cohort.path)
        make_entitlement(session, ALICE, dataset.id)
        datasets[fmt] = dataset.id
        (files[fmt],) = dataset_files(session, dataset.id)
    return Released(client, auth, runtime, datasets, files)


@pytest.fixture
def server(released: Released) -> Iterator[str]:
    """The app on a free loopback port, in a thread, on the test's database; yields its base URL."""
    with serving_node(released.runtime) as base:
        yield base
