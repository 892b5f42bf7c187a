"""The Beacon v2 HTTP sub-app under /beacon/v2: thin routes, and errors as Beacon error envelopes.

Concurrency: a route reads its request (and parses it) on the event loop, and runs everything that touches
the database, files or the network on the thread pool (plain `def` dependencies, `run_in_threadpool`).
The one exception is `VariantQueries`' fast path: an anonymous, unfiltered variant query on a SQLite
catalogue is answered on the loop from the loop thread's own read-only connection (microseconds of
memory-mapped reads, never waiting for a pool or a lock), as a hop to the thread pool would cost more.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic_core import to_json
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from access.deps import PassportCallerDep, rejected_visas, with_visas
from beacon import entries, framework
from beacon import request as parse
from beacon.errors import InvalidParameter
from beacon.models import BeaconRequest
from beacon.privacy.services import Gate
from beacon.reference import References
from beacon.responses import error_response
from beacon.services import query_variants
from beacon.testmode import test_answer
from catalogue.database import DatabaseBusy, make_loop_reader, session_scope
from catalogue.deps import CallerDep, ReadSessionDep, SessionDep, SettingsDep, get_caller
from catalogue.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from catalogue.identity import Caller
from catalogue.problems import ErrorFormat, document_errors, retry_headers, validation_errors
from catalogue.runtime import Runtime
from catalogue.settings import Settings

__all__ = [
    "BEACON_ERRORS", "BEACON_PATH", "BeaconJSON", "BeaconShortcuts", "Endpoint", "VariantQueries", "answer_directly",
    "create_beacon_app", "error_envelope", "g_variants", "install_beacon_errors", "query_pairs", "router",
]

BEACON_PATH = "/beacon/v2"

log = logging.getLogger("genomegate.beacon")

ERROR_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400, NotFound: 404, Unauthenticated: 401, Forbidden: 403, Conflict: 400, RateLimited: 429,
    DatabaseBusy: 503,
}

router = APIRouter()

# The Beacon error envelope, for the sub-app's OpenAPI documentation.
BEACON_ERRORS = ErrorFormat({
    "title": "BeaconErrorResponse", "type": "object", "required": ["meta", "error"],
    "properties": {"meta": {"type": "object"}, "error": {
        "type": "object", "required": ["errorCode"],
        "properties": {"errorCode": {"type": "integer"}, "errorMessage": {"type": "string"}}}},
}, validation_status=None)


# Variant queries read the caller themselves (a bad token: 401) and spend privacy budgets (refused: 403, 429).
_QUERY_ERRORS = BEACON_ERRORS.responses(401, 403, 429)


def _get_and_post(path: str, *, summary: str, responses: dict[int | str, dict[str, Any]] | None = None
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Route GET and POST of `path` to one endpoint as two operations (`api_route` with both methods would give
    them one operationId, which OpenAPI forbids)."""

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.get(path, summary=summary, responses=responses)(endpoint)
        return router.post(path, summary=summary, responses=responses,
                           operation_id=f"{endpoint.__name__}_post")(endpoint)

    return register


async def _parsed(request: Request, max_limit: int) -> BeaconRequest:
    if request.method == "POST":
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):  # catalogue.limits refuses deep bodies first; this is the backstop
            raise InvalidParameter("body", "is not valid JSON") from None
        parsed = parse.from_body(body, max_limit=max_limit)
    else:
        parsed = parse.from_query(query_pairs(request.scope["query_string"]), max_limit=max_limit)
    request.state.beacon_request = parsed
    return parsed


def query_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The pairs of a query string as Starlette's request.query_params would hold them (`parse_qsl`), without
    its multi-dict; a query string with nothing escaped (most Beacon queries) is split without unquoting."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True)
    return [(name, value) for name, _, value in (part.partition("=") for part in text.split("&") if part)]


class BeaconJSON(JSONResponse):
    """The Beacon's JSON documents, rendered by pydantic-core: the bytes Starlette's JSONResponse would send
    (compact, UTF-8), in a fifth of the time (a g_variants answer: 16 -> 3 us)."""

    def render(self, content: Any) -> bytes:
        return to_json(content)


def _answer(request: Request, document: dict[str, Any]) -> BeaconJSON:
    rejected = rejected_visas(request)
    if rejected:
        document.setdefault("info", {})["rejectedVisas"] = rejected
    return BeaconJSON(document)


def _base(settings: Any) -> str:
    return str(settings.public_base_url).rstrip("/")


