"""The network Beacon under one deadline, between real nodes: a killed node and one slowed past the deadline (a slow
proxy in front of it) never delay the answer beyond the deadline; their statuses say what became of them, and their
circuit breakers hear of it. A request may ask for less time, never for more."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from catalogue.models import SecurityLevel
from ingest.synthetic import simulate_cohort, write_sample_sheet
from network.models import Peer
from tests.beacon._schemas import validate
from tests.beacon.test_api import ERROR, check
from tests.network.nodes import Node, nodes
from tests.network.proxy import Proxy, proxy_for
from tests.workers import wait_for

pytestmark = pytest.mark.serial  # deadlines are timed: run alone (`make test` runs these after the parallel run)

DEADLINE = 1.0  # seconds, node a's
MARGIN = 0.5  # what a busy test machine may add to it
NET = "/network/beacon/v2/g_variants"
QUERY = {"referenceName": "1", "start": 0, "end": 10_000_000, "requestedGranularity": "count"}


@dataclass
class Trio:
    a: Node
    b: Node
    c: Node
    slow: Proxy  # in front of c


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    folder = tmp_path_factory.mktemp("deadline")
    with nodes(folder / "nodes", ["a", "b", "c"], network_deadline_seconds=DEADLINE) as made:
        for seed, node in enumerate(made):
            cohort = simulate_cohort(folder / f"{node.name}.vcf.gz", samples=8, variants_per_contig=80, seed=seed + 7)
            node.publish([cohort.path], samples=write_sample_sheet(folder / f"{node.name}.tsv", cohort),
                         security=SecurityLevel.PUBLIC)
            node.start()
            httpx.get(f"{node.beacon}/g_variants", params=QUERY, timeout=60)  # warm
        a, b, c = made
        with proxy_for(c.url) as slow:
            a.cli("network", "add", b.url)
            a.cli("network", "add", f"{slow.url}/beacon/v2")
            httpx.get(f"{a.url}{NET}", params=QUERY, timeout=60)  # warm: the network Beacon's first query
            yield Trio(a, b, c, slow)


def _statuses(body: dict[str, object]) -> dict[str, str]:
    info = body["info"]
    assert isinstance(info, dict)
    return {n["beaconId"]: n["status"] for n in info["network"]["nodes"]}


def test_all_nodes_answer_well_within_the_deadline(trio: Trio) -> None:
    reply = httpx.get(f"{trio.a.url}{NET}", params=QUERY, timeout=30)
    body = reply.json()
    assert _statuses(body) == {"org.genomegate.a": "answered", "org.genomegate.b": "answered",
                               "org.genomegate.c": "answered"}
    assert body["info"]["network"]["deadlineMs"] == DEADLINE * 1000
    check(body)


def test_a_dead_node_and_a_slow_one_never_delay_the_answer(trio: Trio) -> None:
    trio.slow.delay = DEADLINE + 3
    trio.b.kill()
    try:
        started = time.monotonic()
        reply = httpx.get(f"{trio.a.url}{NET}", params=QUERY, timeout=30)
        elapsed = time.monotonic() - started
        assert reply.status_code == 200
        assert elapsed < DEADLINE + MARGIN, elapsed
        body = reply.json()
        check(body)
        assert _statuses(body) == {"org.genomegate.a": "answered", "org.genomegate.b": "erroring",
                                   "org.genomegate.c": "timedOut"}
        nodes = {n["beaconId"]: n for n in body["info"]["network"]["nodes"]}
        assert "could not be reached" in nodes["org.genomegate.b"]["message"]
        local = nodes["org.genomegate.a"]
        assert body["responseSummary"] == {"exists": local["exists"], "numTotalResults": local["numTotalResults"]}
        assert {s["beaconId"] for s in body["response"]["resultSets"]} == {"org.genomegate.a"}

        def failing() -> bool:  # the breakers heard of it, after the answer went out
            with trio.a.session() as session:
                return all(p.failures == 1 and p.state == "failing" for p in session.exec(select(Peer)).all())

        wait_for("both peers' failures recorded", 10, failing, lambda: trio.a.log())

        # the caller may ask for less: 300 ms; the slow node's timeout then does not count against it
        started = time.monotonic()
        short = httpx.get(f"{trio.a.url}{NET}", params={**QUERY, "deadline": "300ms"}, timeout=30)
        assert time.monotonic() - started < 0.3 + MARGIN
        assert short.json()["info"]["network"]["deadlineMs"] == 300
        assert _statuses(short.json())["org.genomegate.c"] == "timedOut"
        # never for more than the node's deadline
        capped = httpx.get(f"{trio.a.url}{NET}", params={**QUERY, "deadline": "60"}, timeout=30).json()
        assert capped["info"]["network"]["deadlineMs"] == DEADLINE * 1000
    finally:
        trio.slow.delay = 0
        trio.b.start()


@pytest.mark.parametrize(("params", "field"), [
    ({**QUERY, "deadline": "soon"}, "deadline"), ({**QUERY, "deadline": "0ms"}, "deadline"),
    ({**QUERY, "deadline": "1", "Deadline": "2"}, "deadline"), ({**QUERY, "start": "x"}, "start"),
    ({**QUERY, "colour": "red"}, "colour"), ({**QUERY, "referenceName": "1" * 2000}, "referenceName"),
])
def test_bad_input_gets_the_beacon_error_envelope_naming_the_field(trio: Trio, params: dict[str, str],
                                                                   field: str) -> None:
    reply = httpx.get(f"{trio.a.url}{NET}", params=params, timeout=30)
    assert reply.status_code == 400
    validate(reply.json(), *ERROR)
    assert reply.json()["error"]["errorMessage"].startswith(field) or field in reply.json()["error"]["errorMessage"]
    assert reply.json()["meta"]["beaconId"] == "org.genomegate.a.network"


def test_a_bad_token_is_refused_before_anything_is_passed_on(trio: Trio) -> None:
    before = len(trio.slow.queries())
    reply = httpx.get(f"{trio.a.url}{NET}", params=QUERY, headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    assert reply.status_code == 401
    validate(reply.json(), *ERROR)
    assert len(trio.slow.queries()) == before


def test_the_network_beacon_is_a_beacon_of_its_own(trio: Trio, tmp_path: Path) -> None:
    framework = [("/info", "beaconInfoResponse.json"), ("/service-info", "ga4gh-service-info-1-0-0-schema.json"),
                 ("/configuration", "beaconConfigurationResponse.json"), ("/map", "beaconMapResponse.json"),
                 ("/entry_types", "beaconEntryTypesResponse.json"),
                 ("/filtering_terms", "beaconFilteringTermsResponse.json")]
    for path, schema in framework:
        reply = httpx.get(f"{trio.a.url}/network/beacon/v2{path}", timeout=30)
        assert reply.status_code == 200, (path, reply.text)
        validate(reply.json(), "framework", "json", "responses", schema)
    info = httpx.get(f"{trio.a.url}/network/beacon/v2/service-info", timeout=30).json()
    assert info["id"] == "org.genomegate.a.network" and info["type"]["artifact"] == "beacon"
    services = {s["id"]: s for s in httpx.get(f"{trio.a.url}/services", timeout=30).json()}
    assert services["org.genomegate.a.network"]["url"] == f"{trio.a.url}/network/beacon/v2"
    # every Beacon response of a node names that node
    for node in (trio.a, trio.b):
        for path in ("/info", "/configuration", "/map", "/entry_types", "/filtering_terms", "/datasets",
                     "/g_variants?referenceName=1&start=0&end=100", "/g_variants?referenceName=1&start=0&end=100"
                     "&testMode=true", "/g_variants?start=x"):
            body = httpx.get(f"{node.beacon}{path}", timeout=30).json()
            assert body["meta"]["beaconId"] == node.settings.beacon_id, (node.name, path)
