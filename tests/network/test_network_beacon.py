"""The network Beacon between real nodes (separate processes, their own data, keys and databases; SQLite and
PostgreSQL): its answer is the union of each node's own answer to the identity that node receives, for sequence,
range and gene queries at every granularity, and validates against the official schemas; refusals are reported as
such; each peer gets only the identity it is configured for; budgets charge the researcher; no token is logged.

Node a asks; its peer b (behind a recording proxy) takes passports, its peer c (behind another) bearer tokens.
  a: PUBLIC dataset (chromosomes 1, 2).
  b: PUBLIC dataset on 1 (the researcher is entitled: records); CONTROLLED dataset on 2 with the privacy budget on
     and a reference panel (yes/no, charged).
  c: CONTROLLED dataset on 1 with the privacy budget on and no panel (the researcher is entitled: records; anyone
     else signed in is refused, 403).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from access.models import AuditEvent
from access.visas import issue_passport
from beacon.privacy.models import PrivacyLedger
from catalogue.identity import Caller, Principal
from catalogue.models import PRIVACY_P, Assembly, SecurityLevel, Variant
from catalogue.services.genes import replace_genes
from ingest.genes import read_genes
from ingest.reference_af import load_reference_af
from ingest.synthetic import simulate_cohort, write_sample_sheet
from network.fanout import PEERS_SECONDS
from network.models import Peer, PeerState
from tests.beacon._schemas import validate
from tests.beacon.test_api import check
from tests.factories import make_entitlement
from tests.network.nodes import Node, nodes
from tests.network.proxy import Proxy, proxy_for
from tests.workers import wait_for

OPERATOR = Caller.cli_operator()
RESEARCHER = "researcher@uni.example"
STRANGER = "stranger@uni.example"
NET = "/network/beacon/v2/g_variants"
GENE = "NETG1"


@dataclass
class Network:
    a: Node
    b: Node
    c: Node
    pb: Proxy
    pc: Proxy
    token: str  # the researcher's, of a's issuer (b and c trust it)
    visa: str  # the researcher's visa from b, for b's public dataset
    datasets: dict[str, str]
    sites: dict[str, Variant]  # a variant of each node, for sequence queries

    def identities(self) -> dict[str, dict[str, str]]:
        """The caller's headers to a, and the headers each node gets from a for them."""
        return {"a": {"Authorization": f"Bearer {self.token}", "X-GA4GH-Passport": self.visa},
                "b": {"X-GA4GH-Passport": self.visa},  # passport peer
                "c": {"Authorization": f"Bearer {self.token}"}}  # bearer peer


