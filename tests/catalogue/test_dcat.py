"""DCAT-AP / HealthDCAT-AP export: JSON-LD that meets the official DCAT-AP 3.0.1 SHACL shapes (pyshacl)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.runtime import Runtime
from catalogue.settings import Settings
from ingest.services import run_job, start_ingestion
from ingest.synthetic import simulate_cohort, write_sample_sheet
from tests.catalogue._shacl import shacl_report
from tests.factories import make_dac, make_dataset, make_organisation

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
HEALTH = "http://healthdataportal.eu/ns/health#"


@pytest.fixture
def published(session: Session) -> str:
    org = make_organisation(session)
    dac = make_dac(session)
    make_dataset(session, organisation_id=org.id, title="Draft only")
    return make_dataset(session, organisation_id=org.id, title="Heart genomes", publish=True,
                        security="CONTROLLED", dac_id=dac.id, dua_text="DUA", keywords=["heart"],
                        duo=["HMB", "IRB"]).id


def _expanded(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return jsonld.expand(doc)  # type: ignore[no-any-return]


def _values(node: dict[str, Any], prop: str) -> list[Any]:
    return [v.get("@value", v.get("@id")) for v in node.get(prop, [])]


def test_a_dataset_expands_to_a_dcat_dataset_with_the_mandatory_properties(
        client: TestClient, published: str) -> None:
    response = client.get(f"/api/datasets/{published}/dcat")
    assert response.headers["content-type"].startswith("application/ld+json")
    [node] = _expanded(response.json())
    assert node["@type"] == [f"{DCAT}Dataset"]
    assert _values(node, f"{DCT}title") == ["Heart genomes"]
    assert _values(node, f"{DCT}description")
    assert _values(node, f"{DCT}identifier") == [published]
    assert _values(node, f"{DCT}accessRights") == [
        "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC"]
    assert _values(node, f"{DCAT}keyword") == ["heart"]
    assert sorted(_values(node, f"{DCT}rights")) == [
        "http://purl.obolibrary.org/obo/DUO_0000006", "http://purl.obolibrary.org/obo/DUO_0000021"]
    [publisher] = node[f"{DCT}publisher"]
    assert _values(publisher, "http://xmlns.com/foaf/0.1/name") == ["Lab A"]
    assert node[f"{DCAT}contactPoint"]
    assert node["http://data.europa.eu/r5r/applicableLegislation"]


def test_the_catalogue_holds_only_published_datasets(client: TestClient, published: str) -> None:
    [catalog] = _expanded(client.get("/api/catalog.jsonld").json())
    assert catalog["@type"] == [f"{DCAT}Catalog"]
    assert _values(catalog, f"{DCT}title")
    assert catalog[f"{DCT}publisher"]
    datasets = catalog[f"{DCAT}dataset"]
    assert [_values(d, f"{DCT}identifier") for d in datasets] == [[published]]


def test_drafts_are_not_exported_to_anonymous_callers(client: TestClient, published: str) -> None:
    assert client.get("/api/datasets/GGD000001/dcat").status_code == 404


# --- the official DCAT-AP 3.0.1 SHACL shapes -----------------------------------------------------------------

@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The node states where its data come from and its metadata's licence (dct:spatial, dct:license)."""
    return settings.model_copy(update={"dcat_spatial": ["SWE", "NOR"], "dcat_licence": "CC0-1.0"})


@pytest.fixture
def harvested(session: Session, runtime: Runtime, tmp_path: Path) -> tuple[str, str]:
    """A CONTROLLED dataset with DUO terms, diseases, a licence and an ingested VCF; and a bare PUBLIC one."""
    org = make_organisation(session)
    dac = make_dac(session)
    rich = make_dataset(session, organisation_id=org.id, title="Heart genomes", publish=True, security="CONTROLLED",
                        dac_id=dac.id, dua_text="DUA", keywords=["heart"], duo=["DUO:0000007"],
                        disease_terms=["MONDO:0004994"], licence="CC-BY-4.0").id
    bare = make_dataset(session, organisation_id=org.id, title="Bare", publish=True, duo=[], description="").id
    cohort = simulate_cohort(tmp_path / "cohort.vcf.gz", samples=6, variants_per_contig=30, contigs=("1",), seed=3)
    with Session(runtime.engine, expire_on_commit=False) as own:
        job = start_ingestion(own, Caller.cli_operator(), rich, files=[cohort.path],
                              samples=write_sample_sheet(tmp_path / "samples.tsv", cohort))
    assert run_job(runtime.engine, job.id, store_root=runtime.settings.store_root).state == "succeeded"
    return rich, bare


