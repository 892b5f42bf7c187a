"""The network Beacon's answer (pure): each node's reply judged (answered, refused, timed out, erroring, backed off)
and the answers that arrived combined into one Beacon v2 response.

Nothing here waits or touches a database: `network/fanout.py` asks the nodes and hands their replies here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from beacon.granularity import Granularity
from beacon.models import BeaconRequest
from beacon.responses import informational, meta, summary_response

__all__ = [
    "FilteringTerm", "NetworkAnswer", "Node", "NodeOutcome", "NodeReply", "NodeStatus", "ResultSet", "backed_off",
    "combined_datasets", "combined_filtering_terms", "combined_variants", "judge", "judge_terms", "not_holding",
]

MAX_MESSAGE = 500  # characters of a node's error message passed on


class NodeStatus(StrEnum):
    """What became of one node's part of a network query."""

    answered = "answered"
    refused = "refused"  # 401, 403 or 429: the node declined to answer this caller (a privacy refusal is one)
    timed_out = "timedOut"  # no answer by the deadline
    erroring = "erroring"  # unreachable, 5xx, another error status, or an answer that is not a Beacon v2 response
    backed_off = "backedOff"  # not asked: its circuit is open after repeated failures
    skipped = "skipped"  # not asked: it holds none of the datasets the query names (network/routing.py)


@dataclass(frozen=True, slots=True)
class Node:
    """A node the network Beacon asks: this node itself (`peer_id` None) or a peer."""

    beacon_id: str
    name: str
    url: str  # its Beacon v2 root
    peer_id: str | None = None

    @property
    def local(self) -> bool:
        return self.peer_id is None


@dataclass(frozen=True, slots=True)
class NodeReply:
    """What came back from asking a node: an HTTP status and body, or the transport's failure."""

    latency_ms: float
    status_code: int | None = None
    body: bytes = b""
    failure: str | None = None  # why nothing usable came back (unreachable, too large)
    timed_out: bool = False


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow")


_Read = TypeVar("_Read", bound=_Strict)


class ResultSet(_Strict):
    """A result set as a node sent it; what it holds beyond the fields read here passes through untouched."""

    id: str = Field(max_length=500)
    setType: str = Field(default="dataset", max_length=100)
    exists: bool
    resultsCount: int = Field(ge=0)
    results: list[dict[str, Any]] = Field(default_factory=list)
    info: dict[str, Any] | None = None


class _Summary(_Strict):
    exists: bool
    numTotalResults: int | None = Field(default=None, ge=0)


class _Meta(_Strict):
    returnedGranularity: Literal["boolean", "count", "record"] = "boolean"


class _Response(_Strict):
    resultSets: list[ResultSet] = Field(default_factory=list)
    collections: list[dict[str, Any]] = Field(default_factory=list)


class _Answer(_Strict):
    meta: _Meta
    responseSummary: _Summary
    response: _Response | None = None
    info: dict[str, Any] | None = None


class FilteringTerm(_Strict):
    """A filtering term as a node listed it; what it holds beyond the fields read here passes through untouched."""

    id: str = Field(min_length=1, max_length=500)
    type: str = Field(max_length=100)


class _TermsResponse(_Strict):
    filteringTerms: list[FilteringTerm] = Field(default_factory=list, max_length=100_000)
    resources: list[dict[str, Any]] = Field(default_factory=list, max_length=1_000)


class _TermsAnswer(_Strict):
    meta: dict[str, Any]
    response: _TermsResponse


@dataclass(frozen=True, slots=True)
class NodeOutcome:
    """One node's part of a network answer: its status and, when it answered, what it said."""

    node: Node
    status: NodeStatus
    latency_ms: float | None = None
    http_status: int | None = None
    message: str | None = None
    granularity: Granularity = Granularity.BOOLEAN
    exists: bool | None = None
    total: int | None = None  # numTotalResults, when the node gave one
    result_sets: tuple[ResultSet, ...] = ()
    collections: tuple[dict[str, Any], ...] = ()
    info: dict[str, Any] | None = None
    retry_at: datetime | None = None  # backed off until
    filtering_terms: tuple[FilteringTerm, ...] = ()  # of a filtering_terms answer
    resources: tuple[dict[str, Any], ...] = ()  # the ontologies its filtering terms come from

    @property
    def healthy(self) -> bool:
        """Whether the node did its part (a refusal is an answer): what its circuit breaker is told."""
        return self.status in (NodeStatus.answered, NodeStatus.refused) or (
            self.status is NodeStatus.erroring and self.http_status is not None and 400 <= self.http_status < 500)


