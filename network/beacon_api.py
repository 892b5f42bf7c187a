"""The network Beacon under /network/beacon/v2: a Beacon v2 of its own whose g_variants and datasets queries are asked
of this node and its peers at once (network/fanout.py) and answered as one (network/combine.py). Thin routes; its
errors are Beacon error envelopes naming the network Beacon.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from beacon import framework
from beacon import request as parse
from beacon.api import BEACON_ERRORS, BeaconJSON, Endpoint, install_beacon_errors, query_pairs
from beacon.errors import InvalidParameter
from beacon.models import BeaconRequest
from beacon.responses import informational
from catalogue.database import session_scope
from catalogue.deps import SettingsDep, get_caller
from catalogue.identity import Caller
from catalogue.problems import document_errors
from catalogue.runtime import Runtime
from network.combine import (
    NetworkAnswer,
    combined_datasets,
    combined_filtering_terms,
    combined_variants,
    judge,
    judge_terms,
)
from network.deadline import DEADLINE_PARAMETER, parse_deadline, without_deadline
from network.fanout import Call, Judge, Network
from network.forwarding import PASSPORT_HEADER, identity_from_headers

__all__ = ["NETWORK_BEACON_PATH", "create_network_beacon_app", "g_variants", "router"]

NETWORK_BEACON_PATH = "/network/beacon/v2"

router = APIRouter()
_ERRORS = BEACON_ERRORS.responses(400, 401)
_ENTRIES = ("genomicVariation", "dataset")


def _network(request: Request) -> Network:
    network: Network = request.app.state.network
    return network


def _root(settings: Any) -> str:
    return f"{str(settings.public_base_url).rstrip('/')}{NETWORK_BEACON_PATH}"


@router.get("/", summary="The network Beacon's information (anyone)")
@router.get("/info", summary="The network Beacon's information (anyone)")
async def info(request: Request, settings: SettingsDep) -> dict[str, Any]:
    network = _network(request)
    document = framework.info(str(settings.public_base_url).rstrip("/"), network.network_id,
                              f"{settings.node_name} network")
    document["response"].update(
        welcomeUrl=_root(settings),
        description="One Beacon v2 for this node and its peers: each query is asked of every node at once and "
                    "answered by a deadline, each node's result sets tagged with its beaconId and its status in "
                    "info.network.nodes.")
    document["response"]["info"] = {**document["response"]["info"], "deadline": _DEADLINE_NOTE}
    return document


_DEADLINE_NOTE = ("answers arrive within the node's deadline (GENOMEGATE_NETWORK_DEADLINE_SECONDS); a request may ask "
                  f"for less with the query parameter {DEADLINE_PARAMETER}, in seconds (1.5, 1.5s) or "
                  "milliseconds (500ms)")


@router.get("/service-info", summary="GA4GH service-info of the network Beacon (anyone)")
async def service_info(request: Request, settings: SettingsDep) -> dict[str, Any]:
    document = framework.service_info(str(settings.public_base_url).rstrip("/"), _network(request).network_id,
                                      f"{settings.node_name} network")
    document["description"] = "GA4GH Beacon v2 of this node and its peers, asked at once"
    return document


@router.get("/configuration", summary="The network Beacon's configuration (anyone)")
async def configuration(request: Request) -> dict[str, Any]:
    return framework.configuration(_network(request).network_id, entries=_ENTRIES)


@router.get("/entry_types", summary="The network Beacon's entry types (anyone)")
async def entry_types(request: Request) -> dict[str, Any]:
    return framework.entry_types(_network(request).network_id, entries=_ENTRIES)


@router.get("/map", summary="The network Beacon's map (anyone)")
async def beacon_map(request: Request, settings: SettingsDep) -> dict[str, Any]:
    root = _root(settings)
    return informational({
        "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/"
                   "beaconMapSchema.json",
        "endpointSets": {
            "genomicVariation": {"entryType": "genomicVariation", "rootUrl": f"{root}/g_variants"},
            "dataset": {"entryType": "dataset", "rootUrl": f"{root}/datasets"},
        },
    }, beacon_id=_network(request).network_id)


@router.get("/filtering_terms", summary="The filtering terms of every node, once each (anyone)", responses=_ERRORS)
async def filtering_terms(request: Request) -> Response:
    answer = await ask_network(request, judging=judge_terms)
    return _respond(request, answer, combined_filtering_terms(answer))


async def _parsed(request: Request, max_limit: int, ceiling: float) -> tuple[BeaconRequest, Call, float]:
    """The request as this node's Beacon parses it (bad input: the envelope naming the field), the call passed on
    to every node (the caller's own query string or body, without the network's parameters), and the deadline."""
    pairs = query_pairs(request.scope["query_string"])
    deadline = parse_deadline([v for k, v in pairs if k.lower() == DEADLINE_PARAMETER], ceiling)
    query = without_deadline(request.scope["query_string"].decode("latin-1"))
    path = "/" + request.url.path.rstrip("/").rsplit("/", 1)[-1]
    if request.method == "POST":
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):
            raise InvalidParameter("body", "is not valid JSON") from None
        parsed = parse.from_body(body, max_limit=max_limit)
        call = Call("POST", path, query, raw, "application/json")
    else:
        parsed = parse.from_query([(k, v) for k, v in pairs if k.lower() != DEADLINE_PARAMETER], max_limit=max_limit)
        call = Call("GET", path, query)
    request.state.beacon_request = parsed
    return parsed, call, deadline


def _caller(request: Request, runtime: Runtime) -> Caller:
    with session_scope(runtime.engine) as session:
        return get_caller(request, runtime, session)


async def ask_network(request: Request, judging: Judge = judge) -> NetworkAnswer:
    """Parse the request, check the caller's token (a bad one: 401 before anything is passed on), ask the network."""
    started = time.monotonic()
    network = _network(request)
    settings = network.settings
    parsed, call, deadline = await _parsed(request, settings.max_page_size, settings.network_deadline_seconds)
    client = request.scope.get("client")
    identity = identity_from_headers(request.headers.get("authorization"), request.headers.get(PASSPORT_HEADER),
                                     client[0] if client else None)
    caller = (await run_in_threadpool(_caller, request, network.runtime) if identity.bearer or
              "authorization" in request.headers else Caller(address=identity.address))
    return await network.ask(caller, identity, parsed, call, deadline=deadline, started=started, judging=judging)