def test_the_catalogue_and_each_dataset_meet_dcat_ap_with_no_violations(
        client: TestClient, harvested: tuple[str, str]) -> None:
    catalogue = shacl_report(client.get("/api/catalog.jsonld").json())
    assert catalogue.violations == [], catalogue
    for dataset_id in harvested:
        report = shacl_report(client.get(f"/api/datasets/{dataset_id}/dcat").json())
        assert report.violations == [], report
    # What is left are recommendations the catalogue has nothing for: the dataset's time period, the
    # publishers' kinds, the file's licence (the bare dataset has none), the countries' geometry.
    left = {line.split("  ")[1].rsplit("/", 1)[-1].rsplit("#", 1)[-1] for line in catalogue.warnings}
    assert left <= {"temporal", "type", "license", "bbox", "centroid", "keyword", "distribution"}, catalogue


def test_the_checksum_is_hex_binary_and_every_value_names_its_class(
        client: TestClient, harvested: tuple[str, str]) -> None:
    rich, _ = harvested
    [node] = _expanded(client.get(f"/api/datasets/{rich}/dcat").json())
    [distribution] = node[f"{DCAT}distribution"]
    [checksum] = distribution["http://spdx.org/rdf/terms#checksum"]
    [value] = checksum["http://spdx.org/rdf/terms#checksumValue"]
    assert value["@type"] == "http://www.w3.org/2001/XMLSchema#hexBinary" and len(value["@value"]) == 64
    for prop in (f"{DCT}accessRights", f"{DCAT}landingPage", f"{DCAT}theme", f"{DCT}conformsTo", f"{DCT}spatial",
                 "http://data.europa.eu/r5r/applicableLegislation", f"{DCT}license"):
        assert all("@type" in v for v in node[prop]), prop
    assert all("@type" in v for v in distribution[f"{DCT}format"] + distribution["http://data.europa.eu/r5r/availability"])


def test_health_dcat_ap_properties_come_from_the_index(client: TestClient, harvested: tuple[str, str]) -> None:
    rich, bare = harvested
    [node] = _expanded(client.get(f"/api/datasets/{rich}/dcat").json())
    assert _values(node, f"{HEALTH}numberOfUniqueIndividuals") == [6]
    records = client.get(f"/api/datasets/{rich}").json()["statistics"]["variants"]
    assert _values(node, f"{HEALTH}numberOfRecords") == [records] and records > 0
    [coverage] = _values(node, f"{HEALTH}populationCoverage")
    assert coverage.startswith("6 individuals") and "MONDO:0004994" in coverage
    assert sorted(_values(node, "https://w3id.org/dpv#hasPersonalData")) == [
        "https://w3id.org/dpv/pd#Genetic", "https://w3id.org/dpv/pd#Health"]
    assert _values(node, f"{HEALTH}healthTheme") == ["http://purl.obolibrary.org/obo/MONDO_0004994"]
    assert node[f"{HEALTH}healthCategory"]
    [empty] = _expanded(client.get(f"/api/datasets/{bare}/dcat").json())
    assert f"{HEALTH}numberOfUniqueIndividuals" not in empty and "https://w3id.org/dpv#hasPersonalData" not in empty


def test_the_oracle_finds_what_the_catalogue_used_to_send(client: TestClient, harvested: tuple[str, str]) -> None:
    """The shapes can fail: a checksum without its datatype and a landing page without its class are violations."""
    rich, _ = harvested
    doc = client.get(f"/api/datasets/{rich}/dcat").json()
    doc["@context"] = {k: v for k, v in doc["@context"].items() if k != "spdx:checksumValue"}
    doc["dcat:landingPage"] = {"@id": doc["dcat:landingPage"]["@id"]}
    paths = {line.split("  ")[1] for line in shacl_report(doc).violations}
    assert paths == {"http://spdx.org/rdf/terms#checksumValue", f"{DCAT}landingPage"}


@pytest.mark.parametrize("value", ["se", "SWEDEN", "SW1"])
def test_spatial_settings_must_be_country_codes(value: str) -> None:
    with pytest.raises(ValueError, match="three capital letters"):
        Settings(dcat_spatial=value)


def test_the_dac_that_decides_access_is_named_as_the_datasets_access_body(
        client: TestClient, published: str, settings: Settings) -> None:
    [node] = _expanded(client.get(f"/api/datasets/{published}/dcat").json())
    [dac] = node[f"{HEALTH}hdab"]
    dac_id = client.get(f"/api/datasets/{published}").json()["dac_id"]
    assert dac["@id"] == f"{settings.public_base_url}/api/dacs/{dac_id}"
    assert _values(dac, "http://xmlns.com/foaf/0.1/name") == [client.get(f"/api/dacs/{dac_id}").json()["name"]]
    assert _values(dac, "http://xmlns.com/foaf/0.1/homepage") == [f"{settings.public_base_url}/"]
    [catalog] = _expanded(client.get("/api/catalog.jsonld").json())
    assert [d[f"{HEALTH}hdab"][0]["@id"] for d in catalog[f"{DCAT}dataset"]] == [dac["@id"]]
