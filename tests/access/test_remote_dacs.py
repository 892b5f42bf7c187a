"""Decide access once, at the node holding the data: a dataset names the DAC at another node that decides it; that
DAC's visas (issuer and jku allow-listed for that dataset only, keys fetched from its jku over HTTP) grant it, and
nothing else; other issuers' visas do not grant it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from catalogue.runtime import Runtime
from catalogue.tokens import LocalIssuer
from tests.access.conftest import World
from tests.factories import trusting_visas_of
from tests.serving import free_port, serving

ALICE = "alice@uni.example"
Auth = Callable[[str], dict[str, str]]


class DacNode:
    """Another node's visa issuer whose JWKS is served over HTTP at its jku, as a real node's is."""

    def __init__(self, folder: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.jku = f"{self.url}/.well-known/jwks.json"
        self.issuer = LocalIssuer(folder / f"dac-node-{port}.json", issuer=self.url, audience="unused")

    def visa(self, dataset_url: str, *, jku: str | None = None, sub: str = ALICE, life: int = 300,
             expired: bool = False) -> str:
        now = int(time.time())
        iat = now - life - 120 if expired else now
        body = {"type": "ControlledAccessGrants", "asserted": now - 60, "value": dataset_url,
                "source": f"{self.url}/api/dacs/GGC000001", "by": "dac"}
        return self.issuer.sign({"iss": self.url, "sub": sub, "iat": iat, "exp": iat + life, "jti": f"b-{now}-{life}",
                                 "ga4gh_visa_v1": body}, jku=jku or self.jku)


@pytest.fixture
def dac_node(tmp_path: Path) -> Iterator[DacNode]:
    port = free_port()
    node = DacNode(tmp_path, port)

    def jwks(_: Any) -> JSONResponse:
        return JSONResponse(node.issuer.jwks())

    with serving(Starlette(routes=[Route("/.well-known/jwks.json", jwks)]), port):
        yield node


def _set(world: World, dataset: str, who: str | None, **body: Any) -> Any:
    return world.call("PUT", f"/datasets/{dataset}/remote-dac", who, json=body)


def _verify(client: TestClient, auth: Auth, visas: list[str]) -> Any:
    response = client.post("/api/access/passport/verify", json={"passport": visas}, headers=auth(ALICE))
    assert response.status_code == 200, response.text
    return response.json()


def test_stewards_and_admins_name_the_remote_dac_audited_others_are_refused(world: World) -> None:
    node = "https://node-b.example.org"
    assert _set(world, world.hmb, None, node_url=node, dac_id="GGC000007").status_code == 401
    assert _set(world, world.hmb, ALICE, node_url=node, dac_id="GGC000007").status_code == 403
    refused = _set(world, world.public, "admin@example.org", node_url=node, dac_id="GGC000007")
    assert refused.status_code == 422 and "only a CONTROLLED dataset" in refused.json()["detail"]
    bad = _set(world, world.hmb, "admin@example.org", node_url="ftp://node-b", dac_id="GGC000007")
    assert bad.status_code == 422 and "node_url" in bad.text
    assert _set(world, "X" * 17, "admin@example.org", node_url=node, dac_id="GGC000007").status_code == 422

    made = _set(world, world.hmb, "admin@example.org", node_url=node + "/", dac_id="GGC000007")
    assert made.status_code == 200, made.text
    assert {k: made.json()[k] for k in ("node_url", "dac_url", "visa_issuer", "jku")} == {
        "node_url": node, "dac_url": f"{node}/api/dacs/GGC000007", "visa_issuer": node,
        "jku": f"{node}/.well-known/jwks.json"}
    assert world.call("GET", f"/datasets/{world.hmb}/remote-dac", None).json()["dac_id"] == "GGC000007"
    [line] = world.call("GET", "/audit?action=dataset.remote_dac.set", "admin@example.org").json()
    assert line["dataset_id"] == world.hmb and line["details"]["visa_issuer"] == node

    # access requests for it are made at the DAC's node, not here
    draft = world.call("POST", "/requests", ALICE, json={"project_title": "P", "purpose": ["HMB"],
                                                         "datasets": [world.hmb]})
    assert draft.status_code == 422 and "apply there" in draft.json()["detail"]

    assert world.call("DELETE", f"/datasets/{world.hmb}/remote-dac", ALICE).status_code == 403
    assert world.call("DELETE", f"/datasets/{world.hmb}/remote-dac", "admin@example.org").status_code == 204
    assert world.call("GET", f"/datasets/{world.hmb}/remote-dac", None).status_code == 404
    assert world.call("GET", "/audit?action=dataset.remote_dac.clear", "admin@example.org").json()


def test_the_dcat_record_names_the_remote_dac_as_its_access_body(world: World, client: TestClient) -> None:
    node = "https://node-b.example.org"
    assert _set(world, world.hmb, "admin@example.org", node_url=node, dac_id="GGC000007").status_code == 200
    record = client.get(f"/api/datasets/{world.hmb}/dcat").json()
    assert record["healthdcatap:hdab"]["@id"] == f"{node}/api/dacs/GGC000007"
    assert record["healthdcatap:hdab"]["foaf:homepage"]["@id"] == f"{node}/"
    catalogue = client.get("/api/catalog.jsonld").json()
    by_id = {d["dct:identifier"]: d for d in catalogue["dcat:dataset"]}
    assert by_id[world.hmb]["healthdcatap:hdab"]["@id"] == f"{node}/api/dacs/GGC000007"
    # a dataset decided here still names this node's own DAC
    assert by_id[world.gru]["healthdcatap:hdab"]["@id"] == f"http://testserver/api/dacs/{world.dac}"


def test_the_remote_dacs_visa_grants_its_dataset_and_nothing_else(
        world: World, client: TestClient, auth: Auth, dac_node: DacNode) -> None:
    url = f"http://testserver/api/datasets/{world.hmb}"
    before = _verify(client, auth, [dac_node.visa(url)])
    assert before["datasets"] == {} and "not trusted" in before["rejected"][0]["reason"]
    assert _set(world, world.hmb, "admin@example.org", node_url=dac_node.url, dac_id="GGC000001").status_code == 200

    granted = _verify(client, auth, [dac_node.visa(url)])
    assert list(granted["datasets"]) == [world.hmb] and granted["rejected"] == []
    other = _verify(client, auth, [dac_node.visa(f"http://testserver/api/datasets/{world.gru}")])
    assert other["datasets"] == {}
    assert f"trusted only for the datasets its DAC decides, not for {world.gru}" in other["rejected"][0]["reason"]


@pytest.mark.parametrize(("visa", "reason"), [
    (lambda node, url: node.visa(url, jku="http://127.0.0.1:9/other-jwks.json"), "not trusted"),
    (lambda node, url: node.visa(url, life=3600), "live at most 900 s"),
    (lambda node, url: node.visa(url, expired=True), "refused"),
    (lambda node, url: node.visa(url, sub="mallory@example.org"), "refused"),
])
def test_the_remote_dacs_visas_are_checked_by_the_rules(
        world: World, client: TestClient, auth: Auth, dac_node: DacNode,
        visa: Callable[[DacNode, str], str], reason: str) -> None:
    assert _set(world, world.hmb, "admin@example.org", node_url=dac_node.url, dac_id="GGC000001").status_code == 200
    result = _verify(client, auth, [visa(dac_node, f"http://testserver/api/datasets/{world.hmb}")])
    assert result["datasets"] == {}
    assert reason in result["rejected"][0]["reason"]


def test_globally_trusted_issuers_and_this_node_no_longer_grant_a_dataset_decided_elsewhere(
        world: World, runtime: Runtime, auth: Auth, dac_node: DacNode, tmp_path: Path) -> None:
    world.approved(ALICE, [world.hmb])
    own = world.call("GET", "/passport", ALICE).json()["ga4gh_passport_v1"]
    other = LocalIssuer(tmp_path / "c.json", issuer="https://node-c.example.org", audience="unused")
    trusting = trusting_visas_of(runtime, other, "https://node-c.example.org/jwks", tmp_path)
    now = int(time.time())
    from_c = other.sign({"iss": other.issuer, "sub": ALICE, "iat": now, "exp": now + 300, "jti": "c-1",
                         "ga4gh_visa_v1": {"type": "ControlledAccessGrants", "asserted": now - 60, "by": "dac",
                                           "value": f"http://testserver/api/datasets/{world.hmb}"}},
                        jku="https://node-c.example.org/jwks")
    assert list(_verify(trusting, auth, [from_c])["datasets"]) == [world.hmb]
    assert list(_verify(trusting, auth, own)["datasets"]) == [world.hmb]

    assert _set(world, world.hmb, "admin@example.org", node_url=dac_node.url, dac_id="GGC000001").status_code == 200
    result = _verify(trusting, auth, [from_c, *own])
    assert result["datasets"] == {}
    decided = [r["reason"] for r in result["rejected"] if "decided by the DAC at another node" in r["reason"]]
    assert len(decided) == 2, result  # C's grant and this node's own grant (its terms visa grants nothing)