def _message(body: bytes, status: int) -> str:
    """The node's own words from a Beacon error envelope (or a problem+json detail), else the HTTP status."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if isinstance(document, dict):
        error = document.get("error")
        for text in ((error or {}).get("errorMessage") if isinstance(error, dict) else None, document.get("detail")):
            if isinstance(text, str) and text.strip():
                return text.strip()[:MAX_MESSAGE]
    return f"HTTP {status}"


def judge(node: Node, reply: NodeReply) -> NodeOutcome:
    """A node's reply to a query as an outcome: answered (a readable Beacon v2 answer), refused, timed out or
    erroring."""
    return _judged(node, reply, _Answer, _answered_query)


def judge_terms(node: Node, reply: NodeReply) -> NodeOutcome:
    """A node's reply to /filtering_terms as an outcome: answered with its terms and resources, or as `judge`."""
    return _judged(node, reply, _TermsAnswer, lambda answer: {
        "filtering_terms": tuple(answer.response.filteringTerms), "resources": tuple(answer.response.resources)})


def _answered_query(answer: _Answer) -> dict[str, Any]:
    response = answer.response or _Response()
    return {"granularity": Granularity.parse(answer.meta.returnedGranularity),
            "exists": answer.responseSummary.exists, "total": answer.responseSummary.numTotalResults,
            "result_sets": tuple(response.resultSets), "collections": tuple(response.collections),
            "info": answer.info}