def _respond(request: Request, answer: NetworkAnswer, document: dict[str, Any]) -> Response:
    _network(request).report(answer)
    return BeaconJSON(document)


def _get_and_post(path: str, summary: str) -> Callable[[Endpoint], Endpoint]:
    def register(endpoint: Endpoint) -> Endpoint:
        router.get(path, summary=summary, responses=_ERRORS)(endpoint)
        return router.post(path, summary=summary, responses=_ERRORS, operation_id=f"{endpoint.__name__}_post")(endpoint)
    return register


@_get_and_post("/g_variants", "Query genomic variations across this node and its peers (anyone; each node answers "
               "at the granularity the identity it receives allows)")
async def g_variants(request: Request) -> Response:
    answer = await ask_network(request)
    return _respond(request, answer, combined_variants(answer))


@_get_and_post("/datasets", "Every node's published datasets (anyone)")
async def datasets(request: Request) -> Response:
    answer = await ask_network(request)
    return _respond(request, answer, combined_datasets(answer))


def create_network_beacon_app(runtime: Runtime, local: FastAPI) -> FastAPI:
    """The network Beacon sub-app, to mount at NETWORK_BEACON_PATH; `local` is this node's Beacon app."""
    app = FastAPI(title="GenomeGate network Beacon v2", version="0.1.0", default_response_class=BeaconJSON,
                  summary="GA4GH Beacon v2 of this node and its peers, asked at once under one deadline",
                  docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.network = Network(runtime, local)
    app.include_router(router)
    install_beacon_errors(app, app.state.network.network_id)
    document_errors(app, BEACON_ERRORS, authenticated=[get_caller], routers=[router])
    return app
