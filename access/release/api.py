"""HTTP API of data release: htsget tickets and blocks (/htsget), encrypted downloads, researchers' keys."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from starlette.routing import Match

from access.deps import PassportCallerDep
from access.release import downloads, keys, services
from access.release.at_rest import default_node_key_path
from access.release.errors import TokenRefused, WrongMethod, htsget_error
from access.release.grants import ReleaseContext
from access.release.models import ResearcherKeyCreate, ResearcherKeyPublic
from access.release.rate import RateLimit
from access.release.tickets import FORMATS, Part, parse_query
from access.release.tokens import is_block_token
from catalogue.deps import RuntimeDep, SessionDep, SignedInDep
from catalogue.errors import DomainError, NotFound
from catalogue.problems import ErrorFormat, problems, retry_headers, validation_errors
from catalogue.settings import Settings

__all__ = [
    "HTSGET_ERRORS", "htsget_error_response", "htsget_router", "keys_router", "release_context", "release_router",
]

log = logging.getLogger("genomegate.release")
HTSGET_JSON = "application/vnd.ga4gh.htsget.v1.3.0+json"


def _htsget_error(status_code: int, name: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    if status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="genomegate"'
    return JSONResponse({"htsget": {"error": name, "message": message}}, status_code=status_code, headers=headers)


# htsget error JSON, for the OpenAPI documentation of the /htsget routes.
HTSGET_ERRORS = ErrorFormat({
    "title": "HtsgetError", "type": "object", "required": ["htsget"],
    "properties": {"htsget": {"type": "object", "required": ["error", "message"],
                              "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}},
}, validation_status=None)


# Names of errors found before routing. htsget 1.3 names no error for a busy server: "ServiceUnavailable" (503)
# is this node's, in the htsget shape, as "TooManyRequests" (429) is (`errors.HTSGET_ERRORS`).
_EARLY_NAMES = {413: "PayloadTooLarge", 503: "ServiceUnavailable"}


def htsget_error_response(status_code: int, title: str, detail: str, path: str) -> Response:
    """htsget error JSON for an error found before routing (`catalogue.limits`: body too large, malformed JSON;
    `genomegate.shedding`: too busy)."""
    return _htsget_error(status_code, _EARLY_NAMES.get(status_code, "InvalidInput"), detail)


class HtsgetRoute(APIRoute):
    """Answers every error of its routes (bad input, no token, no right) with htsget error JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return _htsget_error(*htsget_error(exc), exc.message, retry_headers(exc))
            except RequestValidationError as exc:
                return _htsget_error(400, "InvalidInput", validation_errors(exc)[1])
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return _htsget_error(500, "InternalError", "The server failed; the error was logged.")

        return handle


async def get_release_context(runtime: RuntimeDep) -> ReleaseContext:
    """What release needs of the settings (tests override this dependency)."""
    return release_context(runtime.settings)


def release_context(settings: Settings) -> ReleaseContext:
    """What release needs of the settings."""
    return ReleaseContext(secret=settings.secret_key, base_url=settings.public_base_url,
                          ticket_ttl=settings.release_ticket_ttl, file_block_bytes=settings.release_file_block_bytes,
                          spool_bytes=settings.release_spool_bytes,
                          node_key_path=settings.release_node_key or default_node_key_path(settings.data_dir),
                          rate=RateLimit(settings.release_rate_limit, settings.release_rate_window))


ContextDep = Annotated[ReleaseContext, Depends(get_release_context)]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- htsget -------------------------------------------------------------------------------------------

htsget_router = APIRouter(prefix="/htsget", tags=["htsget"], route_class=HtsgetRoute)


