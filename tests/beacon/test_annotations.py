"""Beacon gene and amino-acid queries answered from VEP/SnpEff annotations: 200 whether or not the node knows the
gene, the official schemas throughout, and records with their molecularAttributes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.models import Assembly, Dataset, SecurityLevel
from catalogue.runtime import Runtime
from catalogue.services.genes import replace_genes
from ingest.genes import read_genes
from ingest.services import run_job, start_ingestion
from tests.beacon._schemas import validate
from tests.beacon.conftest import Datasets
from tests.factories import make_dac, make_dataset, make_entitlement, make_organisation
from tests.ingest._annotated import ANN, CSQ, write_annotated
from tests.ingest._tools import bcftools

B = "/beacon/v2"
RESULTSETS = ("framework", "json", "responses", "beaconResultsetsResponse.json")
BOOLEAN = ("framework", "json", "responses", "beaconBooleanResponse.json")
G_VARIANT = ("models", "json", "beacon-v2-default-model", "genomicVariations", "defaultSchema.json")


@pytest.fixture
def annotated(session: Session, runtime: Runtime, tmp_path: Path) -> Dataset:
    """A CONTROLLED dataset (counts for anyone, records for the entitled) of the VEP and SnpEff files."""
    dataset = make_dataset(session, organisation_id=make_organisation(session, suffix="ann").id, publish=True,
                           security=SecurityLevel.CONTROLLED, dac_id=make_dac(session, name="Annotated DAC").id,
                           dua_text="use it well",
                           beacon_granularity="count", count_threshold=0, title="Annotated")
    files = [write_annotated(tmp_path, "vep.vcf", CSQ), write_annotated(tmp_path, "snpeff.vcf", ANN)]
    with Session(runtime.engine, expire_on_commit=False) as s:
        job = start_ingestion(s, Caller.cli_operator(), dataset.id, files=files)
    assert run_job(runtime.engine, job.id, store_root=runtime.settings.store_root).state == "succeeded"
    return dataset


def _get(client: TestClient, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    r = client.get(f"{B}/g_variants", params={"requestedGranularity": "count", **params}, headers=headers or {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    validate(body, *(RESULTSETS if body["meta"]["returnedGranularity"] != "boolean" else BOOLEAN))
    for result_set in body.get("response", {}).get("resultSets", []):
        for record in result_set["results"]:
            validate(record, *G_VARIANT)
    return body


def _count(body: dict[str, Any], dataset_id: str) -> int:
    """The dataset's count (0 when it has no result set: HIT lists only datasets with results)."""
    sets = body.get("response", {}).get("resultSets", [])
    return next((s["resultsCount"] for s in sets if s["id"] == dataset_id), 0)


def test_a_gene_is_found_through_its_annotations_without_a_gene_table(
        client: TestClient, annotated: Dataset) -> None:
    braf = _get(client, geneId="BRAF")
    assert braf["responseSummary"]["exists"] is True
    # BRAF's annotated alleles, as bcftools lists the CSQ: V600E and the two frameshifts (not 140753350, unannotated).
    assert _count(braf, annotated.id) == 3
    assert _get(client, geneId="braf")["responseSummary"] == braf["responseSummary"]
    assert _count(_get(client, geneId="ENSG00000157764"), annotated.id) == 3
    assert _count(_get(client, geneId="TP53"), annotated.id) == 3  # R175H, P72R, P72P (SnpEff)


@pytest.mark.parametrize(("params", "expected"), [
    ({"geneId": "BRAF", "aminoacidChange": "V600E"}, 1),
    ({"geneId": "BRAF", "aminoacidChange": "p.Val600Glu"}, 1),
    ({"aminoacidChange": "R175H"}, 1),
    ({"geneId": "TP53", "aminoacidChange": "P72R"}, 1),
    ({"geneId": "BRAF", "aminoacidChange": "R175H"}, 0),
    ({"referenceName": "17", "start": 7_600_000, "end": 7_700_000, "aminoacidChange": "R175H"}, 1),
])
def test_an_amino_acid_change_is_answered_from_the_annotations(
        client: TestClient, annotated: Dataset, params: dict[str, Any], expected: int) -> None:
    body = _get(client, **params)
    assert body["responseSummary"]["exists"] is (expected > 0)
    assert _count(body, annotated.id) == expected


def test_a_gene_the_node_does_not_know_is_a_no_with_the_reason(
        client: TestClient, annotated: Dataset, datasets: Datasets) -> None:
    for params in ({"geneId": "NOSUCHGENE"}, {"geneId": "NOSUCHGENE", "aminoacidChange": "V600E"},
                   {"aminoacidChange": "V600E"}):
        body = _get(client, **params)
        unannotated = {e["datasetId"]: e["reason"] for e in body["info"]["excludedDatasets"]}
        # The simulated cohorts carry no annotations: left out, saying why; the annotated dataset answers.
        assert datasets.public.id in unannotated and annotated.id not in unannotated
        assert "no annotations (VEP CSQ or SnpEff ANN)" in unannotated[datasets.public.id]
        exists = params.get("aminoacidChange") == "V600E" and "geneId" not in params
        assert body["responseSummary"]["exists"] is exists
    nothing = client.get(f"{B}/g_variants", params={"geneId": "NOSUCHGENE", "datasetIds": datasets.public.id})
    assert nothing.status_code == 200
    assert nothing.json()["responseSummary"]["exists"] is False


def test_a_loaded_gene_finds_its_region_and_its_annotated_variants(
        client: TestClient, session: Session, annotated: Dataset, tmp_path: Path) -> None:
    # A gene-table extent covering 140753336..140753360: V600E and the unannotated 140753350 lie in it; the
    # frameshifts at 140753400 only the annotations place in BRAF. Each counted once.
    (tmp_path / "genes.bed").write_text("chr7\t140753335\t140753360\tBRAF\n")
    replace_genes(session, Caller.cli_operator(), Assembly.GRCh38, read_genes(tmp_path / "genes.bed", "GRCh38"))
    vep = write_annotated(tmp_path / "v", "vep.vcf", CSQ)
    bcftools("index", vep)
    assert len(bcftools("view", "-H", "-r", "chr7:140753336-140753360", vep).splitlines()) == 2
    assert _count(_get(client, geneId="BRAF"), annotated.id) == 2 + 2
    assert _count(_get(client, geneId="BRAF", aminoacidChange="V600E"), annotated.id) == 1


def test_records_carry_their_molecular_attributes(
        client: TestClient, session: Session, annotated: Dataset, auth: Callable[[str], dict[str, str]]) -> None:
    make_entitlement(session, "alice", annotated.id)
    body = _get(client, headers=auth("alice"), geneId="BRAF", aminoacidChange="V600E", requestedGranularity="record")
    [record] = next(s for s in body["response"]["resultSets"] if s["id"] == annotated.id)["results"]
    assert record["variantInternalId"] == "GRCh38:7:140753336:A:T"
    assert record["molecularAttributes"] == {
        "geneIds": ["AC006344.1", "ENSG00000229158", "BRAF", "ENSG00000157764"],
        "molecularEffects": [{"id": "SO:0001632", "label": "downstream gene variant"},
                             {"id": "SO:0001583", "label": "missense variant"}],
        "aminoacidChanges": ["V600E"],
    }
