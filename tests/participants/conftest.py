"""The participants' world: a controlled dataset of a small cohort, a link sheet, an approval and uses of the data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from access.checkpoints import make_checkpoint, node_signer
from catalogue.models import DatasetFile, Role
from catalogue.runtime import Runtime
from catalogue.services.datasets import dataset_files
from ingest.services import start_ingestion
from ingest.synthetic import SimulatedCohort, simulate_cohort, write_sample_sheet
from tests.factories import OPERATOR, grant, make_dac, make_dataset, make_organisation
from tests.workers import run_queued

Auth = Callable[[str], dict[str, str]]
STEWARD = "steward@lab.example"
OTHER_STEWARD = "steward@other.example"
ADMIN = "admin@node.example"
DAC_MEMBER = "chair@dac.example"
RESEARCHER = "researcher@uni.example"
# The identifiers the link sheet gives (what the participants' identity provider vouches for as `sub`)
ANNA = "NL-BSN-900000017"
BEN = "NL-BSN-900000029"


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulatedCohort, Path]:
    folder = tmp_path_factory.mktemp("participants-cohort")
    simulated = simulate_cohort(folder / "cohort.vcf.gz", samples=8, variants_per_contig=150, contigs=("1",),
                                seed=11, indel_rate=0.1)
    return simulated, write_sample_sheet(folder / "samples.tsv", simulated)


@dataclass
class World:
    client: TestClient
    auth: Auth
    runtime: Runtime
    dataset: str
    other: str  # a dataset of the same cohort with no link sheet
    file: DatasetFile
    anna_sample: str
    ben_sample: str
    cohort: SimulatedCohort

    def api(self, method: str, url: str, who: str | None, **kwargs: Any) -> Any:
        return self.client.request(method, url, headers=self.auth(who) if who else {}, **kwargs)

    def upload(self, sheet: str, who: str = STEWARD, dataset: str | None = None) -> Any:
        return self.api("POST", f"/api/datasets/{dataset or self.dataset}/link-sheets", who,
                        files={"sheet": ("links.csv", sheet.encode(), "text/csv")})

    def approve(self, dataset: str | None = None) -> str:
        """The researcher asks for the dataset and the DAC approves, through the API."""
        dataset = dataset or self.dataset
        created = self.api("POST", "/api/access/requests", RESEARCHER, json={
            "datasets": [dataset], "project_title": "Heart rhythm genes", "purpose": ["DUO:0000042"],
            "lay_summary": "Which variants change the heart's rhythm?", "institution": "University of Utrecht"})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        assert self.api("PATCH", f"/api/access/requests/{request_id}", RESEARCHER,
                        json={"accept_agreements": {dataset: "1"}}).status_code == 200
        assert self.api("POST", f"/api/access/requests/{request_id}/submit", RESEARCHER).status_code == 200
        decided = self.api("POST", f"/api/access/requests/{request_id}/decision", DAC_MEMBER,
                           json={"decision": "approve"})
        assert decided.status_code == 200, decided.text
        return str(request_id)

    def carried_variant(self, sample: str, not_by: str | None = None) -> str:
        """The Beacon id of a variant (SNV) the sample carries (and `not_by` does not)."""
        with pysam.VariantFile(str(self.cohort.path)) as vcf:
            for record in vcf:
                gt = record.samples[sample]["GT"]
                other = record.samples[not_by]["GT"] if not_by else ()
                alts = record.alts or ()
                snv = len(alts) == 1 and len(record.ref) == 1 and len(alts[0]) == 1
                if snv and any(a == 1 for a in gt) and not any(a == 1 for a in other):
                    return f"GRCh38:{record.chrom.removeprefix('chr')}:{record.pos}:{record.ref}:{alts[0]}"
        raise AssertionError(f"{sample} carries no SNV")

    def checkpoint(self) -> None:
        with Session(self.runtime.engine) as session:
            make_checkpoint(session, node_signer(self.runtime.settings.data_dir),
                            origin=self.runtime.settings.public_base_url)


@pytest.fixture
def world(session: Session, client: TestClient, auth: Auth, runtime: Runtime,
          cohort: tuple[SimulatedCohort, Path]) -> World:
    simulated, sheet = cohort
    org = make_organisation(session)
    other_org = make_organisation(session, suffix="B")
    dac = make_dac(session)
    grant(session, STEWARD, Role.steward, org=org.id)
    grant(session, OTHER_STEWARD, Role.steward, org=other_org.id)
    grant(session, ADMIN, Role.admin)
    grant(session, DAC_MEMBER, Role.dac_member, dac=dac.id)
    ids = []
    for title in ("Heart cohort", "Second cohort"):
        dataset = make_dataset(session, organisation_id=org.id, title=title, security="CONTROLLED", dac_id=dac.id,
                               dua_text="Use it well.", dua_version="1", duo=["DUO:0000042"], publish=True,
                               privacy_p=0.0)
        start_ingestion(session, OPERATOR, dataset.id, files=[simulated.path], samples=sheet)
        ids.append(dataset.id)
    run_queued(runtime.engine, runtime.settings)
    (file,) = dataset_files(session, ids[0])
    return World(client, auth, runtime, ids[0], ids[1], file, simulated.samples[2], simulated.samples[4], simulated)


def link_sheet(world: World, delimiter: str = ",") -> str:
    return (f"sample_id{delimiter}participant_id\n{world.anna_sample}{delimiter}{ANNA}\n"
            f"{world.ben_sample}{delimiter}{BEN}\n")