def _cohort(folder: Path, name: str, seed: int, contigs: tuple[str, ...]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cohort = simulate_cohort(folder / f"{name}.vcf.gz", samples=12, variants_per_contig=120, contigs=contigs,
                             seed=seed, sv_rate=0.0)
    return cohort.path, write_sample_sheet(folder / f"{name}.tsv", cohort, seed=seed)


def _first_variant(node: Node, dataset_id: str, common: bool = False) -> Variant:
    """The dataset's first SNV (its most common one with `common`: cheap for the privacy budget)."""
    with node.session() as session:
        order = (col(Variant.ac).desc(), col(Variant.pos)) if common else (col(Variant.pos),)
        found = session.exec(select(Variant).where(Variant.dataset_id == dataset_id, col(Variant.ac) > 0,
                                                   Variant.variant_type == "SNV").order_by(*order)).first()
    assert found is not None
    return found


def _set_up(made: list[Node], data: Path) -> Network:
    a, b, c = made
    trust_a = json.dumps([{"issuer": a.url, "audience": "genomegate", "jwks_url": f"{a.url}/.well-known/jwks.json"}])
    files = {name: _cohort(data, name, seed, contigs) for name, seed, contigs in (
        ("a1", 101, ("1", "2")), ("b1", 202, ("1",)), ("b2", 203, ("2",)), ("c1", 304, ("1",)))}
    a1 = a.publish([files["a1"][0]], samples=files["a1"][1], title="a cohort")
    b1 = b.publish([files["b1"][0]], samples=files["b1"][1], title="b panel")
    b2 = b.publish([files["b2"][0]], samples=files["b2"][1], security=SecurityLevel.CONTROLLED,
                   title="b cohort", privacy_p=PRIVACY_P)
    c1 = c.publish([files["c1"][0]], samples=files["c1"][1], security=SecurityLevel.CONTROLLED, title="c cohort",
                   privacy_p=PRIVACY_P)
    (data / "genes.bed").write_text(f"chr1\t0\t10000000\t{GENE}\n")
    for node in made:
        with node.session() as session:
            replace_genes(session, OPERATOR, Assembly.GRCh38, read_genes(data / "genes.bed", "GRCh38"))
    with b.session() as session:
        load_reference_af(session, OPERATOR, [files["b2"][0]], assembly=Assembly.GRCh38)
        make_entitlement(session, RESEARCHER, b1.id)
        assert b.runtime.issuer is not None
        visas = issue_passport(session, Caller(principal=Principal(subject=RESEARCHER, issuer=b.url)),
                               b.runtime.issuer, b.settings)
    with c.session() as session:
        make_entitlement(session, RESEARCHER, c1.id)
    a.start(log_level="INFO")  # the access log is written: it must hold no token
    b.start(log_level="INFO")
    c.start(log_level="INFO", trusted_issuers=trust_a)
    for node in made:  # a first query loads what a node loads once, well before the tests' deadlines count
        httpx.get(f"{node.beacon}/g_variants", params={"referenceName": "1", "start": 0, "end": 100}, timeout=60)
    return Network(a, b, c, Proxy(""), Proxy(""), a.token(RESEARCHER), visas[0],
                   {"a1": a1.id, "b1": b1.id, "b2": b2.id, "c1": c1.id},
                   {"a": _first_variant(a, a1.id), "b": _first_variant(b, b2.id, common=True),
                    "c": _first_variant(c, c1.id)})


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def network(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    folder = tmp_path_factory.mktemp(f"network-{request.param}")
    database = None
    if request.param == "postgres":
        postgres = request.getfixturevalue("postgres")
        database = lambda name: postgres.create()  # noqa: E731
    with ExitStack() as stack:
        made = stack.enter_context(nodes(folder / "nodes", ["a", "b", "c"], database_url=database))
        net = _set_up(made, folder / "data")
        net.pb = stack.enter_context(proxy_for(net.b.url))
        net.pc = stack.enter_context(proxy_for(net.c.url))
        net.a.cli("network", "add", f"{net.pb.url}/beacon/v2", "--forward", "passport")
        net.a.cli("network", "add", f"{net.pc.url}/beacon/v2", "--forward", "bearer")
        yield net


def _direct(net: Network, params: dict[str, Any], headers: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Each node's own answer, asked directly with the identity it receives through the network."""
    out = {}
    for name in ("a", "b", "c"):
        node: Node = getattr(net, name)
        reply = httpx.get(f"{node.beacon}/g_variants", params=params, headers=headers[name], timeout=30)
        assert reply.status_code == 200, (name, reply.text)
        out[node.settings.beacon_id] = reply.json()
    return out


def _sets(body: dict[str, Any], beacon_id: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    return {(beacon_id or s["beaconId"], s["id"]): {k: v for k, v in s.items() if k != "beaconId"}
            for s in body.get("response", {}).get("resultSets", [])}


def _assert_union(network_body: dict[str, Any], direct: dict[str, dict[str, Any]]) -> None:
    check(network_body)  # the official schemas: the envelope of its granularity, and every record
    summaries = [d["responseSummary"] for d in direct.values()]
    assert network_body["responseSummary"]["exists"] is any(s["exists"] for s in summaries)
    totals = [s["numTotalResults"] for s in summaries if "numTotalResults" in s]
    if network_body["meta"]["returnedGranularity"] != "boolean":
        assert network_body["responseSummary"].get("numTotalResults") == (sum(totals) if totals else None)
    union: dict[tuple[str, str], dict[str, Any]] = {}
    for beacon_id, body in direct.items():
        union.update(_sets(body, beacon_id))
    assert _sets(network_body) == union
    nodes = {n["beaconId"]: n for n in network_body["info"]["network"]["nodes"]}
    assert set(nodes) == set(direct)
    for beacon_id, body in direct.items():
        assert nodes[beacon_id]["status"] == "answered", nodes[beacon_id]
        assert nodes[beacon_id]["exists"] is body["responseSummary"]["exists"]
        assert nodes[beacon_id]["returnedGranularity"] == body["meta"]["returnedGranularity"]
    assert network_body["meta"]["beaconId"] == "org.genomegate.a.network"


def _queries(net: Network) -> dict[str, dict[str, Any]]:
    queries: dict[str, dict[str, Any]] = {
        "range 1": {"referenceName": "1", "start": 0, "end": 10_000_000},
        "range 2": {"referenceName": "2", "start": 0, "end": 10_000_000},
        "gene": {"geneId": GENE},
    }
    for name, v in net.sites.items():
        queries[f"sequence of {name}"] = {"referenceName": v.chrom, "start": v.pos - 1, "referenceBases": v.ref,
                                          "alternateBases": v.alt}
    return queries


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
def test_the_network_answer_is_the_union_of_each_nodes_own_answer(network: Network, granularity: str) -> None:
    """For the researcher (records where entitled, budgeted yes/no elsewhere) and for an anonymous caller."""
    anonymous: dict[str, dict[str, str]] = {"a": {}, "b": {}, "c": {}}
    for who, headers in (("researcher", network.identities()), ("anonymous", anonymous)):
        for name, query in _queries(network).items():
            params = {**query, "requestedGranularity": granularity}
            reply = httpx.get(f"{network.a.url}{NET}", params=params, headers=headers["a"], timeout=30)
            assert reply.status_code == 200, (who, name, reply.text)
            _assert_union(reply.json(), _direct(network, params, headers))
    # record level reached each node through the identity it was sent
    body = httpx.get(f"{network.a.url}{NET}", params={**_queries(network)["range 1"], "requestedGranularity":
                                                      "record"}, headers=network.identities()["a"], timeout=30).json()
    levels = {(s["beaconId"], s["id"]): s["info"]["returnedGranularity"] for s in body["response"]["resultSets"]}
    assert levels[("org.genomegate.b", network.datasets["b1"])] == "record"  # the forwarded visa
    assert levels[("org.genomegate.c", network.datasets["c1"])] == "record"  # the forwarded token


def test_post_queries_and_datasets_are_answered_by_the_network(network: Network) -> None:
    body = {"meta": {"apiVersion": "v2.0.0"}, "query": {"requestParameters": {"g_variant": {
        "referenceName": "1", "start": [0], "end": [10_000_000]}}, "requestedGranularity": "count"}}
    posted = httpx.post(f"{network.a.url}{NET}", json=body, headers=network.identities()["a"], timeout=30).json()
    got = httpx.get(f"{network.a.url}{NET}", params={"referenceName": "1", "start": 0, "end": 10_000_000,
                                                      "requestedGranularity": "count"},
                    headers=network.identities()["a"], timeout=30).json()
    assert _sets(posted) == _sets(got) and posted["responseSummary"] == got["responseSummary"]
    datasets = httpx.get(f"{network.a.url}/network/beacon/v2/datasets", timeout=30).json()
    validate(datasets, "framework", "json", "responses", "beaconCollectionsResponse.json")
    held = {(d["info"]["beaconId"], d["id"]) for d in datasets["response"]["collections"]}
    assert held == {("org.genomegate.a", network.datasets["a1"]), ("org.genomegate.b", network.datasets["b1"]),
                    ("org.genomegate.b", network.datasets["b2"]), ("org.genomegate.c", network.datasets["c1"])}
    assert datasets["responseSummary"]["numTotalResults"] == 4


def test_a_query_naming_datasets_asks_each_node_for_those_it_holds(network: Network) -> None:
    ids = network.datasets
    assert ids["a1"] == ids["b1"] == ids["c1"] != ids["b2"]  # each node numbers its own datasets
    network.a.cli("network", "harvest")  # what the peers hold: their catalogues
    time.sleep(PEERS_SECONDS + 0.2)  # the fan-out reads the nodes at most every PEERS_SECONDS
    identities = network.identities()
    v = network.sites["b"]  # of b2, b's budgeted cohort: yes/no for the researcher
    query = {"referenceName": v.chrom, "start": v.pos - 1, "referenceBases": v.ref, "alternateBases": v.alt}

    # only b holds b2: a and c are not asked (they would answer 400, no such dataset, and show as erroring)
    body = httpx.get(f"{network.a.url}{NET}", params={**query, "datasetIds": ids["b2"]}, headers=identities["a"],
                     timeout=30).json()
    check(body)
    statuses = {n["beaconId"]: n["status"] for n in body["info"]["network"]["nodes"]}
    assert statuses == {"org.genomegate.a": "skipped", "org.genomegate.b": "answered",
                        "org.genomegate.c": "skipped"}
    alone = httpx.get(f"{network.b.beacon}/g_variants", params={**query, "datasetIds": ids["b2"]},
                      headers=identities["b"], timeout=30).json()
    assert _sets(body) == _sets(alone, "org.genomegate.b")
    assert body["responseSummary"] == alone["responseSummary"] and alone["responseSummary"]["exists"] is True

    # both (POST, nested): b is asked for both, a and c for the one each holds
    posted = {"meta": {"apiVersion": "v2.0.0"}, "query": {"requestParameters": {
        "g_variant": {"referenceName": v.chrom, "start": [v.pos - 1], "referenceBases": v.ref,
                      "alternateBases": v.alt},
        "datasets": {"datasetIds": [ids["b2"], ids["a1"]]}}}}
    body = httpx.post(f"{network.a.url}{NET}", json=posted, headers=identities["a"], timeout=30).json()
    direct = {}
    for name, held in (("a", [ids["a1"]]), ("b", [ids["b2"], ids["a1"]]), ("c", [ids["c1"]])):
        node: Node = getattr(network, name)
        reply = httpx.get(f"{node.beacon}/g_variants", params={**query, "datasetIds": ",".join(held)},
                          headers=identities[name], timeout=30)
        assert reply.status_code == 200, reply.text
        direct[node.settings.beacon_id] = reply.json()
    _assert_union(body, direct)


def test_the_network_lists_every_nodes_filtering_terms_once(network: Network) -> None:
    identities = network.identities()
    own = {}
    for name in ("a", "b", "c"):
        node: Node = getattr(network, name)
        reply = httpx.get(f"{node.beacon}/filtering_terms", headers=identities[name], timeout=30)
        assert reply.status_code == 200, reply.text
        own[name] = {t["id"] for t in reply.json()["response"]["filteringTerms"]}
    reply = httpx.get(f"{network.a.url}/network/beacon/v2/filtering_terms", headers=identities["a"], timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    validate(body, "framework", "json", "responses", "beaconFilteringTermsResponse.json")
    ids = [t["id"] for t in body["response"]["filteringTerms"]]
    assert len(ids) == len(set(ids))  # each term once
    assert set(ids) == own["a"] | own["b"] | own["c"] and set(ids) != own["a"]  # the peers' terms too
    assert {r["id"] for r in body["response"]["resources"]} == {"NCIT"}
    assert body["meta"]["beaconId"] == "org.genomegate.a.network"
    assert {n["beaconId"]: n["status"] for n in body["info"]["network"]["nodes"]} == {
        node.settings.beacon_id: "answered" for node in (network.a, network.b, network.c)}


def test_a_privacy_refusal_is_reported_as_refused_never_as_no(network: Network) -> None:
    stranger = network.a.token(STRANGER)  # signed in, no rights at c: its unpriced question is too revealing
    v = network.sites["c"]
    reply = httpx.get(f"{network.a.url}{NET}", params={"referenceName": v.chrom, "start": v.pos - 1,
                                                        "referenceBases": v.ref, "alternateBases": v.alt},
                      headers={"Authorization": f"Bearer {stranger}"}, timeout=30)
    assert reply.status_code == 200
    nodes = {n["beaconId"]: n for n in reply.json()["info"]["network"]["nodes"]}
    refused = nodes["org.genomegate.c"]
    assert refused["status"] == "refused" and refused["httpStatus"] == 403
    direct = httpx.get(f"{network.c.beacon}/g_variants", params={"referenceName": v.chrom, "start": v.pos - 1,
                                                                  "referenceBases": v.ref, "alternateBases": v.alt},
                       headers={"Authorization": f"Bearer {stranger}"}, timeout=30)
    assert direct.status_code == 403 and refused["message"] == direct.json()["error"]["errorMessage"]
    assert "exists" not in refused
    check(reply.json())


def test_each_peer_gets_only_the_identity_it_is_configured_for(network: Network) -> None:
    before_b, before_c = len(network.pb.queries()), len(network.pc.queries())
    params = {"referenceName": "1", "start": 0, "end": 10_000_000}
    assert httpx.get(f"{network.a.url}{NET}", params=params, headers=network.identities()["a"],
                     timeout=30).status_code == 200
    [to_b] = network.pb.queries()[before_b:]
    [to_c] = network.pc.queries()[before_c:]
    assert "authorization" not in to_b.headers and to_b.headers["x-ga4gh-passport"] == network.visa  # passport
    assert to_c.headers["authorization"] == f"Bearer {network.token}" and "x-ga4gh-passport" not in to_c.headers
    assert "cookie" not in to_b.headers and "cookie" not in to_c.headers
    with network.a.session() as session:  # c now configured to get nothing: it sees an anonymous caller
        peer = session.exec(select(Peer).where(Peer.beacon_url == f"{network.pc.url}/beacon/v2")).one()
        peer.forward = "none"
        session.add(peer)
        session.commit()
    time.sleep(PEERS_SECONDS + 0.1)  # the network Beacon reads its peers at most once a second
    try:
        httpx.get(f"{network.a.url}{NET}", params=params, headers=network.identities()["a"], timeout=30)
        last = network.pc.queries()[-1]
        assert "authorization" not in last.headers and "x-ga4gh-passport" not in last.headers
        assert "cookie" not in last.headers  # the proxy's cookie of the last answer was not kept
    finally:
        with network.a.session() as session:
            peer = session.exec(select(Peer).where(Peer.beacon_url == f"{network.pc.url}/beacon/v2")).one()
            peer.forward = "bearer"
            session.add(peer)
            session.commit()
        time.sleep(PEERS_SECONDS + 0.1)


def test_a_peers_budget_charges_the_researcher_not_the_network_node(network: Network) -> None:
    v = network.sites["b"]  # of b's budgeted cohort: yes/no for the researcher, charged to the researcher
    params = {"referenceName": v.chrom, "start": v.pos - 1, "referenceBases": v.ref, "alternateBases": v.alt}
    body = httpx.get(f"{network.a.url}{NET}", params=params, headers=network.identities()["a"], timeout=30).json()
    nodes = {n["beaconId"]: n for n in body["info"]["network"]["nodes"]}
    assert nodes["org.genomegate.b"].get("exists") is True, nodes["org.genomegate.b"]
    with network.b.session() as session:
        ledger = session.exec(select(PrivacyLedger).where(PrivacyLedger.dataset_id == network.datasets["b2"])).all()
    # the researcher's account (the visa's issuer, b, and subject) and its organisation (unaffiliated accounts of an
    # issuer share one); no one else, not the network node's address, was charged
    holders = {row.holder: row for row in ledger}
    assert set(holders) == {f"{network.b.url}|{RESEARCHER}", f"org:{network.b.url}"}
    assert holders[f"{network.b.url}|{RESEARCHER}"].kind == "account"
    assert all(row.spent > 0 and row.answered >= 1 for row in ledger)


def test_forwarded_queries_are_audited_and_no_token_is_logged(network: Network) -> None:
    params = {"referenceName": "1", "start": 0, "end": 10_000_000, "requestedGranularity": "count"}
    httpx.get(f"{network.a.url}{NET}", params=params, headers=network.identities()["a"], timeout=30)
    with network.a.session() as session:
        lines = session.exec(select(AuditEvent).where(AuditEvent.action == "network.beacon.query")
                             .order_by(col(AuditEvent.id))).all()
        everything = [json.dumps(e.model_dump(mode="json")) for e in session.exec(select(AuditEvent)).all()]
    last = lines[-1]
    assert last.actor == RESEARCHER
    assert {p["forward"] for p in last.details["peers"]} == {"passport", "bearer"}
    assert last.details["query"]["requestParameters"]["g_variant"]["referenceName"] == "1"
    secrets = [network.token, network.visa, network.token.split(".")[2], network.visa.split(".")[2]]
    # the access line is written once the response and its background work (the breakers) are done
    wait_for("the network query in a's access log", 10,
             lambda: '"path": "/network/beacon/v2/g_variants"' in network.a.log(), network.a.log)
    for node in (network.a, network.b, network.c):
        log = node.log()
        assert not any(s in log for s in secrets), f"a token in {node.name}'s log"
    assert not any(s in line for s in secrets for line in everything)


def test_a_backed_off_peer_is_not_asked_and_says_so(network: Network) -> None:
    with network.a.session() as session:
        peer = session.exec(select(Peer).where(Peer.beacon_url == f"{network.pb.url}/beacon/v2")).one()
        peer.state, peer.failures = PeerState.backed_off.value, 5
        peer.retry_at = peer.added_at.replace(year=peer.added_at.year + 1)
        session.add(peer)
        session.commit()
    time.sleep(PEERS_SECONDS + 0.1)  # the network Beacon reads its peers at most once a second
    before = len(network.pb.queries())
    try:
        body = httpx.get(f"{network.a.url}{NET}", params={"referenceName": "1", "start": 0, "end": 1000},
                         timeout=30).json()
        nodes = {n["beaconId"]: n for n in body["info"]["network"]["nodes"]}
        assert nodes["org.genomegate.b"]["status"] == "backedOff" and "retryAt" in nodes["org.genomegate.b"]
        assert len(network.pb.queries()) == before
        check(body)
    finally:
        with network.a.session() as session:
            peer = session.exec(select(Peer).where(Peer.beacon_url == f"{network.pb.url}/beacon/v2")).one()
            peer.state, peer.failures, peer.retry_at = PeerState.healthy.value, 0, None
            session.add(peer)
            session.commit()
        time.sleep(PEERS_SECONDS + 0.1)


def test_the_lookup_page_shows_each_nodes_answer(network: Network) -> None:
    page = httpx.get(f"{network.a.url}/variants", params={"chrom": "1", "start": "1", "end": "10000000",
                                                          "where": "network"}, timeout=30)
    assert page.status_code == 200
    for beacon_id in ("org.genomegate.a", "org.genomegate.b", "org.genomegate.c"):
        assert f'data-beacon="{beacon_id}" data-status="answered"' in page.text
    assert network.datasets["b1"] in page.text  # b's counted dataset listed under b
