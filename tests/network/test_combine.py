"""The network Beacon's pure parts: judging a node's reply, combining answers, the deadline, what each peer is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from beacon.errors import InvalidParameter
from beacon.granularity import Granularity
from beacon.models import BeaconRequest
from catalogue.errors import InvalidInput
from network.combine import (
    NetworkAnswer,
    Node,
    NodeReply,
    NodeStatus,
    backed_off,
    combined_filtering_terms,
    combined_variants,
    judge,
    judge_terms,
)
from network.deadline import parse_deadline, without_deadline
from network.forwarding import Identity, headers_for, identity_from_headers
from network.models import Forwarding

NODE = Node("org.example.x", "X", "http://x.example/beacon/v2", "x")


def _answer(exists: bool, total: int | None, sets: list[dict[str, Any]], granularity: str = "count") -> bytes:
    summary: dict[str, Any] = {"exists": exists}
    if total is not None:
        summary["numTotalResults"] = total
    return json.dumps({"meta": {"beaconId": "x", "apiVersion": "v2.0.0", "returnedGranularity": granularity},
                       "responseSummary": summary, "response": {"resultSets": sets}}).encode()


@pytest.mark.parametrize(("reply", "status", "message"), [
    (NodeReply(5, 200, _answer(True, 3, [])), NodeStatus.answered, None),
    (NodeReply(5, 403, b'{"meta": {}, "error": {"errorCode": 403, "errorMessage": "too revealing"}}'),
     NodeStatus.refused, "too revealing"),
    (NodeReply(5, 429, b"busy"), NodeStatus.refused, "HTTP 429"),
    (NodeReply(5, 401, b'{"detail": "the token is expired"}'), NodeStatus.refused, "the token is expired"),
    (NodeReply(5, 502, b"<html>bad gateway</html>"), NodeStatus.erroring, "HTTP 502"),
    (NodeReply(5, 400, b'{"error": {"errorCode": 400, "errorMessage": "start: not an integer"}}'),
     NodeStatus.erroring, "start: not an integer"),
    (NodeReply(5, 200, b"not json"), NodeStatus.erroring, "not a Beacon v2 response"),
    (NodeReply(5, 200, b'{"meta": {}, "responseSummary": {"exists": "maybe"}}'), NodeStatus.erroring,
     "responseSummary.exists"),
    (NodeReply(5, 200, _answer(True, -1, [])), NodeStatus.erroring, "numTotalResults"),
    (NodeReply(5, 200, _answer(True, 1, [{"id": "d", "exists": True}])), NodeStatus.erroring, "resultsCount"),
    (NodeReply(5, failure="could not be reached (ConnectError)"), NodeStatus.erroring, "could not be reached"),
    (NodeReply(2000, timed_out=True), NodeStatus.timed_out, "no answer by the deadline"),
])
def test_a_reply_is_judged(reply: NodeReply, status: NodeStatus, message: str | None) -> None:
    outcome = judge(NODE, reply)
    assert outcome.status is status
    if message is None:
        assert outcome.message is None and outcome.exists is True and outcome.total == 3
    else:
        assert outcome.message is not None and message in outcome.message


def test_answers_combine_exists_any_totals_over_counting_nodes_and_sets_tagged() -> None:
    nodes = [Node(f"org.example.{n}", n, f"http://{n}/beacon/v2", None if n == "a" else n) for n in "abcde"]
    one_set = {"id": "D1", "setType": "dataset", "exists": True, "resultsCount": 4, "results": [],
               "info": {"returnedGranularity": "count", "carriers": None}}
    outcomes = (
        judge(nodes[0], NodeReply(3, 200, _answer(True, 4, [one_set]))),
        judge(nodes[1], NodeReply(4, 200, _answer(True, None, [], "boolean"))),  # yes/no: no count
        judge(nodes[2], NodeReply(4, 200, _answer(False, 0, [{**one_set, "exists": False, "resultsCount": 0}]))),
        judge(nodes[3], NodeReply(9, 403, b"{}")),
        backed_off(nodes[4], None),
    )
    answer = NetworkAnswer(BeaconRequest(granularity=Granularity.COUNT), outcomes, 2000, "org.example.a.network")
    body = combined_variants(answer)
    assert body["meta"]["beaconId"] == "org.example.a.network"
    assert body["meta"]["returnedGranularity"] == "count"
    assert body["responseSummary"] == {"exists": True, "numTotalResults": 4}
    assert [(s["beaconId"], s["id"], s["resultsCount"]) for s in body["response"]["resultSets"]] == [
        ("org.example.a", "D1", 4), ("org.example.c", "D1", 0)]
    assert body["response"]["resultSets"][0]["info"] == {"returnedGranularity": "count", "carriers": None}
    statuses = [(n["beaconId"], n["status"]) for n in body["info"]["network"]["nodes"]]
    assert statuses == [("org.example.a", "answered"), ("org.example.b", "answered"), ("org.example.c", "answered"),
                        ("org.example.d", "refused"), ("org.example.e", "backedOff")]
    assert body["info"]["network"]["numTotalResultsOf"] == ["org.example.a", "org.example.c"]
    nobody = NetworkAnswer(BeaconRequest(granularity=Granularity.COUNT), outcomes[3:], 2000, "n")
    assert combined_variants(nobody)["responseSummary"] == {"exists": False}  # a refusal is never a "no" count


def _terms(*ids: str) -> bytes:
    return json.dumps({"meta": {"beaconId": "x", "apiVersion": "v2.0.0"}, "response": {
        "filteringTerms": [{"type": "alphanumeric", "id": i, "label": f"{i} at x"} for i in ids],
        "resources": [{"id": "NCIT", "name": "NCI Thesaurus"}]}}).encode()


def test_filtering_terms_combine_each_term_once_and_a_bad_list_is_erroring() -> None:
    a, b, c = (Node(f"org.example.{n}", n, f"http://{n}/beacon/v2", None if n == "a" else n) for n in "abc")
    outcomes = (judge_terms(a, NodeReply(3, 200, _terms("sex:female", "population:EUR"))),
                judge_terms(b, NodeReply(4, 200, _terms("population:EUR", "population:AFR"))),
                judge_terms(c, NodeReply(4, 200, b'{"meta": {}, "response": {"filteringTerms": [{"label": "?"}]}}')))
    assert outcomes[2].status is NodeStatus.erroring  # a term without its id and type
    assert "not a Beacon v2 response (response.filteringTerms.0.id" in (outcomes[2].message or "")
    body = combined_filtering_terms(NetworkAnswer(BeaconRequest(), outcomes, 2000, "org.example.a.network"))
    assert [(t["id"], t["label"]) for t in body["response"]["filteringTerms"]] == [
        ("sex:female", "sex:female at x"), ("population:EUR", "population:EUR at x"),
        ("population:AFR", "population:AFR at x")]
    assert body["response"]["resources"] == [{"id": "NCIT", "name": "NCI Thesaurus"}]
    assert [n["status"] for n in body["info"]["network"]["nodes"]] == ["answered", "answered", "erroring"]
    assert judge_terms(a, NodeReply(5, 403, b"{}")).status is NodeStatus.refused


@pytest.mark.parametrize(("values", "seconds"), [
    ([], 2.0), (["1.5"], 1.5), (["1.5s"], 1.5), (["500ms"], 0.5), (["500MS"], 0.5), (["60"], 2.0), (["10ms"], 0.01),
])
def test_the_deadline_asked_for(values: list[str], seconds: float) -> None:
    assert parse_deadline(values, 2.0) == seconds


@pytest.mark.parametrize("values", [["soon"], ["-1"], ["0"], ["5ms"], ["1", "2"], ["9" * 30], ["1e3"], ["nan"]])
def test_a_bad_deadline_is_refused_naming_it(values: list[str]) -> None:
    with pytest.raises(InvalidParameter, match="^deadline"):
        parse_deadline(values, 2.0)


def test_the_deadline_is_taken_out_of_what_is_passed_on() -> None:
    assert without_deadline("referenceName=1&deadline=5ms&start=0") == "referenceName=1&start=0"
    assert without_deadline("DEADLINE=1&a=%2C") == "a=%2C"
    assert without_deadline("referenceName=1&start=0") == "referenceName=1&start=0"


def test_each_peer_gets_what_it_is_configured_for_and_nothing_else() -> None:
    who = Identity(bearer="tok", visas=("v1", "v2"), address="10.0.0.1")
    assert headers_for(Forwarding.none, who) == {}
    assert headers_for(Forwarding.bearer, who) == {"Authorization": "Bearer tok"}
    assert headers_for(Forwarding.passport, who) == {"X-GA4GH-Passport": "v1,v2"}
    assert headers_for(None, who) == {"Authorization": "Bearer tok", "X-GA4GH-Passport": "v1,v2"}  # this node
    assert headers_for(Forwarding.bearer, Identity()) == {} and headers_for(Forwarding.passport, Identity()) == {}
    assert "tok" not in repr(who) and "v1" not in repr(who)
    assert who.with_visas(["v2", "v3"]).visas == ("v1", "v2", "v3")


def test_identity_headers_are_bounded() -> None:
    assert identity_from_headers("Bearer abc", "a, b", None) == Identity("abc", ("a", "b"))
    assert identity_from_headers("Basic abc", None, None).bearer is None
    with pytest.raises(InvalidInput, match="bearer token"):
        identity_from_headers("Bearer " + "x" * 20_000, None, None)
    with pytest.raises(InvalidInput, match="visas"):
        identity_from_headers(None, ",".join(["v"] * 101), None)
