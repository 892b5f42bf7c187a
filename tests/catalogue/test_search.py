"""Catalogue search: free text, filters, facets, paging and stable order, over the real HTTP API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.models import Role
from tests.factories import grant, make_dac, make_dataset, make_organisation


@pytest.fixture
def catalogue(session: Session) -> dict[str, str]:
    a = make_organisation(session, suffix="A")
    b = make_organisation(session, suffix="B")
    dac = make_dac(session)
    make_dataset(session, organisation_id=a.id, title="Finnish cardiomyopathy exomes", publish=True,
                 assembly="GRCh38", duo=["HMB", "IRB"], keywords=["heart", "exome"])
    make_dataset(session, organisation_id=a.id, title="Estonian biobank genomes", publish=True,
                 assembly="GRCh37", security="CONTROLLED", dac_id=dac.id, dua_text="DUA",
                 duo=["GRU"], description="Whole genomes of 2,504 donors")
    make_dataset(session, organisation_id=b.id, title="Rare disease trios", publish=True,
                 assembly="GRCh38", security="REGISTERED", duo=["DS"], disease_terms=["MONDO:0019501"])
    make_dataset(session, organisation_id=b.id, title="Unreleased pilot 100% draft", assembly="GRCh38")
    grant(session, "steward-b@example.org", Role.steward, org=b.id)
    return {"a": a.id, "b": b.id}


def _ids(response: object) -> list[str]:
    return [d["id"] for d in response.json()["data"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["GGD000001", "GGD000002", "GGD000003"]),
    ({"q": "BIOBANK"}, ["GGD000002"]),
    ({"q": "genomes"}, ["GGD000001", "GGD000002", "GGD000003"]),
    ({"q": "2,504 donors"}, ["GGD000002"]),
    ({"q": "heart"}, ["GGD000001"]),
    ({"q": "exomes finnish"}, ["GGD000001"]),
    ({"q": "exomes estonian"}, []),
    ({"q": "100%"}, []),  # the draft matches only for its stewards; % is literal, not a wildcard
    ({"assembly": "GRCh38"}, ["GGD000001", "GGD000003"]),
    ({"security": "CONTROLLED,REGISTERED"}, ["GGD000002", "GGD000003"]),
    ({"duo": "HMB"}, ["GGD000001"]),
    ({"duo": "DUO:0000007"}, ["GGD000003"]),
    ({"organisation": "GGO000002"}, ["GGD000003"]),
    ({"assembly": "GRCh38", "duo": "GRU"}, []),
])
def test_filters_and_free_text(client: TestClient, catalogue: dict[str, str], params: dict[str, str],
                               expected: list[str]) -> None:
    response = client.get("/api/datasets", params=params)
    assert response.status_code == 200
    assert _ids(response) == expected
    assert response.json()["count"] == len(expected)


def test_facets_count_the_matching_datasets(client: TestClient, catalogue: dict[str, str]) -> None:
    facets = client.get("/api/datasets").json()["facets"]
    assert facets["assembly"] == {"GRCh37": 1, "GRCh38": 2}
    assert facets["security"] == {"CONTROLLED": 1, "PUBLIC": 1, "REGISTERED": 1}
    assert facets["organisation"] == {"GGO000001": 2, "GGO000002": 1}
    assert facets["duo"] == {"DUO:0000006": 1, "DUO:0000007": 1, "DUO:0000021": 1, "DUO:0000042": 1}
    narrowed = client.get("/api/datasets", params={"assembly": "GRCh38"}).json()["facets"]
    assert narrowed["security"] == {"PUBLIC": 1, "REGISTERED": 1}


def test_stewards_find_their_drafts(client: TestClient, catalogue: dict[str, str],
                                    auth: Callable[[str], dict[str, str]]) -> None:
    found = client.get("/api/datasets", params={"q": "100%"}, headers=auth("steward-b@example.org"))
    assert _ids(found) == ["GGD000004"]
    facets = client.get("/api/datasets", headers=auth("steward-b@example.org")).json()["facets"]
    assert facets["organisation"] == {"GGO000001": 2, "GGO000002": 2}


def test_paging_is_stable_and_counts_everything(client: TestClient, catalogue: dict[str, str]) -> None:
    pages = [client.get("/api/datasets", params={"limit": 2, "offset": o}).json() for o in (0, 2, 4)]
    assert [_ids_of(p) for p in pages] == [["GGD000001", "GGD000002"], ["GGD000003"], []]
    assert all(p["count"] == 3 for p in pages)


def _ids_of(page: dict[str, object]) -> list[str]:
    return [d["id"] for d in page["data"]]  # type: ignore[attr-defined, index]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 1000}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset"),
    ({"assembly": "hg19"}, "assembly"), ({"security": "open"}, "security"), ({"duo": "XYZ"}, "duo"),
    ({"status": "deleted"}, "status"), ({"q": "w " * 30}, "q"),
])
def test_bad_search_parameters_are_4xx_naming_the_parameter(
        client: TestClient, catalogue: dict[str, str], params: dict[str, object], field: str) -> None:
    response = client.get("/api/datasets", params=params)
    assert response.status_code == 422
    assert field in response.text
