"""Which node is asked for which datasets (pure): a query naming `datasetIds` goes to the nodes that hold some of
them, each asked for those it holds only; a node known to hold none is not asked (it would answer 400, "no such
dataset", and show as erroring).

Dataset identifiers are a node's own (two nodes may each have a GGD000001), so an identifier goes to every node
holding one by that name. What a node holds: this node's published datasets, and a peer's datasets as its last
good catalogue harvest listed them; a peer never harvested (another implementation, or not yet) is asked with the
identifiers as given.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = ["DATASET_IDS", "Call", "held", "narrowed"]

DATASET_IDS = "datasetIds"


@dataclass(frozen=True, slots=True)
class Call:
    """The Beacon request to pass on: method, path under a Beacon root, raw query string and body."""

    method: str
    path: str  # e.g. /g_variants
    query: str = ""  # already percent-encoded, without the network's own parameters
    body: bytes = b""
    content_type: str | None = None


def held(wanted: Sequence[str], holds: Collection[str] | None) -> tuple[str, ...] | None:
    """The datasets asked for that a node holds, in the order asked (empty: none); None when what the node holds
    is not known, so the call goes to it unchanged."""
    if holds is None:
        return None
    return tuple(i for i in wanted if i in holds)


def narrowed(call: Call, ids: Sequence[str]) -> Call:
    """The call with its dataset identifiers replaced by `ids` (GET: the query string; POST: the body's request
    parameters, flat or nested, wherever the caller put them)."""
    if call.method == "POST" and call.body.strip():
        body = json.loads(call.body)
        parameters = body.get("query", {}).get("requestParameters") if isinstance(body, dict) else None
        if isinstance(parameters, dict):
            _replace(parameters, list(ids))
            return replace(call, body=json.dumps(body, separators=(",", ":")).encode())
    pairs = [(k, v) for k, v in parse_qsl(call.query, keep_blank_values=True) if k.lower() != DATASET_IDS.lower()]
    return replace(call, query=urlencode([*pairs, (DATASET_IDS, ",".join(ids))]))


def _replace(parameters: dict[str, Any], ids: list[str]) -> None:
    """Set every `datasetIds` (any spelling of its case) among the parameters and their nested groups to `ids`."""
    for key, value in parameters.items():
        if key.lower() == DATASET_IDS.lower():
            parameters[key] = ids
        elif isinstance(value, dict):
            _replace(value, ids)
