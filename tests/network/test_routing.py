"""Which node is asked for which datasets (network/routing.py, pure)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from network.routing import Call, held, narrowed


def test_a_node_is_asked_for_the_datasets_it_holds_in_the_order_asked() -> None:
    assert held(["D2", "D1", "D9"], {"D1", "D2"}) == ("D2", "D1")
    assert held(["D9"], {"D1"}) == ()  # none: not asked
    assert held(["D9"], None) is None  # not known (never harvested): asked as the caller asked


def test_a_get_call_keeps_its_other_parameters_and_names_only_those_datasets() -> None:
    call = Call("GET", "/g_variants", "referenceName=1&DATASETIDS=D1%2CD2&start=0&filters=a%2Cb")
    out = narrowed(call, ["D2"])
    assert parse_qsl(out.query) == [("referenceName", "1"), ("start", "0"), ("filters", "a,b"), ("datasetIds", "D2")]
    assert (out.method, out.path, out.body) == ("GET", "/g_variants", b"")


def test_a_post_call_names_only_those_datasets_where_the_caller_put_them() -> None:
    for parameters in ({"referenceName": "1", "datasetIds": ["D1", "D2"]},
                       {"g_variant": {"referenceName": "1"}, "datasets": {"datasetIds": "D1,D2"}}):
        body = {"meta": {"apiVersion": "v2.0.0"}, "query": {"requestParameters": parameters,
                                                            "requestedGranularity": "count"}}
        call = Call("POST", "/g_variants", "", json.dumps(body).encode(), "application/json")
        out = json.loads(narrowed(call, ["D1"]).body)
        flat = out["query"]["requestParameters"]
        found = flat.get("datasetIds") or flat["datasets"]["datasetIds"]
        assert found == ["D1"] and out["query"]["requestedGranularity"] == "count"
        assert "referenceName" in json.dumps(flat)
