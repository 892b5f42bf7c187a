"""Filters the index keeps no counts for (diseases, combinations) are answered from the genotypes, exactly."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.models import Dataset, SecurityLevel
from tests.beacon.conftest import Cohort
from tests.beacon.test_api import check
from tests.factories import make_entitlement
from tests.ingest._tools import bcftools

CHR1 = {"referenceName": "1", "start": 0, "end": 10_000_000, "requestedGranularity": "count"}


def _sheet(cohort: Cohort) -> list[dict[str, str]]:
    with cohort.sheet.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _variants_carried_by(cohort: Cohort, samples: list[str]) -> int:
    """PASS chr1 alleles that at least one of `samples` carries, per bcftools."""
    with tempfile.TemporaryDirectory() as tmp:
        subset = f"{tmp}/s.vcf.gz"
        bcftools("view", "-f", "PASS,.", "-s", ",".join(samples), "-r", "chr1", "-O", "z", "-o", subset,
                 cohort.cohort.path)
        split = f"{tmp}/split.vcf.gz"
        bcftools("norm", "-m", "-any", "-O", "z", "-o", split, subset)
        return len(bcftools("view", "-H", "-i", 'GT="alt" && ALT!="*"', split).splitlines())


@pytest.mark.parametrize("kind", ["disease", "sex and population"])
def test_filters_count_exactly_the_selected_individuals_alleles(
        client: TestClient, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort, kind: str) -> None:
    make_beacon_dataset(SecurityLevel.PUBLIC, "Public", count_threshold=0)
    rows = _sheet(cohort)
    if kind == "disease":
        diseases = [d for r in rows for d in r["diseases"].split(";") if d]
        term = max(set(diseases), key=diseases.count)
        selected = [r["sample_id"] for r in rows if term in r["diseases"].split(";")]
        filters = term
    else:
        selected = [r["sample_id"] for r in rows if r["sex"] == "female" and r["population"] == rows[0]["population"]]
        filters = f"NCIT:C16576,population:{rows[0]['population']}"
    assert selected
    body = client.get("/beacon/v2/g_variants", params={**CHR1, "filters": filters}).json()
    check(body)
    assert body["responseSummary"]["numTotalResults"] == _variants_carried_by(cohort, selected)
    unfiltered = client.get("/beacon/v2/g_variants", params=CHR1).json()
    assert body["responseSummary"]["numTotalResults"] < unfiltered["responseSummary"]["numTotalResults"]


def test_record_level_shows_only_the_selected_carriers(
        client: TestClient, session: Session, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort,
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    rows = _sheet(cohort)
    females = {r["sample_id"] for r in rows if r["sex"] == "female"}
    population = rows[0]["population"]
    wanted = {r["sample_id"] for r in rows if r["sample_id"] in females and r["population"] == population}
    make_entitlement(session, "alice", target.id)
    body = client.get("/beacon/v2/g_variants", headers=auth("alice"), params={
        **CHR1, "requestedGranularity": "record", "filters": f"NCIT:C16576,population:{population}",
        "limit": 50}).json()
    check(body)
    results = body["response"]["resultSets"][0]["results"]
    assert results
    assert {c["individualId"] for r in results for c in r["caseLevelData"]} <= wanted