@router.get("/", summary="Beacon information (anyone)")
@router.get("/info", summary="Beacon information (anyone)")
async def info(settings: SettingsDep) -> dict[str, Any]:
    return framework.info(_base(settings), settings.beacon_id, settings.node_name)


@router.get("/service-info", summary="GA4GH service-info (anyone)")
async def service_info(settings: SettingsDep) -> dict[str, Any]:
    return framework.service_info(_base(settings), settings.beacon_id, settings.node_name)


@router.get("/configuration", summary="Beacon configuration (anyone)")
async def configuration(settings: SettingsDep) -> dict[str, Any]:
    return framework.configuration(settings.beacon_id)


@router.get("/map", summary="Beacon map (anyone)")
async def beacon_map(settings: SettingsDep) -> dict[str, Any]:
    return framework.beacon_map(_base(settings), settings.beacon_id)


@router.get("/entry_types", summary="Entry types (anyone)")
async def entry_types(settings: SettingsDep) -> dict[str, Any]:
    return framework.entry_types(settings.beacon_id)


@router.get("/filtering_terms", summary="Filters this Beacon understands (anyone)")
def filtering_terms(session: ReadSessionDep, settings: SettingsDep) -> dict[str, Any]:
    return framework.filtering_terms(session, settings.beacon_id)


@dataclass(frozen=True, slots=True)
class QueryCall:
    settings: Settings
    session: Session  # the primary's: charges and the audit
    caller: Caller
    reads: Session  # the read replica's (the primary's own without one): the index, samples, datasets


def _query_call(request: Request) -> Iterator[QueryCall]:
    """Settings, sessions and caller (with visas) of a query, resolved as one dependency (on the thread pool:
    the caller's roles are read, an issuer's keys may be fetched)."""
    runtime: Runtime = request.app.state.runtime
    with _sessions(runtime) as (session, reads):
        caller = with_visas(request, get_caller(request, runtime, session), session)
        yield QueryCall(runtime.settings, session, caller, reads)


@contextmanager
def _sessions(runtime: Runtime, reader: Engine | None = None) -> Iterator[tuple[Session, Session]]:
    """The primary's session and the one reads go through: `reader`'s, else the runtime's read replica's,
    else the primary's own (each takes its connection when first used)."""
    reading = reader or runtime.read_engine
    with session_scope(runtime.engine) as session:
        if reading is None:
            yield session, session
            return
        with session_scope(reading) as reads:
            yield session, reads


QueryCallDep = Annotated[QueryCall, Depends(_query_call)]


_IDENTITY_HEADERS = (b"authorization", b"x-ga4gh-passport")


class VariantQueries:
    """The variant query (GET or POST g_variants) from request to response.

    The sub-app's routes call it, and `BeaconShortcuts` hands the busiest route its requests
    before routing and dependency resolution. The request is read and parsed on the event loop; then an
    anonymous, unfiltered query on a SQLite catalogue (`on_loop`) is answered right there, from `reader`
    (the loop thread's own read-only connection, see `catalogue.database.make_loop_reader`), and every
    other one on the thread pool: a signed-in caller's token and roles, visas, privacy budgets, audit
    writes, genotypes read from files, and every PostgreSQL round trip.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.references = References(runtime.settings.reference_fasta)
        self.reader: Engine | None = make_loop_reader(runtime.reader.url.render_as_string(hide_password=False))

    def on_loop(self, request: Request, parsed: BeaconRequest) -> bool:
        """Whether the query is answered on the event loop: anonymous (no Authorization header, no passport
        whose visas would be verified), without filters (they may read genotypes), no budget to charge
        (anonymous callers are refused genotype datasets), and a SQLite catalogue."""
        return (self.reader is not None and not parsed.filters
                and self.runtime.settings.privacy_anonymous == "refuse"
                and all(name not in _IDENTITY_HEADERS for name, _ in request.scope["headers"]))

    async def respond(self, request: Request, dataset_id: str | None = None) -> Response:
        parsed = await _parsed(request, self.runtime.settings.max_page_size)
        if parsed.test_mode:
            return BeaconJSON(test_answer(parsed, beacon_id=self.runtime.settings.beacon_id))
        if self.on_loop(request, parsed):
            assert self.reader is not None
            return self.answer(request, parsed, dataset_id, self.reader)
        return await run_in_threadpool(self.answer, request, parsed, dataset_id)

    def answer(self, request: Request, parsed: BeaconRequest, dataset_id: str | None,
               reader: Engine | None = None) -> Response:
        """The response to a parsed query, read through `reader`'s connections (the runtime's read engine when
        not given); the privacy gate's charges and the audit go to the primary."""
        settings = self.runtime.settings
        with _sessions(self.runtime, reader) as (session, reads):
            caller = with_visas(request, get_caller(request, self.runtime, session), session)
            # A response directly: the document is plain JSON already, and FastAPI's encoder pass costs.
            return _answer(request, query_variants(session, caller, parsed, base_url=_base(settings),
                                                   gate=Gate.for_caller(caller, settings), dataset_id=dataset_id,
                                                   references=self.references, reads=reads,
                                                   beacon_id=settings.beacon_id))


