"""The federated catalogue between real nodes: node a harvests the DCAT-AP catalogues of b and of c (c behind a
test proxy that can break its catalogue), shows their datasets beside its own in search (API and page, with the
node facet) and on pages that link home; a broken catalogue keeps the last harvest and is reported; a worker
harvests periodically; a removed peer's datasets disappear. On SQLite, and once on PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalogue.models import SecurityLevel
from genomegate.app import create_app
from tests.conftest import PostgresDatabases
from tests.factories import make_dac, make_dataset, make_organisation
from tests.network.catalogue_proxy import BROKEN, CatalogueProxy, catalogue_proxy
from tests.network.nodes import Node, nodes
from tests.web.conftest import Browser
from tests.workers import WorkerProcess, wait_for

B = "org-genomegate-b"  # the id a gives peer b (from its Beacon id)
C = "node-c"  # the name a gives peer c, added through the proxy


def publish(node: Node, title: str, **fields: Any) -> str:
    """A published dataset (metadata only) of the node, with its own organisation and DAC; its accession."""
    with node.session() as session:
        org = make_organisation(session, name=f"{title} lab")
        dac = make_dac(session, name=f"{title} DAC")
        return make_dataset(session, organisation_id=org.id, dac_id=dac.id, title=title, publish=True,
                            dua_text="use it well", **fields).id


@dataclass
class Network:
    a: Node
    b: Node
    c: Node
    proxy: CatalogueProxy
    ids: dict[str, str]  # node facet value -> the accession of its dataset
    admin: dict[str, str]

    def search(self, **params: Any) -> dict[str, Any]:
        response = httpx.get(f"{self.a.url}/api/network/datasets", params=params)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def harvest(self, peer: str) -> dict[str, Any]:
        response = httpx.post(f"{self.a.url}/api/network/peers/{peer}/harvest", headers=self.admin, timeout=30)
        assert response.status_code == 200, response.text
        [result] = response.json()["data"]
        return dict(result)

    def harvests(self) -> dict[str, dict[str, Any]]:
        """Each peer's harvest record (the admins' API)."""
        response = httpx.get(f"{self.a.url}/api/network/harvests", headers=self.admin)
        assert response.status_code == 200, response.text
        return {h["peer_id"]: h for h in response.json()["data"]}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with nodes(tmp_path_factory.mktemp("harvest"), ["a", "b", "c"]) as (a, b, c):
        ids = {
            "local": publish(a, "Nordic local cohort", keywords=["nordic"]),
            B: publish(b, "Baltic heart cohort", description="Whole genomes of a Baltic heart cohort",
                       keywords=["heart", "wgs"], duo=["HMB"], security=SecurityLevel.CONTROLLED,
                       assembly="GRCh37"),
            C: publish(c, "Alpine diabetes panel", description="Exomes of an Alpine diabetes panel",
                       keywords=["diabetes"], duo=["GRU"], security=SecurityLevel.REGISTERED),
        }
        for node in (a, b, c):
            node.start()
        with catalogue_proxy(c.url) as (proxy, proxy_url):
            a.cli("network", "add", b.url)
            a.cli("network", "add", f"{proxy_url}/beacon/v2", "--name", "Node c")
            yield Network(a, b, c, proxy, ids, {"Authorization": f"Bearer {a.admin_token()}"})


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="card" data-node="([^"]+)"', html)


def test_harvested_datasets_show_in_search_beside_local_ones_with_a_node_facet(network: Network) -> None:
    a, b, c = network.a, network.b, network.c
    harvested = {r["peer_id"]: r for r in json.loads(a.cli("network", "harvest", "--json").stdout)}
    assert harvested == {B: {"peer_id": B, "ok": True, "datasets": 1, "error": None},
                         C: {"peer_id": C, "ok": True, "datasets": 1, "error": None}}

    found = network.search()  # anyone: no token
    assert found["count"] == 3
    assert found["facets"]["node"] == {"local": 1, B: 1, C: 1}
    # this node's first, then the peers' by id
    assert [(d["node"], d["id"]) for d in found["data"]] == [
        ("local", network.ids["local"]), (C, network.ids[C]), (B, network.ids[B])]
    by_node = {d["node"]: d for d in found["data"]}
    for peer, home in ((B, b), (C, c)):
        own = httpx.get(f"{home.url}/api/datasets/{network.ids[peer]}").json()  # what the peer itself says
        got = by_node[peer]
        assert (got["title"], got["description"], got["keywords"], got["duo"], got["security"], got["assembly"]) == (
            own["title"], own["description"], own["keywords"], own["duo"], own["security"], own["assembly"])
        dac = httpx.get(f"{home.url}/api/dacs/{own['dac_id']}").json()
        assert (got["dac_name"], got["dac_node_url"]) == (dac["name"], home.url)
        assert got["home_url"] == f"{home.url}/datasets/{own['id']}"  # the peer's own page, not the proxy's
        assert got["page_url"] == f"{a.url}/network/datasets/{peer}/{own['id']}"
    assert by_node["local"]["node_name"] == "Node a" and by_node[C]["node_name"] == "Node c"
    assert by_node["local"]["page_url"] == f"{a.url}/datasets/{network.ids['local']}"

    def nodes_of(**params: Any) -> list[str]:
        return [d["node"] for d in network.search(**params)["data"]]

    only_c = network.search(node=C)
    assert [d["id"] for d in only_c["data"]] == [network.ids[C]] and only_c["count"] == 1
    assert only_c["facets"]["node"] == {"local": 1, B: 1, C: 1}  # the other nodes stay on offer
    assert nodes_of(node=f"local,{B}") == ["local", B]
    assert nodes_of(q="alpine") == [C] and nodes_of(q="heart wgs") == [B] and nodes_of(q="nowhere") == []
    assert nodes_of(duo="HMB") == [B] and nodes_of(duo="GRU") == ["local", C]
    assert nodes_of(security="CONTROLLED") == [B] and nodes_of(assembly="GRCh37") == [B]
    assert network.search(security="REGISTERED")["facets"]["security"] == {"REGISTERED": 1}
    org = httpx.get(f"{a.url}/api/datasets/{network.ids['local']}").json()["organisation_id"]
    assert nodes_of(organisation=org) == ["local"]  # organisations are this node's
    pages = [network.search(limit=1, offset=n) for n in range(4)]
    assert [d["node"] for p in pages for d in p["data"]] == ["local", C, B] and {p["count"] for p in pages} == {3}

    for params, field in (({"node": "../x"}, "node"), ({"limit": 1000}, "limit"), ({"security": "SECRET"},
                                                                                      "security")):
        refused = httpx.get(f"{a.url}/api/network/datasets", params=params)
        assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
        assert field in refused.text

    page = httpx.get(f"{a.url}/")
    assert page.status_code == 200 and _cards(page.text) == ["local", C, B]
    assert f'href="/network/datasets/{B}/{network.ids[B]}"' in page.text
    assert f'href="{b.url}/datasets/{network.ids[B]}"' in page.text
    assert "This node (Node a)" in page.text and "Node c" in page.text
    assert _cards(httpx.get(f"{a.url}/", params={"node": C}).text) == [C]
    assert _cards(httpx.get(f"{a.url}/", params={"node": "local"}).text) == ["local"]
    assert _cards(httpx.get(f"{a.url}/", params={"q": "diabetes"}).text) == [C]


def test_a_remote_datasets_page_shows_what_was_harvested_and_links_home(network: Network) -> None:
    a, b = network.a, network.b
    network.harvest(B)
    dataset_id = network.ids[B]
    own = httpx.get(f"{b.url}/api/datasets/{dataset_id}").json()
    page = httpx.get(f"{a.url}/network/datasets/{B}/{dataset_id}")
    assert page.status_code == 200
    for text in (own["title"], own["description"], "Baltic heart cohort DAC", "heart, wgs", "HMB"):
        assert text in page.text
    [home] = re.findall(r'<a class="button" href="([^"]+)"[^>]*data-testid="home-link"', page.text)
    assert home == f"{b.url}/datasets/{dataset_id}"
    at_home = httpx.get(home)
    assert at_home.status_code == 200 and own["title"] in at_home.text  # the link leads to the dataset at b

    record = httpx.get(f"{a.url}/api/network/datasets/{B}/{dataset_id}").json()
    assert record["home_url"] == home
    assert record["peer_name"] == httpx.get(f"{b.beacon}/service-info").json()["name"]  # as b named itself
    assert record["jsonld"]["dct:identifier"] == dataset_id and record["jsonld"]["@type"] == "dcat:Dataset"
    assert record["jsonld"]["@id"] == f"{b.url}/api/datasets/{dataset_id}"
    assert record["dac_node_url"] == b.url and record["security"] == "CONTROLLED"
    for missing in (f"/network/datasets/{B}/GGD999999", f"/network/datasets/nobody/{dataset_id}"):
        assert httpx.get(f"{a.url}{missing}").status_code == 404
        assert httpx.get(f"{a.url}/api{missing}").status_code == 404


@pytest.mark.parametrize("mode", list(BROKEN))
def test_a_broken_catalogue_keeps_the_last_harvest_and_is_reported(network: Network, mode: str) -> None:
    a = network.a
    assert network.harvest(C)["ok"]
    before = network.search(node=C)
    good = network.harvests()[C]
    network.proxy.mode = mode
    try:
        result = network.harvest(C)
    finally:
        network.proxy.mode = "pass"
    expected = BROKEN[mode][2]
    assert not result["ok"] and result["datasets"] == 1 and expected in result["error"]
    assert network.search(node=C) == before  # the last good harvest is kept
    assert httpx.get(f"{a.url}/network/datasets/{C}/{network.ids[C]}").status_code == 200
    failed = network.harvests()[C]
    assert expected in failed["last_error"] and failed["failures"] == 1 and failed["datasets"] == 1
    assert failed["succeeded_at"] == good["succeeded_at"] and failed["attempted_at"] > good["attempted_at"]
    assert f"harvest of peer {C} failed" in a.log() and expected in a.log()  # the warning in the node's log
    assert network.harvest(C) == {"peer_id": C, "ok": True, "datasets": 1, "error": None}
    assert network.harvests()[C]["last_error"] is None and network.harvests()[C]["failures"] == 0


def test_the_operator_sees_a_failed_harvest_in_the_network_status(network: Network) -> None:
    a = network.a
    assert network.harvest(B)["ok"] and network.harvest(C)["ok"]
    network.proxy.mode = "no-titles"
    try:
        done = a.cli("network", "harvest", C, check=False)
    finally:
        network.proxy.mode = "pass"
    assert done.returncode == 1 and "has no dct:title" in done.stdout and "Traceback" not in done.stderr
    peers = {p["id"]: p for p in json.loads(a.cli("network", "status", "--json").stdout)}
    assert "has no dct:title" in peers[C]["harvest"]["last_error"] and peers[C]["harvest"]["datasets"] == 1
    assert peers[B]["harvest"]["last_error"] is None and peers[B]["state"]  # health and harvest side by side
    table = a.cli("network", "status").stdout  # for people: the health table, then the harvests'
    harvests = table[table.index("Peers' catalogues as last harvested"):]
    assert table.index("Peers' health") == 0 and C in harvests and "dct:title" in harvests
    unknown = a.cli("network", "harvest", "nobody", check=False)
    assert unknown.returncode == 1 and "no peer nobody" in unknown.stderr and "Traceback" not in unknown.stderr


def test_only_admins_harvest_and_see_harvests_while_anyone_searches(network: Network) -> None:
    a = network.a
    someone = {"Authorization": f"Bearer {a.token('someone@example.org')}"}
    with httpx.Client(base_url=a.url, timeout=30) as http:
        for method, path in (("POST", "/api/network/harvest"), ("POST", f"/api/network/peers/{B}/harvest"),
                             ("GET", "/api/network/harvests")):
            assert http.request(method, path).status_code == 401
            refused = http.request(method, path, headers=someone)
            assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
        assert http.post("/api/network/peers/nobody/harvest", headers=network.admin).status_code == 404
        everyone = http.post("/api/network/harvest", headers=network.admin).json()
        assert {r["peer_id"]: r["ok"] for r in everyone["data"]} == {B: True, C: True}
        for caller in ({}, someone):
            assert http.get("/api/network/datasets", headers=caller).json()["count"] == 3
            assert http.get(f"/api/network/datasets/{B}/{network.ids[B]}", headers=caller).status_code == 200
    app = create_app(runtime=a.runtime)
    assert Browser(app).sign_in("someone@example.org").get("/admin/network").status_code == 403
    page = Browser(app).sign_in(f"admin@{a.name}.example").get("/admin/network")
    assert page.status_code == 200 and f'data-harvest="{C}"' in page.text and f'data-harvest="{B}"' in page.text


def test_a_worker_harvests_the_peers_periodically(network: Network, tmp_path: Path) -> None:
    a, b = network.a, network.b
    added = publish(b, "Periodic cohort", keywords=["periodic"])
    assert network.search(q="periodic")["count"] == 0  # not harvested yet
    worker = WorkerProcess(a.env(network_harvest_every_seconds=1), tmp_path / "worker.log")
    try:
        wait_for("the worker's harvest brings b's new dataset", 60,
                 lambda: network.search(q="periodic")["data"], worker.output)
        first = network.harvests()[B]["succeeded_at"]
        wait_for("a second periodic harvest", 30,
                 lambda: network.harvests()[B]["succeeded_at"] > first, worker.output)
    finally:
        assert worker.stop() == 0
    assert [d["id"] for d in network.search(node=B)["data"]] == sorted([network.ids[B], added])


def test_a_removed_peers_datasets_disappear(network: Network) -> None:
    a = network.a
    network.harvest(C)
    assert network.search(node=C)["count"] == 1
    assert httpx.delete(f"{a.url}/api/network/peers/{C}", headers=network.admin).status_code == 204
    found = network.search()
    assert C not in found["facets"]["node"] and all(d["node"] != C for d in found["data"])
    assert network.search(node=C)["count"] == 0
    assert httpx.get(f"{a.url}/network/datasets/{C}/{network.ids[C]}").status_code == 404
    records = httpx.get(f"{a.url}/api/network/harvests", headers=network.admin).json()["data"]
    assert [r["peer_id"] for r in records] == [B]
    assert C not in _cards(httpx.get(f"{a.url}/").text)


def test_the_federated_catalogue_on_postgresql(tmp_path: Path, postgres: PostgresDatabases) -> None:
    database: Callable[[str], str] = lambda name: postgres.create()  # noqa: E731
    with nodes(tmp_path, ["a", "b"], database_url=database) as (a, b):
        publish(a, "Local cohort")
        dataset = publish(b, "Remote heart cohort", keywords=["heart"], duo=["HMB"])
        a.start()
        b.start()
        with catalogue_proxy(b.url) as (proxy, proxy_url):
            a.cli("network", "add", f"{proxy_url}/beacon/v2", "--name", "Node b")
            admin = {"Authorization": f"Bearer {a.admin_token()}"}
            harvested = httpx.post(f"{a.url}/api/network/harvest", headers=admin, timeout=30).json()["data"]
            assert harvested == [{"peer_id": "node-b", "ok": True, "datasets": 1, "error": None}]
            found = httpx.get(f"{a.url}/api/network/datasets", params={"q": "heart"}).json()
            assert [(d["node"], d["id"], d["duo"]) for d in found["data"]] == [("node-b", dataset, ["DUO:0000006"])]
            assert httpx.get(f"{a.url}/api/network/datasets", params={"duo": "HMB"}).json()["count"] == 1
            page = httpx.get(f"{a.url}/network/datasets/node-b/{dataset}")
            assert page.status_code == 200 and f'href="{b.url}/datasets/{dataset}"' in page.text
            proxy.mode = "no-titles"
            failed = httpx.post(f"{a.url}/api/network/harvest", headers=admin, timeout=30).json()["data"]
            assert not failed[0]["ok"] and "has no dct:title" in failed[0]["error"] and failed[0]["datasets"] == 1
            assert httpx.get(f"{a.url}/api/network/datasets", params={"node": "node-b"}).json()["count"] == 1
            assert httpx.delete(f"{a.url}/api/network/peers/node-b", headers=admin).status_code == 204
            assert httpx.get(f"{a.url}/api/network/datasets").json()["facets"]["node"] == {"local": 1}
