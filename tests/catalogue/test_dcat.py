"""DCAT-AP / HealthDCAT-AP export: valid JSON-LD carrying the mandatory properties."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from sqlmodel import Session

from tests.factories import make_dac, make_dataset, make_organisation

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"


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