@_get_and_post("/g_variants", summary="Query genomic variations (anyone; "
               "granularity by dataset security and the caller's rights)", responses=_QUERY_ERRORS)
async def g_variants(request: Request) -> Response:
    queries: VariantQueries = request.app.state.queries
    return await queries.respond(request)


@_get_and_post("/datasets/{dataset_id}/g_variants",
               summary="Query one dataset's genomic variations (anyone, at the caller's granularity)",
               responses=_QUERY_ERRORS)
async def dataset_g_variants(dataset_id: str, request: Request) -> Response:
    queries: VariantQueries = request.app.state.queries
    return await queries.respond(request, dataset_id)


@_get_and_post("/g_variants/{variant_id}", summary="One variant by id (anyone)", responses=_QUERY_ERRORS)
async def g_variant(variant_id: str, request: Request, session: SessionDep, caller: PassportCallerDep,
                    settings: SettingsDep, reads: ReadSessionDep) -> Any:
    parsed = await _parsed(request, settings.max_page_size)
    if parsed.test_mode:
        return test_answer(parsed, beacon_id=settings.beacon_id)
    return await run_in_threadpool(entries.variant_by_id, session, caller, parsed, variant_id,
                                   base_url=_base(settings), gate=Gate.for_caller(caller, settings), reads=reads,
                                   beacon_id=settings.beacon_id)


@_get_and_post("/g_variants/{variant_id}/individuals",
               summary="Individuals carrying a variant (records for entitled callers)", responses=_QUERY_ERRORS)
async def g_variant_individuals(variant_id: str, request: Request, session: SessionDep, caller: PassportCallerDep,
                                settings: SettingsDep, reads: ReadSessionDep) -> Any:
    parsed = await _parsed(request, settings.max_page_size)
    if parsed.test_mode:
        return test_answer(parsed, "individual", settings.beacon_id)
    return await run_in_threadpool(entries.variant_individuals, session, caller, parsed, variant_id,
                                   gate=Gate.for_caller(caller, settings), reads=reads, beacon_id=settings.beacon_id)


@_get_and_post("/datasets", summary="Published datasets (anyone)")
async def datasets(request: Request, session: ReadSessionDep, settings: SettingsDep) -> Any:
    parsed = await _parsed(request, settings.max_page_size)
    return await run_in_threadpool(entries.dataset_documents, session, parsed, base_url=_base(settings),
                                   beacon_id=settings.beacon_id)


@_get_and_post("/datasets/{dataset_id}", summary="One published dataset (anyone)")
async def dataset(dataset_id: str, request: Request, session: ReadSessionDep, settings: SettingsDep) -> Any:
    parsed = await _parsed(request, settings.max_page_size)
    return await run_in_threadpool(entries.dataset_documents, session, parsed, base_url=_base(settings),
                                   dataset_id=dataset_id, beacon_id=settings.beacon_id)


@_get_and_post("/individuals",
               summary="Individuals matching filters (anyone, at the caller's granularity)")
async def individuals(request: Request, session: SessionDep, caller: CallerDep, settings: SettingsDep,
                      reads: ReadSessionDep) -> Any:
    parsed = await _parsed(request, settings.max_page_size)
    if parsed.test_mode:
        return test_answer(parsed, "individual", settings.beacon_id)
    return await run_in_threadpool(entries.individuals, session, caller, parsed, reads=reads,
                                   beacon_id=settings.beacon_id)


@_get_and_post("/individuals/{individual_id}/g_variants",
               summary="Variants an individual carries, all or in a region (record-level rights to its dataset)",
               responses=_QUERY_ERRORS)
async def individual_g_variants(individual_id: str, request: Request, call: QueryCallDep) -> Any:
    parsed = await _parsed(request, call.settings.max_page_size)
    if parsed.test_mode:
        return test_answer(parsed, beacon_id=call.settings.beacon_id)
    queries: VariantQueries = request.app.state.queries
    return _answer(request, await run_in_threadpool(entries.individual_variants, call.session, call.caller, parsed,
                                                    individual_id, base_url=_base(call.settings),
                                                    references=queries.references, reads=call.reads,
                                                    beacon_id=call.settings.beacon_id))


