"""Decide access once, at the DAC's node: a request names a dataset held at another node by its URL there, the
DAC reviews it with the one workflow, and approval gives a short-lived visa naming that URL, which a revocation
stops being issued. An entitlement to a remote dataset never grants a local dataset of the same id."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from access.models import RemoteDatasetFacts
from access.rights import record_datasets
from catalogue.runtime import Runtime
from tests.access.conftest import World
from tests.web.conftest import Browser

ALICE = "alice@uni.example"
HOLDER = "https://node-a.example.org"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@pytest.fixture
def remote(world: World, client: TestClient) -> str:
    """A CONTROLLED dataset held at node A whose DAC (world.dac) sits here; its id is one of this node's own."""
    url = f"{HOLDER}/api/datasets/{world.hmb}"
    known = {url: RemoteDatasetFacts(url=url, node_url=HOLDER, dataset_id=world.hmb, title="Cardiac cohort at A",
                                     dac_id=world.dac, security="CONTROLLED", duo=["DUO:0000006"]),
             f"{HOLDER}/api/datasets/GGD000999": RemoteDatasetFacts(
                 url=f"{HOLDER}/api/datasets/GGD000999", node_url=HOLDER, dataset_id="GGD000999", title="public",
                 dac_id=world.dac, security="PUBLIC")}

    def resolve(_: Session, wanted: str) -> RemoteDatasetFacts | None:
        return known.get(wanted)

    client.app.state.remote_datasets = resolve  # type: ignore[attr-defined]
    return url


def _grants(world: World) -> list[dict[str, Any]]:
    visas = world.call("GET", "/passport", ALICE).json()["ga4gh_passport_v1"]
    return [_claims(v) for v in visas if _claims(v)["ga4gh_visa_v1"]["type"] == "ControlledAccessGrants"]


def test_an_approved_request_for_a_remote_dataset_gives_a_short_lived_visa_naming_its_url(
        world: World, remote: str, runtime: Runtime, session: Session) -> None:
    request_id = world.approved(ALICE, [remote])
    shown = world.call("GET", f"/requests/{request_id}", ALICE).json()
    assert shown["datasets"] == [remote] and shown["dac_id"] == world.dac and shown["state"] == "approved"
    assert shown["duo_verdict"]["result"] == "approve"

    [grant] = _grants(world)
    assert grant["ga4gh_visa_v1"]["value"] == remote
    assert grant["ga4gh_visa_v1"]["source"] == f"http://testserver/api/dacs/{world.dac}"
    assert grant["iss"] == "http://testserver" and grant["sub"] == ALICE
    assert grant["exp"] - grant["iat"] == runtime.settings.federated_visa_lifetime == 300
    # the entitlement is to A's dataset, never to this node's dataset of the same id
    assert record_datasets(session, ALICE, [world.hmb]) == frozenset()
    issued = world.call("GET", "/audit?action=visa.issue", "admin@example.org").json()
    assert remote in {line["dataset_id"] for line in issued}


def test_after_revocation_the_dac_node_issues_no_visa_for_the_remote_dataset(world: World, remote: str) -> None:
    world.approved(ALICE, [remote])
    [entitlement] = world.call("GET", "/entitlements?scope=dac", "dac1@example.org").json()
    assert entitlement["dataset_id"] == remote and entitlement["active"]
    assert world.call("GET", "/entitlements?scope=dac", "other-dac@example.org").json() == []
    refused = world.call("POST", f"/entitlements/{entitlement['id']}/revoke", "other-dac@example.org",
                         json={"reason": "not ours"})
    assert refused.status_code in (403, 404)
    revoked = world.call("POST", f"/entitlements/{entitlement['id']}/revoke", "dac1@example.org",
                         json={"reason": "misuse reported by node A"})
    assert revoked.status_code == 200, revoked.text
    assert _grants(world) == []


def test_a_remote_dataset_must_be_known_controlled_and_of_one_dac(world: World, remote: str) -> None:
    body = {"project_title": "P", "purpose": ["HMB"]}
    unknown = world.call("POST", "/requests", ALICE, json={**body, "datasets": [f"{HOLDER}/api/datasets/GGD000404"]})
    assert unknown.status_code == 404 and "catalogue of its peers' datasets" in unknown.json()["detail"]
    public = world.call("POST", "/requests", ALICE, json={**body, "datasets": [f"{HOLDER}/api/datasets/GGD000999"]})
    assert public.status_code == 422 and "needs no access request" in public.json()["detail"]
    mixed = world.call("POST", "/requests", ALICE, json={**body, "datasets": [remote, world.elsewhere]})
    assert mixed.status_code == 422 and "share a data access committee" in mixed.json()["detail"]
    long = world.call("POST", "/requests", ALICE, json={**body, "datasets": ["x" * 501]})
    assert long.status_code == 422 and "datasets" in long.text
    # a remote dataset and a local one of the same DAC may share a request
    both = world.draft(ALICE, [remote, world.hmb])
    assert world.call("GET", f"/requests/{both}", ALICE).json()["datasets"] == sorted([remote, world.hmb])


def test_its_agreement_must_be_accepted_and_its_use_conditions_apply(world: World, remote: str) -> None:
    draft = world.draft(ALICE, [remote], accept=False)
    unaccepted = world.call("POST", f"/requests/{draft}/submit", ALICE)
    assert unaccepted.status_code == 422 and f"accept the data access agreement of {remote}" in unaccepted.text
    denied = world.draft(ALICE, [remote], purpose=["POA"])
    refused = world.call("POST", f"/requests/{denied}/submit", ALICE)
    assert refused.status_code == 422 and "HMB data may not be used for population origins" in refused.text


def test_the_request_pages_show_a_remote_dataset_with_its_node(world: World, remote: str, client: TestClient) -> None:
    browser = Browser(client.app).sign_in(ALICE)  # type: ignore[arg-type]
    form = browser.get(f"/requests/new?dataset={quote(remote, safe='')}")
    assert form.status_code == 200, form.text
    assert "Cardiac cohort at A" in form.text and f"held at {HOLDER}" in form.text
    created = browser.post("/requests", {"datasets": remote, "project_title": "Heart genes", "purpose": "HMB"})
    assert created.status_code == 303, created.text
    request_id = created.headers["location"].rsplit("/", 1)[1]
    assert world.call("GET", f"/requests/{request_id}", ALICE).json()["datasets"] == [remote]
    world.call("PATCH", f"/requests/{request_id}", ALICE, json={"accept_agreements": {remote: "1"}})
    assert world.call("POST", f"/requests/{request_id}/submit", ALICE).status_code == 200
    for who in (ALICE, "dac1@example.org"):
        page = Browser(client.app).sign_in(who).get(f"/requests/{request_id}")  # type: ignore[arg-type]
        assert page.status_code == 200, page.text
        assert f'href="{HOLDER}/datasets/{world.hmb}"' in page.text and f"held at {HOLDER}" in page.text
