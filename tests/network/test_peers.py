"""Peers between real nodes: adding one reads its service-info (a Beacon v2 or refused), the service registry
lists the network, health checks back a dead peer off and bring it back, and only admins manage peers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from genomegate.app import create_app
from tests.network.nodes import Node
from tests.serving import free_port, serving
from tests.web.conftest import Browser
from tests.workers import WorkerProcess, wait_for


def _beacon(beacon_id: str, version: str) -> FastAPI:
    """A Beacon that only says what it is: its service-info with `beacon_id` and `version`."""
    app = FastAPI()

    @app.get("/service-info")
    def info() -> dict[str, Any]:
        return {"id": beacon_id, "name": f"Beacon {beacon_id}", "organization": {"name": "Elsewhere"},
                "type": {"group": "org.ga4gh", "artifact": "beacon", "version": version}, "version": version}

    return app


@pytest.fixture
def old_beacon() -> Iterator[str]:
    """A peer that is a Beacon of version 1 (as a node not yet upgraded would say)."""
    with serving(_beacon("org.example.old", "1.1.0"), free_port()) as url:
        yield url


def _peers(node: Node) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(node.cli("network", "list", "--json").stdout)
    return listed


def test_a_node_adds_its_peers_and_publishes_them_as_a_service_registry(three_nodes: list[Node]) -> None:
    a, b, c = three_nodes
    for node in three_nodes:
        node.start()
    # a node's base URL (found through its service registry) or its Beacon's root: both are accepted
    added = a.cli("network", "add", b.url, "--forward", "bearer")
    assert "org.genomegate.b" in added.stdout
    a.cli("network", "add", c.beacon, "--name", "Node C")
    peers = {p["beacon_id"]: p for p in _peers(a)}
    assert set(peers) == {"org.genomegate.b", "org.genomegate.c"}
    assert peers["org.genomegate.b"]["beacon_url"] == b.beacon and peers["org.genomegate.b"]["node_url"] == b.url
    assert peers["org.genomegate.b"]["forward"] == "bearer" and peers["org.genomegate.c"]["forward"] == "none"
    assert peers["org.genomegate.c"]["node_url"] == c.url and peers["org.genomegate.c"]["name"] == "Node C"

    registry = httpx.get(f"{a.url}/service-info").json()
    assert registry["type"] == {"group": "org.ga4gh", "artifact": "service-registry", "version": "1.0.0"}
    services = {s["id"]: s for s in httpx.get(f"{a.url}/services").json()}
    assert services["org.genomegate.a"]["url"] == a.beacon
    assert services["org.genomegate.b"]["url"] == b.beacon and services["org.genomegate.c"]["url"] == c.beacon
    assert services["org.genomegate.b"]["type"]["artifact"] == "beacon"
    assert httpx.get(f"{a.url}/services/org.genomegate.c").json()["url"] == c.beacon
    assert httpx.get(f"{a.url}/services/org.example.none").status_code == 404
    types = httpx.get(f"{a.url}/services/types").json()
    assert {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"} in types
    assert sum(1 for t in types if t["artifact"] == "beacon") == 1  # each type once

    again = a.cli("network", "add", b.beacon, check=False)
    assert again.returncode == 1 and "is a peer already" in again.stderr and "Traceback" not in again.stderr
    with serving(_beacon("org.genomegate.b", "2.0.0"), free_port()) as twin:  # another URL saying it is b
        refused = a.cli("network", "add", twin, check=False)
    assert refused.returncode == 1 and "is Beacon org.genomegate.b, which peer" in refused.stderr, refused
    assert "Traceback" not in refused.stderr
    for own in (a.url, a.beacon):  # this node itself: it is asked in every network query already
        refused = a.cli("network", "add", own, check=False)
        assert refused.returncode == 1 and "this node's own Beacon" in refused.stderr, refused
    assert len(_peers(a)) == 2
    a.cli("network", "remove", _peers(a)[0]["id"])
    assert len(_peers(a)) == 1


def test_what_is_not_a_compatible_beacon_is_refused_with_the_reason(three_nodes: list[Node], old_beacon: str) -> None:
    a = three_nodes[0]
    a.start()
    refusals = {
        old_beacon: "is a Beacon of version 1.1.0: this node speaks Beacon v2",
        f"{a.url}/htsget/variants": "is not a GA4GH Beacon",
        f"http://127.0.0.1:{free_port()}": "could not be reached",
        "ftp://example.org": "give an http:// or https:// URL",
    }
    for url, reason in refusals.items():
        result = a.cli("network", "add", url, check=False)
        assert result.returncode == 1, result
        assert reason in result.stderr and "Traceback" not in result.stderr
    assert _peers(a) == []


def test_a_dead_peer_is_backed_off_then_comes_back(three_nodes: list[Node]) -> None:
    a, b, c = three_nodes
    for node in three_nodes:
        node.start()
    a.cli("network", "add", b.url)
    a.cli("network", "add", c.url)
    c.kill()
    a.cli("network", "check")
    states = {p["id"]: p for p in json.loads(a.cli("network", "status", "--json").stdout)}
    assert states["org-genomegate-b"]["state"] == "healthy" and states["org-genomegate-b"]["latency_ms"] > 0
    dead = states["org-genomegate-c"]
    assert dead["state"] == "failing" and "could not be reached" in dead["last_error"]
    a.cli("network", "check")  # the second failure in a row opens its circuit (network_failures_to_open=2)
    states = {p["id"]: p for p in json.loads(a.cli("network", "status", "--json").stdout)}
    assert states["org-genomegate-c"]["state"] == "backed_off" and states["org-genomegate-c"]["retry_at"] is not None
    c.start()
    a.cli("network", "check")  # an operator's check asks backed-off peers too
    states = {p["id"]: p for p in json.loads(a.cli("network", "status", "--json").stdout)}
    assert states["org-genomegate-c"]["state"] == "healthy" and states["org-genomegate-c"]["failures"] == 0


def test_a_worker_checks_the_peers_on_schedule(three_nodes: list[Node], tmp_path: Path) -> None:
    a, b, _ = three_nodes
    b.start()
    a.cli("network", "add", b.url)
    worker = WorkerProcess(a.env(network_health_every_seconds=1), tmp_path / "worker.log")
    try:
        def checked() -> int:
            peer = json.loads(a.cli("network", "status", "--json").stdout)[0]
            return 1 if peer["state"] == "healthy" else 0

        wait_for("the periodic health check", 30, checked, worker.output)
        b.kill()
        wait_for("the dead peer backed off", 30,
                 lambda: json.loads(a.cli("network", "status", "--json").stdout)[0]["state"] == "backed_off",
                 worker.output)
    finally:
        worker.kill()


def test_only_admins_manage_peers(three_nodes: list[Node]) -> None:
    a, b, _ = three_nodes
    a.start()
    b.start()
    admin = {"Authorization": f"Bearer {a.admin_token()}"}
    someone = {"Authorization": f"Bearer {a.token('someone@example.org')}"}
    with httpx.Client(base_url=a.url) as http:
        assert http.get("/api/network/peers").status_code == 401
        assert http.get("/api/network/peers", headers=someone).status_code == 403
        refused = http.post("/api/network/peers", json={"url": b.url}, headers=someone)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
        assert http.post("/api/network/peers/check", headers=someone).status_code == 403
        bad = http.post("/api/network/peers", json={"url": b.url, "forward": "everything"}, headers=admin)
        assert bad.status_code == 422 and "forward" in bad.text
        too_long = http.post("/api/network/peers", json={"url": "http://x.org/" + "a" * 600}, headers=admin)
        assert too_long.status_code == 422 and "url" in too_long.text
        created = http.post("/api/network/peers", json={"url": b.url, "name": "Bee"}, headers=admin)
        assert created.status_code == 201, created.text
        peer = created.json()
        assert peer["id"] == "bee" and peer["beacon_id"] == "org.genomegate.b"
        assert http.delete(f"/api/network/peers/{peer['id']}", headers=someone).status_code == 403
        assert http.get("/api/network/peers", headers=admin).json()["count"] == 1
        app = create_app(runtime=a.runtime)  # the pages: signed in with the session cookie, as in a browser
        assert Browser(app).sign_in("someone@example.org").get("/admin/network").status_code == 403
        page = Browser(app).sign_in(f"admin@{a.name}.example").get("/admin/network")
        assert page.status_code == 200 and "org.genomegate.b" in page.text
        assert http.delete(f"/api/network/peers/{peer['id']}", headers=admin).status_code == 204
        assert http.get(f"/api/network/peers/{peer['id']}", headers=admin).status_code == 404
