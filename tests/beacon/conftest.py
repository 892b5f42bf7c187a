"""Beacon fixtures: a simulated cohort ingested into published datasets of each security level."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.models import Dataset, SecurityLevel
from catalogue.runtime import Runtime
from ingest.services import run_job, start_ingestion
from ingest.synthetic import SimulatedCohort, simulate_cohort, write_sample_sheet
from tests.factories import make_dac, make_dataset, make_organisation

OPERATOR = Caller.cli_operator()


@dataclass(frozen=True)
class Cohort:
    cohort: SimulatedCohort
    sheet: Path


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """40 samples, chromosomes 1, 2 and X, multi-allelics, indels and SVs."""
    folder = tmp_path_factory.mktemp("beacon-cohort")
    simulated = simulate_cohort(folder / "cohort.vcf.gz", samples=40, variants_per_contig=250, contigs=("1", "2"),
                                seed=11, include_x=True, multiallelic_rate=0.05, indel_rate=0.15, sv_rate=0.03)
    return Cohort(simulated, write_sample_sheet(folder / "samples.tsv", simulated))


def ingest(runtime: Runtime, dataset_id: str, cohort: Cohort) -> None:
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, OPERATOR, dataset_id, files=[cohort.cohort.path], samples=cohort.sheet)
    done = run_job(runtime.engine, job.id, store_root=runtime.settings.store_root)
    assert done.state == "succeeded", done


@dataclass(frozen=True)
class Datasets:
    public: Dataset
    registered: Dataset
    controlled: Dataset


@pytest.fixture
def make_beacon_dataset(session: Session, runtime: Runtime, cohort: Cohort) -> Callable[..., Dataset]:
    org = make_organisation(session)
    dac = make_dac(session)

    def make(security: SecurityLevel, title: str, *, files: Cohort | None = None, **overrides: Any) -> Dataset:
        """A published dataset with the cohort (or `files`) ingested. The privacy budget is off unless `privacy_p`
        is given: these tests examine granularity and exactness; test_privacy.py examines the defence."""
        overrides.setdefault("privacy_p", 0.0)
        extra: dict[str, Any] = {"dac_id": dac.id, "dua_text": "use it well"}
        dataset = make_dataset(session, organisation_id=org.id, publish=True, security=security, title=title,
                               **extra)
        for name, value in overrides.items():
            setattr(dataset, name, value)
        session.add(dataset)
        session.commit()
        ingest(runtime, dataset.id, files or cohort)
        session.refresh(dataset)
        return dataset

    return make


@pytest.fixture
def datasets(make_beacon_dataset: Callable[..., Dataset]) -> Datasets:
    return Datasets(
        public=make_beacon_dataset(SecurityLevel.PUBLIC, "Public cohort", count_threshold=0),
        registered=make_beacon_dataset(SecurityLevel.REGISTERED, "Registered cohort", count_threshold=0),
        controlled=make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled cohort", count_threshold=0),
    )