@_get_and_post("/individuals/{individual_id}", summary="One individual")
async def individual(individual_id: str, request: Request, session: SessionDep, caller: CallerDep,
                     settings: SettingsDep, reads: ReadSessionDep) -> Any:
    parsed = await _parsed(request, settings.max_page_size)
    if parsed.test_mode:
        return test_answer(parsed, "individual", settings.beacon_id)
    return await run_in_threadpool(entries.individuals, session, caller, parsed, individual_id=individual_id,
                                   reads=reads, beacon_id=settings.beacon_id)


def _status(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400


def _envelope(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> BeaconJSON:
    parsed = getattr(request.state, "beacon_request", None)
    # Each Beacon app (this node's, the network's) names itself in its state; the shortcut hands it the Beacon's.
    return BeaconJSON(error_response(status, message, parsed, beacon_id=request.app.state.beacon_id),
                      status_code=status, headers=headers)


def error_envelope(beacon_id: str) -> Callable[[int, str, str, str], Response]:
    """The Beacon error response of the Beacon `beacon_id` for an error found before the request was understood
    (`catalogue.limits`)."""

    def render(status: int, title: str, detail: str, path: str) -> Response:
        return BeaconJSON(error_response(status, detail, beacon_id=beacon_id), status_code=status)

    return render


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = _status(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="genomegate"'} if status == 401 else retry_headers(exc)
    return _envelope(request, status, exc.message, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _envelope(request, 400, validation_errors(exc)[1])


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code if exc.status_code in (400, 401, 403, 404, 405) else 400
    return _envelope(request, status, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _envelope(request, 500, "The Beacon failed; the error was logged.")


_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
    DomainError: _domain_error, RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error, Exception: _unexpected,
}


def _handler_for(exc: Exception) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """The handler the sub-app would pick for `exc`: that of its nearest class in the table."""
    return next(_HANDLERS[cls] for cls in type(exc).__mro__ if cls in _HANDLERS)


def install_beacon_errors(app: FastAPI, beacon_id: str) -> None:
    """Make every error of `app` a Beacon error response naming the Beacon `beacon_id`."""
    app.state.beacon_id = beacon_id
    for exc_class, handler in _HANDLERS.items():
        app.add_exception_handler(exc_class, handler)


def create_beacon_app(runtime: Runtime) -> FastAPI:
    """The Beacon sub-app, to mount at BEACON_PATH; its errors are Beacon error responses."""
    app = FastAPI(title="GenomeGate Beacon v2", version="0.1.0", default_response_class=BeaconJSON,
                  summary="GA4GH Beacon v2: genomic variations, individuals and datasets",
                  docs_url=None, redoc_url=None)  # the web package serves its /docs from local files
    app.state.runtime = runtime
    app.state.queries = VariantQueries(runtime)
    app.include_router(router)
    install_beacon_errors(app, runtime.settings.beacon_id)
    document_errors(app, BEACON_ERRORS, authenticated=[get_caller, _query_call], routers=[router])
    return app


Endpoint = Callable[[Request], Awaitable[Response]]  # a route taking the request alone


async def answer_directly(app: FastAPI, endpoint: Endpoint, scope: Scope, receive: Receive) -> Response:
    """The response of `endpoint`, a route of `app` (the Beacon or another Beacon-shaped sub-app), to a request, as
    if routed to `app` but past routing and dependency resolution; errors become Beacon error responses by the
    handlers `install_beacon_errors` gave `app`."""
    request = Request({**scope, "app": app}, receive)
    try:
        return await endpoint(request)
    except Exception as exc:  # noqa: BLE001 - every error becomes a Beacon error response, as in the sub-app
        return await _handler_for(exc)(request, exc)


class BeaconShortcuts:
    """ASGI middleware of the outer app: the busiest paths (the Beacon's and the network Beacon's g_variants, GET
    and POST) go straight to their endpoints (`answer_directly`). Everything else passes through."""

    def __init__(self, app: ASGIApp, *, routes: Mapping[str, tuple[FastAPI, Endpoint]]) -> None:
        self.app = app
        self.routes = dict(routes)  # full path -> (sub-app, endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with the copy: the access log reads the subject noted there
        response = await answer_directly(*route, scope, receive)
        await response(scope, receive, send)
