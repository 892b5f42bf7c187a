"""What GA4GH clients check of a Beacon: dataset records, how counts combine with yes/no answers, and an
individual's variants without a region, each validated against the official schemas."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from beacon import entries
from catalogue.models import Dataset, SecurityLevel
from tests.beacon._schemas import validate
from tests.beacon.conftest import Cohort
from tests.beacon.test_api import DATASET, ERROR, RESULTSETS, _variant, check
from tests.factories import make_dac, make_dataset, make_entitlement, make_organisation
from tests.ingest._tools import bcftools

B = "/beacon/v2"
COLLECTIONS = ("framework", "json", "responses", "beaconCollectionsResponse.json")
COUNT = ("framework", "json", "responses", "beaconCountResponse.json")
# A region of chromosome 1 that the simulated cohort fills with variants.
RANGE = {"referenceName": "1", "start": 0, "end": 10_000_000, "requestedGranularity": "count"}


def test_every_dataset_record_validates_with_and_without_duo_terms(client: TestClient, session: Session) -> None:
    org = make_organisation(session)
    dac = make_dac(session)
    with_terms = make_dataset(session, organisation_id=org.id, publish=True, title="With terms",
                              duo=["DUO:0000007", "DUO:0000021"], disease_terms=["MONDO:0004994"],
                              security=SecurityLevel.CONTROLLED, dac_id=dac.id, dua_text="use it well")
    without = make_dataset(session, organisation_id=org.id, publish=True, title="No terms", duo=[])
    body = client.get(f"{B}/datasets").json()
    validate(body, *COLLECTIONS)
    docs = {doc["id"]: doc for doc in body["response"]["collections"]}
    assert set(docs) == {with_terms.id, without.id}
    for doc in docs.values():
        validate(doc, *DATASET)
    assert "dataUseConditions" not in docs[without.id]
    assert docs[with_terms.id]["dataUseConditions"]["duoDataUse"] == [
        {"id": "DUO:0000007", "label": "disease specific research", "version": "2021-02-23"},
        {"id": "DUO:0000021", "label": "ethics approval required", "version": "2021-02-23"}]
    for dataset in (with_terms, without):
        one = client.get(f"{B}/datasets/{dataset.id}").json()
        validate(one, *COLLECTIONS)
        validate(one["response"]["collections"][0], *DATASET)


def test_an_empty_duo_list_fails_the_official_schema() -> None:
    """The oracle can fail: the record this Beacon used to send is refused by the schema."""
    from jsonschema import ValidationError

    with pytest.raises(ValidationError, match="should be non-empty|is too short"):
        validate({"id": "d", "name": "n", "dataUseConditions": {"duoDataUse": []}}, *DATASET)


@pytest.fixture
def yes_no_and_empty(session: Session, make_beacon_dataset: Callable[..., Dataset]) -> tuple[Dataset, Dataset]:
    """A CONTROLLED dataset answering anyone yes/no, holding the cohort; and a PUBLIC one (counts) holding nothing."""
    yes_no = make_beacon_dataset(SecurityLevel.CONTROLLED, "Yes/no cohort", count_threshold=0,
                                 beacon_granularity="boolean")
    org = make_organisation(session, suffix="B")
    empty = make_dataset(session, organisation_id=org.id, publish=True, title="Empty counts")
    return yes_no, empty


def test_a_yes_from_a_yes_no_dataset_gives_no_total(client: TestClient,
                                                    yes_no_and_empty: tuple[Dataset, Dataset]) -> None:
    yes_no, empty = yes_no_and_empty
    body = client.get(f"{B}/g_variants", params=RANGE).json()
    check(body)
    assert body["meta"]["returnedGranularity"] == "count"
    assert body["responseSummary"] == {"exists": True}  # not numTotalResults: 0
    levels = {d["datasetId"]: (d["returnedGranularity"], d["exists"]) for d in body["info"]["datasets"]}
    assert levels == {yes_no.id: ("boolean", True), empty.id: ("count", False)}
    assert "yes/no only" in body["info"]["numTotalResultsOmitted"]


def test_a_no_from_a_yes_no_dataset_keeps_the_total(client: TestClient, session: Session,
                                                    yes_no_and_empty: tuple[Dataset, Dataset],
                                                    make_beacon_dataset: Callable[..., Dataset]) -> None:
    yes_no, empty = yes_no_and_empty
    counted = make_beacon_dataset(SecurityLevel.PUBLIC, "Counted cohort", count_threshold=0)
    # Chromosome 22 holds nothing in any dataset: every answer is known, the total is 0.
    miss = client.get(f"{B}/g_variants", params={**RANGE, "referenceName": "22"}).json()
    check(miss)
    validate(miss, *COUNT)
    assert miss["responseSummary"] == {"exists": False, "numTotalResults": 0}
    # Only the counted datasets ask: their total is exact, and it is the index's.
    hit = client.get(f"{B}/g_variants", params={**RANGE, "datasetIds": f"{counted.id},{empty.id}"}).json()
    validate(hit, *COUNT)
    [counted_set] = [s for s in hit["response"]["resultSets"] if s["id"] == counted.id]
    assert hit["responseSummary"] == {"exists": True, "numTotalResults": counted_set["resultsCount"]}
    assert counted_set["resultsCount"] > 0
    # With the yes/no dataset's yes as well, the total is not known.
    everyone = client.get(f"{B}/g_variants", params=RANGE).json()
    validate(everyone, *RESULTSETS)
    assert everyone["responseSummary"] == {"exists": True}


def test_a_count_hidden_below_its_threshold_leaves_no_total(client: TestClient, session: Session,
                                                            make_beacon_dataset: Callable[..., Dataset]) -> None:
    hidden = make_beacon_dataset(SecurityLevel.PUBLIC, "Small counts", count_threshold=1_000)
    v = _variant(session, hidden.id)  # its carriers (at most the cohort's 40) are below the threshold
    body = client.get(f"{B}/g_variants", params={"referenceName": v.chrom, "start": v.pos - 1, "referenceBases": v.ref,
                                                 "alternateBases": v.alt, "requestedGranularity": "count"}).json()
    check(body)
    assert body["info"]["datasets"] == [{"datasetId": hidden.id, "returnedGranularity": "boolean", "exists": True,
                                         "countBelowThreshold": 1_000}]
    assert body["responseSummary"] == {"exists": True}


def _carried(cohort: Cohort, sample: str) -> list[str]:
    """Every PASS allele the sample carries, per bcftools, as `chrom:pos:ref:alt` of the split records."""
    with tempfile.TemporaryDirectory() as tmp:
        subset = f"{tmp}/s.vcf.gz"
        bcftools("view", "-f", "PASS,.", "-s", sample, "-O", "z", "-o", subset, cohort.cohort.path)
        split = f"{tmp}/split.vcf.gz"
        bcftools("norm", "-m", "-any", "-O", "z", "-o", split, subset)
        out = bcftools("query", "-i", 'GT="alt" && ALT!="*"', "-f", r"%CHROM:%POS:%REF:%ALT\n", split)
    return out.splitlines()


def _individual_variants(client: TestClient, sample: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(f"{B}/individuals/{sample}/g_variants", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    check(body)
    return body


def test_an_individuals_variants_without_a_region_are_all_it_carries_paged(
        client: TestClient, session: Session, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort,
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    make_entitlement(session, "alice", target.id)
    sample = cohort.cohort.samples[5]
    truth = _carried(cohort, sample)
    assert {line.split(":")[0] for line in truth} == {"chr1", "chr2", "chrX"}
    first = _individual_variants(client, sample, auth("alice"), limit=100)
    [result_set] = first["response"]["resultSets"]
    assert result_set["resultsCount"] == first["responseSummary"]["numTotalResults"] == len(truth)
    ids: list[str] = []
    skip = 0
    while skip < len(truth):
        page = _individual_variants(client, sample, auth("alice"), skip=skip, limit=100)
        results = page["response"]["resultSets"][0]["results"]
        assert len(results) == min(100, len(truth) - skip)
        assert all(r["caseLevelData"] == [{"biosampleId": sample, "individualId": sample,
                                           "zygosity": r["caseLevelData"][0]["zygosity"]}] for r in results)
        ids += [r["variantInternalId"] for r in results]
        skip += 100
    assert len(set(ids)) == len(ids) == len(truth)
    # Single-base substitutions need no trimming: they name the same alleles as bcftools does.
    snvs = {line.removeprefix("chr") for line in truth
            if len(line.split(":")[2]) == len(line.split(":")[3]) == 1}
    assert snvs and snvs <= {i.removeprefix("GRCh38:") for i in ids}
    # A region still narrows it to that region's alleles.
    chr2 = _individual_variants(client, sample, auth("alice"), referenceName="2", start=0, end=240_000_000,
                                limit=1)
    assert chr2["responseSummary"]["numTotalResults"] == sum(1 for line in truth if line.startswith("chr2:"))


def test_without_a_region_a_dataset_too_large_to_read_through_asks_for_one(
        client: TestClient, session: Session, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort,
        auth: Callable[[str], dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    make_entitlement(session, "alice", target.id)
    monkeypatch.setattr(entries, "MAX_STREAMED", 100)
    response = client.get(f"{B}/individuals/{cohort.cohort.samples[0]}/g_variants", headers=auth("alice"))
    assert response.status_code == 400
    validate(response.json(), *ERROR)
    message = response.json()["error"]["errorMessage"]
    assert message.startswith("referenceName") and "more than the 100 read through" in message


def test_without_a_region_nothing_is_read_for_a_caller_without_record_rights(
        client: TestClient, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort,
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.PUBLIC, "Public", count_threshold=0)
    body = _individual_variants(client, cohort.cohort.samples[0], auth("bob"))
    assert body["responseSummary"] == {"exists": False}
    assert body["info"]["excludedDatasets"] == [
        {"datasetId": target.id, "reason": "an individual's genotypes need record-level rights"}]
