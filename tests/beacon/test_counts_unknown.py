"""Counts a dataset does not know are said to be unknown, never 0: presence-only sites answer yes or no, and allele
counts without genotypes come without carriers (Beacon, lookup page, dataset page, API)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.models import Dataset, SecurityLevel
from catalogue.runtime import Runtime
from ingest.services import run_job, start_ingestion
from tests.beacon._schemas import validate
from tests.factories import make_dataset, make_organisation
from tests.ingest._tools import bcftools, require

B = "/beacon/v2"
RESULTSETS = ("framework", "json", "responses", "beaconResultsetsResponse.json")
BOOLEAN = ("framework", "json", "responses", "beaconBooleanResponse.json")

HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
          '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">\n'
          '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">\n'
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


def _sites(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + body)
    subprocess.run([require("bgzip"), "-f", str(path)], check=True)
    return Path(f"{path}.gz")


@pytest.fixture
def sites(session: Session, runtime: Runtime, tmp_path: Path) -> tuple[Dataset, Dataset, Path]:
    """Two public datasets of sites-only files: one with INFO AC/AN, one without any counts."""
    org = make_organisation(session)
    counted = make_dataset(session, organisation_id=org.id, publish=True, title="Allele counts",
                           security=SecurityLevel.PUBLIC, count_threshold=0)
    present = make_dataset(session, organisation_id=org.id, publish=True, title="Presence only",
                           security=SecurityLevel.PUBLIC, count_threshold=0)
    with_counts = _sites(tmp_path / "a", "counted.vcf", "chr1\t1000\t.\tA\tG\t.\tPASS\tAC=117;AN=2000\n"
                                                        "chr1\t2000\t.\tC\tT\t.\tPASS\tAC=3;AN=2000\n")
    without = _sites(tmp_path / "b", "present.vcf", "chr1\t1000\t.\tA\tG\t.\tPASS\t.\n"
                                                    "chr1\t3000\t.\tG\tA\t.\tPASS\t.\n")
    for dataset, path in ((counted, with_counts), (present, without)):
        with Session(runtime.engine, expire_on_commit=False) as s:
            job = start_ingestion(s, Caller.cli_operator(), dataset.id, files=[path])
        assert run_job(runtime.engine, job.id, store_root=runtime.settings.store_root).state == "succeeded"
    return counted, present, with_counts


def _query(client: TestClient, pos: int, ref: str, alt: str, granularity: str = "count") -> dict[str, Any]:
    r = client.get(f"{B}/g_variants", params={"referenceName": "1", "start": pos - 1, "referenceBases": ref,
                                              "alternateBases": alt, "requestedGranularity": granularity})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_presence_only_dataset_answers_yes_or_no_and_allele_counts_come_without_carriers(
        client: TestClient, sites: tuple[Dataset, Dataset, Path]) -> None:
    counted, present, with_counts = sites
    for granularity in ("count", "record"):
        body = _query(client, 1000, "A", "G", granularity)
        validate(body, *RESULTSETS)
        levels = {d["datasetId"]: (d["returnedGranularity"], d["exists"]) for d in body["info"]["datasets"]}
        assert levels == {counted.id: ("count", True), present.id: ("boolean", True)}
        [result_set] = body["response"]["resultSets"]  # the presence-only dataset gives no count to list
        assert result_set["id"] == counted.id
        ac = bcftools("query", "-i", "POS=1000", "-f", "%AC", with_counts)
        assert result_set["info"]["alleleCount"] == int(ac) == 117
        assert result_set["info"]["carriers"] is None  # unknown without genotypes, never 0
        # a yes from the presence-only dataset leaves the total unknown: no numTotalResults rather than a wrong one
        assert body["responseSummary"]["exists"] is True
        assert "numTotalResults" not in body["responseSummary"]
    only_present = _query(client, 3000, "G", "A")["info"]
    assert [(d["datasetId"], d["returnedGranularity"], d["exists"]) for d in only_present["datasets"]] == [
        (counted.id, "count", False), (present.id, "boolean", True)]


def test_the_pages_and_the_api_say_unknown(client: TestClient, sites: tuple[Dataset, Dataset, Path],
                                           auth: Callable[[str], dict[str, str]]) -> None:
    counted, present, _ = sites
    page = client.get("/variants", params={"assembly": "GRCh38", "chrom": "chr1", "start": "1000", "ref": "A",
                                           "alt": "G"}).text
    assert "Present or absent only" in page
    assert "allele count 117" in page
    assert " 0 carriers" not in page
    assert client.get(f"/api/datasets/{present.id}").json()["statistics"]["variants_without_counts"] == 2
    assert client.get(f"/api/datasets/{counted.id}").json()["statistics"]["variants_without_carriers"] == 2
    assert "Allele counts: unknown for 2 variants" in client.get(f"/datasets/{present.id}").text
    assert "Carriers: unknown for 2 variants" in client.get(f"/datasets/{counted.id}").text
