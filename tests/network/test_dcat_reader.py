"""Reading a peer's DCAT-AP catalogue: what this node's own catalogue says comes back typed; a broken one is refused
naming what is wrong."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.dcat import CONTEXT
from catalogue.settings import Settings
from network.dcat_reader import InvalidCatalogue, read_catalogue
from tests.factories import make_dac, make_dataset, make_organisation


@pytest.fixture
def catalogue(client: TestClient, session: Session) -> dict[str, Any]:
    """This node's real catalogue: a CONTROLLED dataset with conditions, diseases and keywords, and a PUBLIC one."""
    org = make_organisation(session, name="Heart Lab")
    dac = make_dac(session, name="Nordic Heart DAC")
    make_dataset(session, organisation_id=org.id, title="Heart genomes", publish=True, security="CONTROLLED",
                 dac_id=dac.id, dua_text="DUA", keywords=["heart", "wgs"], duo=["DUO:0000007", "DUO:0000021"],
                 disease_terms=["MONDO:0004994"], description="Whole genomes of a heart cohort",
                 assembly="GRCh37")
    make_dataset(session, organisation_id=org.id, title="Open panel", publish=True, duo=[])
    make_dataset(session, organisation_id=org.id, title="A draft")  # not in the catalogue
    response = client.get("/api/catalog.jsonld")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def test_this_nodes_catalogue_reads_back_as_it_was_registered(
        catalogue: dict[str, Any], client: TestClient, settings: Settings) -> None:
    heart, panel = read_catalogue(catalogue, max_datasets=10)
    record = client.get(f"/api/datasets/{heart.dataset_id}").json()
    base = settings.public_base_url
    assert (heart.title, heart.description, heart.assembly) == (record["title"], record["description"], "GRCh37")
    assert heart.iri == f"{base}/api/datasets/{record['id']}"
    assert heart.landing_page == f"{base}/datasets/{record['id']}"
    assert heart.keywords == ("heart", "wgs")
    assert sorted(heart.duo) == sorted(record["duo"]) == ["DUO:0000007", "DUO:0000021"]
    assert heart.health_themes == ("MONDO:0004994",)
    assert heart.themes == ("http://publications.europa.eu/resource/authority/data-theme/HEAL",)
    assert heart.security == "CONTROLLED"
    assert heart.access_rights == "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC"
    assert (heart.dac_name, heart.dac_iri, heart.dac_node_url) == (
        "Nordic Heart DAC", f"{base}/api/dacs/{record['dac_id']}", base)
    assert (heart.publisher, heart.publisher_iri) == (
        "Heart Lab", f"{base}/api/organisations/{record['organisation_id']}")
    assert heart.issued == datetime.fromisoformat(record["published_at"])
    assert heart.modified == datetime.fromisoformat(record["updated_at"])
    assert heart.raw["dct:identifier"] == record["id"] and heart.raw["@type"] == "dcat:Dataset"
    assert (panel.title, panel.security, panel.duo, panel.dac_name) == ("Open panel", "PUBLIC", (), None)


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]
    return change


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return change


def _same_identifier(doc: dict[str, Any]) -> None:
    doc["dcat:dataset"][1]["dct:identifier"] = doc["dcat:dataset"][0]["dct:identifier"]


def _two_catalogues(doc: dict[str, Any]) -> None:
    other = copy.deepcopy(doc)
    other["@id"] += "#other"
    other.pop("@context")
    doc.clear()
    doc.update({"@context": CONTEXT, "@graph": [{**copy.deepcopy(other), "@id": "http://x/1"}, other]})


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no catalogue title", _drop(("dct:title",)), "dcat:Catalog has no dct:title"),
    ("no catalogue description", _drop(("dct:description",)), "dcat:Catalog has no dct:description"),
    ("no catalogue publisher", _drop(("dct:publisher",)), "dcat:Catalog has no dct:publisher"),
    ("not a catalogue", _set(("@type",), "dcat:Dataset"), "holds 0 dcat:Catalog"),
    ("two catalogues", _two_catalogues, "holds 2 dcat:Catalog"),
    ("no dataset title", _drop(("dcat:dataset", 0, "dct:title")), "has no dct:title"),
    ("no dataset description", _drop(("dcat:dataset", 1, "dct:description")), "has no dct:description"),
    ("no identifier", _drop(("dcat:dataset", 0, "dct:identifier")), "has no dct:identifier"),
    ("identifier with a slash", _set(("dcat:dataset", 0, "dct:identifier"), "../x"), "dct:identifier is not"),
    ("same identifier twice", _same_identifier, "two datasets have the identifier"),
    ("a blank dataset", _drop(("dcat:dataset", 0, "@id")), "no IRI"),
    ("a dataset that is not one", _set(("dcat:dataset", 0, "@type"), "dcat:Distribution"), "is not a dcat:Dataset"),
    ("a date that is not one", _set(("dcat:dataset", 0, "dct:issued"), "last tuesday"), "issued is not a date"),
    ("a remote context", _set(("@context",), "https://example.org/context.jsonld"), "not valid JSON-LD"),
    ("a context that is not one", _set(("@context",), 5), "not valid JSON-LD"),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_a_broken_catalogue_is_refused_naming_what_is_wrong(
        catalogue: dict[str, Any], change: Callable[[dict[str, Any]], None], expected: str) -> None:
    read_catalogue(catalogue, max_datasets=10)  # whole, it reads
    change(catalogue)
    with pytest.raises(InvalidCatalogue, match=expected):
        read_catalogue(catalogue, max_datasets=10)


def test_more_datasets_than_are_kept_is_refused(catalogue: dict[str, Any]) -> None:
    assert len(read_catalogue(catalogue, max_datasets=2)) == 2
    with pytest.raises(InvalidCatalogue, match="lists 2 datasets, more than the 1 kept"):
        read_catalogue(catalogue, max_datasets=1)


@pytest.mark.parametrize("document", ["a string", 42, None])
def test_a_document_that_is_not_json_ld_is_refused(document: Any) -> None:
    with pytest.raises(InvalidCatalogue, match="not a JSON-LD object"):
        read_catalogue(document, max_datasets=10)


def test_only_http_links_are_kept_and_long_texts_are_cut(catalogue: dict[str, Any]) -> None:
    node = catalogue["dcat:dataset"][0]
    node["dcat:landingPage"] = {"@id": "javascript:alert(1)"}
    node["dct:title"] = "t" * 5_000
    node["healthdcatap:hdab"]["foaf:homepage"] = {"@id": "ftp://dac.example/"}
    heart = read_catalogue(catalogue, max_datasets=10)[0]
    assert heart.landing_page is None and heart.dac_node_url is None
    assert heart.title == "t" * 1_000