def _judged(node: Node, reply: NodeReply, model: type[_Read], answered: Callable[[_Read], dict[str, Any]]
            ) -> NodeOutcome:
    """Timed out, unreachable, refused (401, 403, 429), erroring (another status, or a body `model` cannot read),
    else answered with what `answered` reads from the document."""
    latency = round(reply.latency_ms, 1)
    if reply.timed_out:
        return NodeOutcome(node, NodeStatus.timed_out, latency, message="no answer by the deadline")
    if reply.failure is not None or reply.status_code is None:
        return NodeOutcome(node, NodeStatus.erroring, latency, message=(reply.failure or "no answer")[:MAX_MESSAGE])
    status = reply.status_code
    if status in (401, 403, 429):
        return NodeOutcome(node, NodeStatus.refused, latency, status, _message(reply.body, status))
    if status != 200:
        return NodeOutcome(node, NodeStatus.erroring, latency, status, _message(reply.body, status))
    try:
        document = model.model_validate_json(reply.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the document"
        return NodeOutcome(node, NodeStatus.erroring, latency, status,
                           f"its answer is not a Beacon v2 response ({where}: {first['msg']})"[:MAX_MESSAGE])
    return NodeOutcome(node, NodeStatus.answered, latency, status, **answered(document))


def not_holding(node: Node) -> NodeOutcome:
    return NodeOutcome(node, NodeStatus.skipped, message="not asked: it holds none of the datasets asked for")


def backed_off(node: Node, retry_at: datetime | None) -> NodeOutcome:
    return NodeOutcome(node, NodeStatus.backed_off, message="not asked: it failed repeatedly and is backed off",
                       retry_at=retry_at)


@dataclass(frozen=True, slots=True)
class NetworkAnswer:
    """A network query's outcome: every node's part, in the order the nodes were listed (this node first)."""

    request: BeaconRequest
    outcomes: tuple[NodeOutcome, ...]
    deadline_ms: float
    network_id: str
    elapsed_ms: float = 0.0
    answered: tuple[NodeOutcome, ...] = field(init=False)
    to_record: dict[str, NodeOutcome] = field(default_factory=dict)  # peer id -> what its breaker must hear

    def __post_init__(self) -> None:
        object.__setattr__(self, "answered", tuple(o for o in self.outcomes if o.status is NodeStatus.answered))

    @property
    def exists(self) -> bool:
        return any(o.exists for o in self.answered)

    @property
    def granularity(self) -> Granularity:
        return max((o.granularity for o in self.answered), default=Granularity.BOOLEAN)

    @property
    def total(self) -> int | None:
        """numTotalResults summed over the nodes that gave one (None when none did)."""
        counted = [o.total for o in self.answered if o.total is not None]
        return sum(counted) if counted else None


def _node_entry(outcome: NodeOutcome) -> dict[str, Any]:
    node = outcome.node
    entry: dict[str, Any] = {"beaconId": node.beacon_id, "name": node.name, "url": node.url,
                             "local": node.local, "status": outcome.status.value}
    if outcome.latency_ms is not None:
        entry["latencyMs"] = outcome.latency_ms
    if outcome.http_status is not None and outcome.status is not NodeStatus.answered:
        entry["httpStatus"] = outcome.http_status
    if outcome.message:
        entry["message"] = outcome.message
    if outcome.retry_at is not None:
        entry["retryAt"] = outcome.retry_at.isoformat()
    if outcome.status is NodeStatus.answered:
        entry["exists"] = outcome.exists
        entry["returnedGranularity"] = outcome.granularity.label
        if outcome.total is not None:
            entry["numTotalResults"] = outcome.total
        if outcome.info:
            entry["info"] = outcome.info
    return entry


def network_info(answer: NetworkAnswer) -> dict[str, Any]:
    """`info.network`: the deadline, and every node's status (and, when it answered, its summary and info)."""
    counted = [o.node.beacon_id for o in answer.answered if o.total is not None]
    return {"network": {
        "beaconId": answer.network_id, "deadlineMs": round(answer.deadline_ms, 1),
        "elapsedMs": round(answer.elapsed_ms, 1), "nodes": [_node_entry(o) for o in answer.outcomes],
        "numTotalResultsOf": counted,
    }}


def combined_variants(answer: NetworkAnswer, entity: str = "genomicVariation") -> dict[str, Any]:
    """The network's g_variants response: `exists` if any node says so, numTotalResults summed over the nodes that
    gave counts, each node's result sets tagged with its beaconId, and every node's status in `info.network`."""
    granularity = answer.granularity
    # as the node sent them (unset fields stay out), setType given, tagged with the node
    sets = [{**s.model_dump(exclude_unset=True), "setType": s.setType, "beaconId": o.node.beacon_id}
            for o in answer.answered for s in o.result_sets]
    return summary_response(answer.request, granularity, entity, exists=answer.exists, total=answer.total,
                            result_sets=sets, info=network_info(answer), beacon_id=answer.network_id)


def combined_datasets(answer: NetworkAnswer) -> dict[str, Any]:
    """The network's datasets: every node's dataset records, each naming its node in `info.beaconId`."""
    collections = [{**doc, "info": {**_object(doc.get("info")), "beaconId": o.node.beacon_id}}
                   for o in answer.answered for doc in o.collections]
    return {
        "meta": meta(answer.request, Granularity.RECORD, "dataset", answer.network_id),
        "responseSummary": {"exists": answer.exists, "numTotalResults": answer.total or 0},
        "response": {"collections": collections},
        "info": network_info(answer),
    }


def combined_filtering_terms(answer: NetworkAnswer) -> dict[str, Any]:
    """The network's filtering terms: every term some node that answered understands, once (as the first node
    listing it has it, this node first), with the resources they come from, and every node's status in `info`."""
    terms: dict[str, dict[str, Any]] = {}
    resources: dict[str, dict[str, Any]] = {}
    for outcome in answer.answered:
        for term in outcome.filtering_terms:
            terms.setdefault(term.id, term.model_dump(exclude_unset=True))
        for resource in outcome.resources:
            key = str(resource.get("id") or resource.get("url") or len(resources))
            resources.setdefault(key, resource)
    document = informational({"filteringTerms": list(terms.values()), "resources": list(resources.values())},
                             beacon_id=answer.network_id)
    document["info"] = network_info(answer)
    return document


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
