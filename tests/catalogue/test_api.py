"""The catalogue's HTTP API: who may do what (allowed and refused), validation, visibility."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from catalogue.models import Dataset, Role
from tests.factories import grant, make_dac, make_dataset, make_organisation

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def lab(session: Session) -> dict[str, str]:
    """Two organisations with a steward each, a DAC, and an admin."""
    a = make_organisation(session, suffix="A")
    b = make_organisation(session, suffix="B")
    dac = make_dac(session)
    grant(session, "steward-a@example.org", Role.steward, org=a.id)
    grant(session, "steward-b@example.org", Role.steward, org=b.id)
    grant(session, "admin@example.org", Role.admin)
    return {"a": a.id, "b": b.id, "dac": dac.id}


def _dataset(lab: dict[str, str], **overrides: object) -> dict[str, object]:
    return {"title": "1000 genomes of Lab A", "assembly": "GRCh38", "security": "PUBLIC",
            "organisation_id": lab["a"], "duo": ["GRU"], "keywords": ["WGS"], **overrides}


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["schema"]["current"] == ready.json()["schema"]["head"]


def test_steward_registers_a_draft_that_only_stewards_and_admins_see(
        client: TestClient, lab: dict[str, str], auth: Auth) -> None:
    created = client.post("/api/datasets", json=_dataset(lab), headers=auth("steward-a@example.org"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == "GGD000001"
    assert body["status"] == "draft"
    assert body["duo"] == ["DUO:0000042"]
    url = f"/api/datasets/{body['id']}"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=auth("steward-b@example.org")).status_code == 404
    assert client.get(url, headers=auth("researcher@example.org")).status_code == 404
    assert client.get(url, headers=auth("steward-a@example.org")).status_code == 200
    assert client.get(url, headers=auth("admin@example.org")).status_code == 200
    assert client.get("/api/datasets").json()["count"] == 0
    assert client.get("/api/datasets", headers=auth("steward-a@example.org")).json()["count"] == 1


def test_publishing_makes_metadata_public_and_retiring_leaves_a_tombstone(
        client: TestClient, lab: dict[str, str], auth: Auth) -> None:
    steward = auth("steward-a@example.org")
    dataset_id = client.post("/api/datasets", json=_dataset(lab), headers=steward).json()["id"]
    assert client.post(f"/api/datasets/{dataset_id}/publish", headers=steward).json()["status"] == "published"
    assert client.get(f"/api/datasets/{dataset_id}").json()["title"] == "1000 genomes of Lab A"
    assert client.get("/api/datasets").json()["count"] == 1
    again = client.post(f"/api/datasets/{dataset_id}/publish", headers=steward)
    assert again.status_code == 409
    assert "only a draft can be published" in again.json()["detail"]
    assert client.post(f"/api/datasets/{dataset_id}/retire", headers=steward).json()["status"] == "retired"
    assert client.get(f"/api/datasets/{dataset_id}").json()["status"] == "retired"
    assert client.get("/api/datasets").json()["count"] == 0


@pytest.mark.parametrize(("who", "status"), [
    (None, 401), ("researcher@example.org", 403), ("steward-b@example.org", 403),
    ("steward-a@example.org", 201), ("admin@example.org", 201),
])
def test_who_may_register_a_dataset_for_an_organisation(
        client: TestClient, lab: dict[str, str], auth: Auth, who: str | None, status: int) -> None:
    response = client.post("/api/datasets", json=_dataset(lab), headers=auth(who) if who else {})
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("who", "status"), [
    (None, 401), ("researcher@example.org", 403), ("steward-b@example.org", 403),
    ("steward-a@example.org", 200), ("admin@example.org", 200),
])
def test_who_may_change_and_publish_a_published_dataset(
        client: TestClient, session: Session, lab: dict[str, str], auth: Auth, who: str | None,
        status: int) -> None:
    dataset = make_dataset(session, organisation_id=lab["a"], publish=True)
    headers = auth(who) if who else {}
    changed = client.patch(f"/api/datasets/{dataset.id}", json={"title": "Renamed"}, headers=headers)
    assert changed.status_code == status
    if status == 200:
        assert changed.json()["version"] == 2
    retired = client.post(f"/api/datasets/{dataset.id}/retire", headers=headers)
    assert retired.status_code == status


@pytest.mark.parametrize(("overrides", "field", "reason"), [
    ({"duo": ["DUO:9999999"]}, "duo", "unknown DUO term"),
    ({"duo": ["GRU", "HMB"]}, "duo", "exactly one permission"),
    ({"duo": ["DS"]}, "disease_terms", "needs at least one disease term"),
    ({"duo": ["DS"], "disease_terms": ["cancer"]}, "disease_terms", "not a CURIE"),
    ({"security": "CONTROLLED"}, "dac_id", "needs a data access committee"),
    ({"assembly": "hg19"}, "assembly", "GRCh37"),
    ({"security": "SECRET"}, "security", "PUBLIC"),
    ({"title": "x" * 301}, "title", "at most 300 characters"),
    ({"title": ""}, "title", "at least 1 character"),
    ({"keywords": ["ok", "y" * 101]}, "keywords", "1 to 100 characters"),
    ({"dac_id": "GGC999999"}, "dac_id", "does not exist"),
    ({"organisation_id": "GGO999999"}, "organisation_id", "does not exist"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
        client: TestClient, session: Session, lab: dict[str, str], auth: Auth,
        overrides: dict[str, object], field: str, reason: str) -> None:
    response = client.post("/api/datasets", json=_dataset(lab, **overrides), headers=auth("admin@example.org"))
    assert 400 <= response.status_code < 500, response.text
    problem = response.json()
    assert problem["status"] == response.status_code
    assert field in (problem.get("field") or problem["detail"])
    assert reason in problem["detail"]
    assert session.exec(select(func.count()).select_from(Dataset)).one() == 0


def test_duplicate_title_in_one_organisation_is_a_conflict(
        client: TestClient, lab: dict[str, str], auth: Auth) -> None:
    admin = auth("admin@example.org")
    assert client.post("/api/datasets", json=_dataset(lab), headers=admin).status_code == 201
    clash = client.post("/api/datasets", json=_dataset(lab), headers=admin)
    assert clash.status_code == 409
    assert "already has a dataset titled" in clash.json()["detail"]
    other_org = client.post("/api/datasets", json=_dataset(lab, organisation_id=lab["b"]), headers=admin)
    assert other_org.status_code == 201


def test_controlled_dataset_needs_its_agreement_before_publishing(
        client: TestClient, lab: dict[str, str], auth: Auth) -> None:
    admin = auth("admin@example.org")
    body = _dataset(lab, security="CONTROLLED", dac_id=lab["dac"])
    dataset_id = client.post("/api/datasets", json=body, headers=admin).json()["id"]
    refused = client.post(f"/api/datasets/{dataset_id}/publish", headers=admin)
    assert refused.status_code == 422
    assert refused.json()["field"] == "dua_text"
    client.patch(f"/api/datasets/{dataset_id}", json={"dua_text": "Use only as agreed."}, headers=admin)
    assert client.post(f"/api/datasets/{dataset_id}/publish", headers=admin).status_code == 200


@pytest.mark.parametrize(("path", "body"), [
    ("/api/organisations", {"name": "Lab C"}),
    ("/api/dacs", {"name": "DAC 2", "contact_email": "d2@example.org"}),
    ("/api/admin/roles", {"subject": "x@example.org", "role": "admin"}),
])
def test_registry_and_roles_are_for_admins(client: TestClient, lab: dict[str, str], auth: Auth,
                                           path: str, body: dict[str, str]) -> None:
    assert client.post(path, json=body).status_code == 401
    assert client.post(path, json=body, headers=auth("steward-a@example.org")).status_code == 403
    assert client.post(path, json=body, headers=auth("admin@example.org")).status_code == 201


def test_roles_come_from_the_database_and_take_effect_at_once(
        client: TestClient, lab: dict[str, str], auth: Auth) -> None:
    newcomer = auth("newcomer@example.org")
    assert client.get("/api/me", headers=newcomer).json()["steward_of"] == []
    granted = client.post("/api/admin/roles", headers=auth("admin@example.org"),
                          json={"subject": "newcomer@example.org", "role": "steward", "organisation_id": lab["b"]})
    assert granted.status_code == 201
    assert client.get("/api/me", headers=newcomer).json()["steward_of"] == [lab["b"]]
    assert client.post("/api/datasets", json=_dataset(lab, organisation_id=lab["b"]),
                       headers=newcomer).status_code == 201
    client.delete(f"/api/admin/roles/{granted.json()['id']}", headers=auth("admin@example.org"))
    assert client.post("/api/datasets", json=_dataset(lab, organisation_id=lab["b"], title="Another"),
                       headers=newcomer).status_code == 403


def test_sample_metadata_is_for_stewards_only(client: TestClient, session: Session, lab: dict[str, str],
                                              auth: Auth) -> None:
    dataset = make_dataset(session, organisation_id=lab["a"], publish=True)
    url = f"/api/datasets/{dataset.id}/samples"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth("researcher@example.org")).status_code == 403
    assert client.get(url, headers=auth("steward-a@example.org")).json() == []


def test_a_malformed_body_gets_a_problem_document_not_a_traceback(
        client: TestClient, lab: dict[str, str], auth: Auth) -> None:
    response = client.post("/api/datasets", content=b"{not json", headers={
        **auth("admin@example.org"), "content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text
