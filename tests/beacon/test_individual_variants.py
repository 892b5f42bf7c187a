"""/individuals/{id}/g_variants: an individual's variants in a region, for callers with record-level rights only."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.models import Dataset, SecurityLevel
from tests.beacon.conftest import Cohort
from tests.beacon.test_api import check
from tests.factories import make_entitlement
from tests.ingest._tools import bcftools

B = "/beacon/v2"
REGION = {"referenceName": "1", "start": 0, "end": 1_000_000, "limit": 100}


def test_an_entitled_caller_gets_exactly_the_individuals_alleles(
        client: TestClient, session: Session, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort,
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    make_entitlement(session, "alice", target.id)
    sample = cohort.cohort.samples[3]
    body = client.get(f"{B}/individuals/{sample}/g_variants", params=REGION, headers=auth("alice")).json()
    check(body)
    assert body["meta"]["returnedGranularity"] == "record"
    [result_set] = body["response"]["resultSets"]
    assert result_set["resultsCount"] == _carried_on_chr1(cohort, sample) > 0
    assert all(r["caseLevelData"][0]["individualId"] == sample for r in result_set["results"])


def _carried_on_chr1(cohort: Cohort, sample: str) -> int:
    """PASS alleles the sample carries on chr1, per bcftools (split per ALT, then GT holds that ALT)."""
    with tempfile.TemporaryDirectory() as tmp:
        subset = f"{tmp}/s.vcf.gz"
        bcftools("view", "-f", "PASS,.", "-s", sample, "-r", "chr1", "-O", "z", "-o", subset, cohort.cohort.path)
        split = f"{tmp}/split.vcf.gz"
        bcftools("norm", "-m", "-any", "-O", "z", "-o", split, subset)
        # After splitting, "alt" means this record's ALT; spanning deletions (*) are not variants of the index.
        out = bcftools("view", "-H", "-i", 'GT="alt" && ALT!="*"', split)
    return len(out.splitlines())


def test_without_record_rights_the_dataset_is_excluded_and_nothing_is_shown(
        client: TestClient, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort,
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.PUBLIC, "Public", count_threshold=0)
    sample = cohort.cohort.samples[3]
    for headers in ({}, auth("bob")):
        body = client.get(f"{B}/individuals/{sample}/g_variants", params=REGION, headers=headers).json()
        check(body)
        assert body["meta"]["returnedGranularity"] == "boolean"
        assert body["responseSummary"] == {"exists": False}
        assert body["info"]["excludedDatasets"][0] == {
            "datasetId": target.id, "reason": "an individual's genotypes need record-level rights"}