@htsget_router.get("/variants/service-info", summary="GA4GH service-info of the htsget variants endpoint (anyone)")
def service_info(runtime: RuntimeDep) -> dict[str, Any]:
    return {
        "id": "genomegate.htsget", "name": "GenomeGate htsget", "version": "0.1.0",
        "type": {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
        "organization": {"name": "GenomeGate", "url": runtime.settings.public_base_url},
        "htsget": {"datatype": "variants", "formats": list(FORMATS), "fieldsParametersEffective": False,
                   "tagsParametersEffective": False},
    }


def _ticket(session: SessionDep, caller: PassportCallerDep, ctx: ContextDep, request: Request, dataset_id: str,
            file_id: str | None, params: dict[str, Any], regions: Any = None) -> JSONResponse:
    query = parse_query(params, regions=regions)
    ticket = services.issue_ticket(session, caller, ctx, dataset_id=dataset_id, file_id=file_id, query=query,
                                   now=int(time.time()), client=_client(request))
    return JSONResponse(ticket, media_type=HTSGET_JSON)


# anonymous for a REGISTERED or CONTROLLED dataset; not entitled to a CONTROLLED one; past the rate limit
_REFUSED = HTSGET_ERRORS.responses(401, 403, 429)
_TICKET_SUMMARY = ("htsget ticket for a region or the whole file (PUBLIC datasets: anyone; REGISTERED: signed-in "
                   "callers; CONTROLLED: callers entitled to it)")
Format = Annotated[str | None, Query(description="VCF (default) or BCF, converted when the file is kept in the other")]
Class = Annotated[str | None, Query(alias="class", description="'header' for the header only")]
Ref = Annotated[str | None, Query(alias="referenceName", description="chr1 or 1 alike")]
Pos = Annotated[str | None, Query(description="0-based; start inclusive, end exclusive")]
Hint = Annotated[str | None, Query(description="accepted, not applied (all fields are returned)")]


@htsget_router.get("/variants/{dataset_id}", summary=_TICKET_SUMMARY, responses=_REFUSED)
@htsget_router.get("/variants/{dataset_id}/{file_id}", summary=_TICKET_SUMMARY, responses=_REFUSED)
def get_ticket(session: SessionDep, caller: PassportCallerDep, ctx: ContextDep, request: Request, dataset_id: str,
               file_id: str | None = None, format: Format = None, klass: Class = None, reference_name: Ref = None,
               start: Pos = None, end: Pos = None, fields: Hint = None, tags: Hint = None,
               notags: Hint = None) -> JSONResponse:
    params = {"format": format, "class": klass, "referenceName": reference_name, "start": start, "end": end,
              "fields": fields, "tags": tags, "notags": notags}
    return _ticket(session, caller, ctx, request, dataset_id, file_id, params)


@htsget_router.post("/variants/{dataset_id}", summary=_TICKET_SUMMARY + ", for a list of regions", responses=_REFUSED)
@htsget_router.post("/variants/{dataset_id}/{file_id}", summary=_TICKET_SUMMARY + ", for a list of regions",
                    responses=_REFUSED)
def post_ticket(session: SessionDep, caller: PassportCallerDep, ctx: ContextDep, request: Request, dataset_id: str,
                file_id: str | None = None,
                body: Annotated[dict[str, Any] | None, Body(examples=[{"format": "VCF", "regions": [
                    {"referenceName": "chr1", "start": 10000, "end": 20000}]}])] = None) -> JSONResponse:
    body = body or {}
    return _ticket(session, caller, ctx, request, dataset_id, file_id, body, regions=body.get("regions"))


def _block_token(request: Request, runtime: RuntimeDep, query_token: str | None) -> tuple[str, str | None]:
    """(block token, subject of a user token presented with it); the token comes from the query or the header."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    bearer = bearer.strip() if scheme.lower() == "bearer" else ""
    if query_token:
        presenter = runtime.verifier.verify(bearer).subject if bearer and not is_block_token(bearer) else None
        return query_token, presenter
    if bearer and is_block_token(bearer):
        return bearer, None
    raise TokenRefused("a block URL needs its ticket's token: send the ticket's headers with it")


@htsget_router.get("/blocks/{dataset_id}/{file_id}/{part}", summary="One block of a ticket (the ticket's token)",
                   responses=HTSGET_ERRORS.responses(401, 403, 429),  # no token, one for something else, too many
                   response_class=Response)
def get_block(session: SessionDep, runtime: RuntimeDep, ctx: ContextDep, request: Request, dataset_id: str,
              file_id: str, part: str, reference_name: Ref = None,
              start: Annotated[int | None, Query(ge=0)] = None, end: Annotated[int | None, Query(ge=0)] = None,
              format: Annotated[str | None, Query(max_length=3, description="the format a header or body is "
                                                  "converted to (as the ticket's URL says)")] = None,
              token: Annotated[str | None, Query(max_length=4_000, description="the block token, for clients that "
                                                 "cannot send headers")] = None) -> Response:
    block_token, presenter = _block_token(request, runtime, token)
    wanted = Part(part, reference_name, start, end, convert=format) if part == "body" else Part(part, convert=format)
    block = services.authorise_block(session, ctx, token=block_token, presenter=presenter, dataset_id=dataset_id,
                                     file_id=file_id, part=wanted, now=int(time.time()), client=_client(request))
    request.state.subject = block.who.actor  # for the access log
    file = block.file
    if part == "file":
        byte_range = request.headers.get("range")
        size = services.range_length(byte_range, file.size)
        services.record_block(session, block, size=size, sha256=file.sha256 if size == file.size else None,
                              byte_range=byte_range)
        return _FileResponse(Path(file.uri), media_type="application/octet-stream")
    if part == "header":
        content = services.header_block(file, wanted)
        services.record_block(session, block, size=len(content), sha256=hashlib.sha256(content).hexdigest())
        return Response(content, media_type="application/octet-stream")
    spooled = services.body_block(file, wanted, spool_bytes=ctx.spool_bytes)
    services.record_block(session, block, size=spooled.size, sha256=spooled.sha256)
    return StreamingResponse(spooled.chunks(), media_type="application/octet-stream",
                             headers={"Content-Length": str(spooled.size)})


_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@htsget_router.api_route("", methods=_ANY_METHOD, include_in_schema=False)
@htsget_router.api_route("/{rest:path}", methods=_ANY_METHOD, include_in_schema=False)
def unknown_htsget_path(request: Request, rest: str = "") -> Response:
    """Every other /htsget path and method: refused in htsget error JSON, like the routes above."""
    others = [r for r in htsget_router.routes if isinstance(r, APIRoute) and r.endpoint is not unknown_htsget_path]
    if any(r.matches(request.scope)[0] is Match.PARTIAL for r in others):
        allowed = sorted({m for r in others if r.matches(request.scope)[0] is Match.PARTIAL for m in r.methods or ()})
        raise WrongMethod(f"{request.method} is not allowed here; use {', '.join(allowed)}")
    if rest == "reads" or rest.startswith("reads/"):
        raise NotFound("this node serves variants only: ask /htsget/variants/{dataset id}", field="path")
    raise NotFound("no htsget endpoint has this path: ask /htsget/variants/{dataset id}", field="path")


class _FileResponse(FileResponse):
    chunk_size = 1 << 20  # fewer, larger reads: whole-file retrieval close to a plain copy


# --- encrypted downloads ------------------------------------------------------------------------------

release_router = APIRouter(prefix="/api/release", tags=["release"])


@release_router.get("/{dataset_id}/files/{file_id}", response_class=StreamingResponse,
                    responses=problems(401, 403, 409, 429),
                    summary="Download a whole file encrypted with Crypt4GH to your key (PUBLIC datasets: anyone; "
                            "REGISTERED: signed-in callers; CONTROLLED: callers entitled to it)")
def download(session: SessionDep, caller: PassportCallerDep, ctx: ContextDep, request: Request, dataset_id: str,
             file_id: str,
             encryption: Annotated[str, Query(max_length=20, description="crypt4gh")] = "crypt4gh",
             key_id: Annotated[str | None, Query(max_length=16, description="one of your registered keys (default: "
                                                 "the newest)")] = None,
             public_key: Annotated[str | None, Query(max_length=1_000, description="a Crypt4GH public key to "
                                                     "encrypt to instead (anonymous callers' only way)")] = None,
             ) -> StreamingResponse:
    prepared = downloads.prepare_download(session, caller, ctx, dataset_id=dataset_id, file_id=file_id,
                                          encryption=encryption, key_id=key_id, public_key=public_key,
                                          client=_client(request))
    headers = {"Content-Length": str(prepared.encrypted_size),
               "Content-Disposition": f'attachment; filename="{prepared.name}"',
               "X-Crypt4GH-Key": prepared.recipient.key_id or f"sha256:{prepared.recipient.fingerprint}"}
    return StreamingResponse(prepared.chunks(), media_type="application/octet-stream", headers=headers)


# --- researchers' keys --------------------------------------------------------------------------------

keys_router = APIRouter(prefix="/api/access/keys", tags=["access"])


@keys_router.post("", status_code=status.HTTP_201_CREATED,
                  summary="Register a Crypt4GH public key for encrypted downloads (signed-in callers)")
def register_key(session: SessionDep, caller: SignedInDep, request: Request,
                 data: ResearcherKeyCreate) -> ResearcherKeyPublic:
    key = keys.register_key(session, caller, data, client=_client(request))
    return ResearcherKeyPublic.model_validate(key)


@keys_router.get("", summary="My Crypt4GH public keys, newest first (signed-in callers)")
def list_keys(session: SessionDep, caller: SignedInDep) -> list[ResearcherKeyPublic]:
    return [ResearcherKeyPublic.model_validate(k) for k in keys.list_keys(session, caller)]


@keys_router.delete("/{key_id}", summary="Stop using one of my keys for downloads (signed-in callers)")
def revoke_key(session: SessionDep, caller: SignedInDep, request: Request, key_id: str) -> ResearcherKeyPublic:
    return ResearcherKeyPublic.model_validate(keys.revoke_key(session, caller, key_id, client=_client(request)))
