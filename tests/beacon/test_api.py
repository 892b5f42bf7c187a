"""The Beacon over HTTP: every endpoint and query shape validates against the official schemas; errors too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from access.models import AuditEvent
from catalogue.models import Variant
from tests.beacon._schemas import validate
from tests.beacon.conftest import Datasets
from tests.factories import make_entitlement

B = "/beacon/v2"
RESULTSETS = ("framework", "json", "responses", "beaconResultsetsResponse.json")
BOOLEAN = ("framework", "json", "responses", "beaconBooleanResponse.json")
ERROR = ("framework", "json", "responses", "beaconErrorResponse.json")
G_VARIANT = ("models", "json", "beacon-v2-default-model", "genomicVariations", "defaultSchema.json")
INDIVIDUAL = ("models", "json", "beacon-v2-default-model", "individuals", "defaultSchema.json")
DATASET = ("models", "json", "beacon-v2-default-model", "datasets", "defaultSchema.json")


def _variant(session: Session, dataset_id: str, **where: Any) -> Variant:
    query = select(Variant).where(Variant.dataset_id == dataset_id, col(Variant.ac) > 0)
    for name, value in where.items():
        query = query.where(getattr(Variant, name) == value)
    found = session.exec(query.order_by(col(Variant.pos))).first()
    assert found is not None
    return found


def check(body: dict[str, Any]) -> None:
    """Validate a variant/individual answer against the envelope its granularity calls for, and its records."""
    granularity = body["meta"]["returnedGranularity"]
    validate(body, *(RESULTSETS if granularity != "boolean" else BOOLEAN))
    for result_set in body.get("response", {}).get("resultSets", []):
        for record in result_set["results"]:
            entity = body["meta"]["returnedSchemas"][0]["entityType"]
            validate(record, *(G_VARIANT if entity == "genomicVariation" else INDIVIDUAL))


def test_a_sequence_query_finds_the_variant_at_each_granularity(
        client: TestClient, session: Session, datasets: Datasets, auth: Callable[[str], dict[str, str]]) -> None:
    v = _variant(session, datasets.public.id, variant_type="SNV")
    make_entitlement(session, "alice", datasets.public.id)
    params = {"referenceName": f"chr{v.chrom}", "start": v.pos - 1, "referenceBases": v.ref, "alternateBases": v.alt,
              "datasetIds": datasets.public.id}
    for granularity, headers in (("boolean", {}), ("count", {}), ("record", auth("alice"))):
        r = client.get(f"{B}/g_variants", params={**params, "requestedGranularity": granularity}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        check(body)
        assert body["meta"]["returnedGranularity"] == granularity
        assert body["responseSummary"]["exists"] is True
        if granularity != "boolean":
            assert body["responseSummary"]["numTotalResults"] == 1
            assert body["response"]["resultSets"][0]["info"]["alleleCount"] == v.ac
    record = body["response"]["resultSets"][0]["results"][0]
    assert record["variantInternalId"] == f"GRCh38:{v.chrom}:{v.pos}:{v.ref}:{v.alt}"
    assert record["variation"]["location"]["interval"]["start"]["value"] == v.pos - 1
    assert len(record["caseLevelData"]) == v.het + v.hom_alt + v.hemi_alt
    assert {c["zygosity"]["id"] for c in record["caseLevelData"]} <= {"GENO:0000458", "GENO:0000136", "GENO:0000134"}
    assert body["response"]["resultSets"][0]["resultsHandovers"][0]["url"].startswith(
        f"http://testserver/htsget/variants/{datasets.public.id}?referenceName={v.chrom}")
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "beacon.record_query")).all()
    assert [(e.actor, e.dataset_id) for e in events] == [("alice", datasets.public.id)]


QUERY_SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("range", {"referenceName": "1", "start": 0, "end": 200_000}),
    ("range with type", {"referenceName": "1", "start": 0, "end": 10_000_000, "variantType": "DEL"}),
    ("range with alt", {"referenceName": "NC_000001.11", "start": 0, "end": 10_000_000, "alternateBases": "T"}),
    ("bracket", {"referenceName": "chr1", "start": "0,5000000", "end": "0,10000000"}),
    ("lengths", {"referenceName": "1", "start": 0, "end": 10_000_000, "variantMinLength": 2,
                 "variantMaxLength": 50}),
    ("wildcard", {"referenceName": "1", "start": 0, "end": 10_000_000, "alternateBases": "N"}),
    ("assembly", {"referenceName": "1", "start": 0, "end": 10_000_000, "assemblyId": "GRCh38"}),
    ("other assembly", {"referenceName": "1", "start": 0, "end": 10_000_000, "assemblyId": "GRCh37"}),
    ("population", {"referenceName": "1", "start": 0, "end": 10_000_000, "filters": "population:EUR"}),
    ("sex", {"referenceName": "X", "start": 0, "end": 150_000_000, "filters": "NCIT:C16576"}),
    ("miss", {"referenceName": "22", "start": 0, "end": 100, "includeResultsetResponses": "ALL"}),
]


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
def test_every_query_shape_validates_at_every_granularity(
        client: TestClient, session: Session, datasets: Datasets, auth: Callable[[str], dict[str, str]],
        granularity: str) -> None:
    make_entitlement(session, "alice", datasets.controlled.id)
    for name, params in QUERY_SHAPES:
        r = client.get(f"{B}/g_variants", params={**params, "requestedGranularity": granularity},
                       headers=auth("alice"))
        assert r.status_code == 200, (name, r.text)
        check(r.json())
    body = client.post(f"{B}/g_variants", json={
        "meta": {"apiVersion": "v2.0.0"},
        "query": {"requestParameters": {"g_variant": {"referenceName": "1", "start": [0], "end": [10_000_000]}},
                  "requestedGranularity": granularity, "pagination": {"skip": 0, "limit": 5}}},
        headers=auth("alice")).json()
    check(body)
    assert body["meta"]["receivedRequestSummary"]["requestParameters"]["g_variant"]["referenceName"] == "1"


def test_flat_and_nested_post_bodies_give_the_same_answer(client: TestClient, datasets: Datasets) -> None:
    flat = {"referenceName": "1", "start": [0], "end": [3_000_000]}
    nested = {"g_variant": flat}
    answers = [client.post(f"{B}/g_variants", json={"query": {"requestParameters": p,
                                                               "requestedGranularity": "count"}}).json()
               for p in (flat, nested)]
    assert answers[0]["responseSummary"] == answers[1]["responseSummary"]
    assert answers[0]["response"] == answers[1]["response"]
    assert answers[0]["response"]["resultSets"][0]["resultsCount"] > 0


FRAMEWORK = [
    ("/", ("framework", "json", "responses", "beaconInfoResponse.json")),
    ("/info", ("framework", "json", "responses", "beaconInfoResponse.json")),
    ("/service-info", ("framework", "json", "responses", "ga4gh-service-info-1-0-0-schema.json")),
    ("/configuration", ("framework", "json", "responses", "beaconConfigurationResponse.json")),
    ("/map", ("framework", "json", "responses", "beaconMapResponse.json")),
    ("/entry_types", ("framework", "json", "responses", "beaconEntryTypesResponse.json")),
    ("/filtering_terms", ("framework", "json", "responses", "beaconFilteringTermsResponse.json")),
    ("/datasets", ("framework", "json", "responses", "beaconCollectionsResponse.json")),
]


@pytest.mark.parametrize(("path", "schema"), FRAMEWORK)
def test_framework_endpoints_validate(client: TestClient, datasets: Datasets, path: str,
                                     schema: tuple[str, ...]) -> None:
    r = client.get(B + path)
    assert r.status_code == 200, r.text
    validate(r.json(), *schema)
    if path == "/datasets":
        assert [d["id"] for d in r.json()["response"]["collections"]] == sorted(
            [datasets.public.id, datasets.registered.id, datasets.controlled.id])
        for doc in r.json()["response"]["collections"]:
            validate(doc, *DATASET)


def test_dataset_individual_and_variant_entry_endpoints_validate(
        client: TestClient, session: Session, datasets: Datasets, auth: Callable[[str], dict[str, str]]) -> None:
    make_entitlement(session, "alice", datasets.controlled.id)
    v = _variant(session, datasets.controlled.id, variant_type="SNV")
    vid = f"GRCh38:{v.chrom}:{v.pos}:{v.ref}:{v.alt}"
    headers = auth("alice")
    one = client.get(f"{B}/datasets/{datasets.public.id}")
    validate(one.json(), "framework", "json", "responses", "beaconCollectionsResponse.json")
    for path in (f"/datasets/{datasets.controlled.id}/g_variants?referenceName=1&start=0&end=5000000",
                 f"/g_variants/{vid}", f"/g_variants/{vid}/individuals", "/individuals",
                 "/individuals?filters=NCIT:C16576"):
        for granularity in ("boolean", "count", "record"):
            sep = "&" if "?" in path else "?"
            r = client.get(f"{B}{path}{sep}requestedGranularity={granularity}", headers=headers)
            assert r.status_code == 200, (path, r.text)
            check(r.json())
    r = client.get(f"{B}/g_variants/{vid}/individuals?requestedGranularity=record", headers=headers).json()
    carriers = {x["id"] for rs in r["response"]["resultSets"] if rs["id"] == datasets.controlled.id
                for x in rs["results"]}
    assert len(carriers) == min(v.het + v.hom_alt + v.hemi_alt, 10)
    sample = next(iter(carriers))
    r = client.get(f"{B}/individuals/{sample}?requestedGranularity=record", headers=headers)
    check(r.json())
    by_set = {rs["id"]: rs for rs in r.json()["response"]["resultSets"]}
    assert by_set[datasets.controlled.id]["results"][0]["id"] == sample
    assert by_set[datasets.public.id]["results"] == []  # counts only: no record rights there


def test_test_mode_answers_from_synthetic_data_only(client: TestClient, datasets: Datasets) -> None:
    r = client.get(f"{B}/g_variants", params={"referenceName": "1", "start": 0, "end": 10_000_000,
                                               "testMode": "true", "requestedGranularity": "record"})
    body = r.json()
    check(body)
    assert [rs["id"] for rs in body["response"]["resultSets"]] == ["TEST-DATASET"]
    assert body["meta"]["testMode"] is True


ERRORS: list[tuple[dict[str, Any], int, str]] = [
    ({"referenceName": "1", "start": 100, "end": 50}, 400, "start"),
    ({"referenceName": "1", "start": 100, "end": 100}, 400, "end"),
    ({"referenceName": "1", "start": 5, "referenceBases": "AZ", "alternateBases": "G"}, 400, "referenceBases"),
    ({"referenceName": "1", "start": 5, "referenceBases": "A", "alternateBases": "?"}, 400, "alternateBases"),
    ({"referenceName": "chr99", "start": 5, "referenceBases": "A", "alternateBases": "G"}, 400, "referenceName"),
    ({"referenceName": "1", "start": -1, "end": 5}, 400, "start"),
    ({"referenceName": "1", "start": 300_000_000, "end": 300_000_001}, 400, "start"),
    ({"referenceName": "1", "start": "x", "end": 5}, 400, "start"),
    ({"referenceName": "1", "start": 5, "referenceBases": "A"}, 400, "alternateBases"),
    ({"referenceName": "1", "start": "1,2,3", "end": 5}, 400, "start"),
    ({"referenceName": "1", "start": "5,1", "end": "1,9"}, 400, "start"),
    ({"referenceName": "1", "start": 0, "end": 9, "datasetIds": "GGD999999"}, 400, "datasetIds"),
    ({"referenceName": "1", "start": 0, "end": 9, "limit": 100_000}, 400, "limit"),
    ({"referenceName": "1", "start": 0, "end": 9, "skip": -1}, 400, "skip"),
    ({"referenceName": "1", "start": 0, "end": 9, "requestedGranularity": "everything"}, 400, "requestedGranularity"),
    ({"referenceName": "1", "start": 0, "end": 9, "filters": "FOO:1"}, 400, "filters"),
    ({"referenceName": "1", "start": 0, "end": 9, "variantType": "WOBBLE"}, 400, "variantType"),
    ({"referenceName": "1", "start": 0, "end": 9, "assemblyId": "hg99"}, 400, "assemblyId"),
    ({"referenceName": "1", "start": 0, "end": 9, "colour": "blue"}, 400, "colour"),
    ({"referenceName": "1", "start": 0, "end": 9, "variantMinLength": 9, "variantMaxLength": 2}, 400,
     "variantMinLength"),
    ({"start": 0, "end": 9}, 400, "referenceName"),
    ({}, 400, "referenceName"),
    ({"aminoacidChange": "hello"}, 400, "aminoacidChange"),
    ({"referenceName": "18", "start": 90_000_000, "referenceBases": "T", "alternateBases": "G"}, 400, "start"),
    ({"referenceName": "18", "start": 80_000_000, "referenceBases": "T", "alternateBases": "G",
      "assemblyId": "GRCh37"}, 400, "start"),
    ({"allele": "NC_000001.11:g.100del"}, 400, "genomicAlleleShortForm"),
]


@pytest.mark.parametrize(("params", "status", "field"), ERRORS)
def test_bad_parameters_get_a_beacon_error_naming_the_parameter(
        client: TestClient, datasets: Datasets, params: dict[str, Any], status: int, field: str) -> None:
    r = client.get(f"{B}/g_variants", params=params)
    assert r.status_code == status, r.text
    body = r.json()
    validate(body, *ERROR)
    assert body["error"]["errorCode"] == status
    assert body["error"]["errorMessage"].startswith(f"{field}:"), body["error"]["errorMessage"]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("get", "/datasets/GGD999999", {}, 404),
    ("get", "/datasets/GGD999999/g_variants?referenceName=1&start=0&end=5", {}, 404),
    ("get", "/no_such_endpoint", {}, 404),
    ("post", "/g_variants", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
    ("post", "/g_variants", {"json": [1, 2]}, 400),
    ("post", "/g_variants", {"json": {"query": {"requestParameters": {"g_variant": {"colour": 1}}}}}, 400),
    ("get", "/g_variants/not-an-id", {}, 400),
    ("get", "/g_variants?referenceName=1&start=0&end=5", {"headers": {"Authorization": "Bearer nope"}}, 401),
    ("delete", "/g_variants", {}, 405),
])
def test_other_errors_are_beacon_errors_too(client: TestClient, datasets: Datasets, method: str, path: str,
                                            kwargs: dict[str, Any], status: int) -> None:
    r = getattr(client, method)(B + path, **kwargs)
    assert r.status_code == status, r.text
    validate(r.json(), *ERROR)
    assert r.json()["error"]["errorCode"] == status


def test_a_position_past_one_assemblys_chromosome_asks_about_the_others(client: TestClient,
                                                                        datasets: Datasets) -> None:
    """chr18 is 78,077,248 bases in GRCh37 and 80,373,285 in GRCh38: without assemblyId, a position between
    the two is a question about GRCh38 (answered, not refused); past both, it is refused naming `start`."""
    r = client.get(f"{B}/g_variants", params={"referenceName": "18", "start": 80_000_000, "referenceBases": "T",
                                              "alternateBases": "G", "requestedGranularity": "boolean"})
    assert r.status_code == 200, r.text
    assert r.json()["responseSummary"]["exists"] is False
    assert r.json()["meta"]["receivedRequestSummary"]["requestParameters"]["g_variant"]["referenceName"] == "18"
