"""RFC 9457 problem+json for every error of the JSON APIs; a 500 is logged, never shown."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalogue.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from catalogue.limits import BODY_METHODS, excerpt_text

__all__ = [
    "PROBLEM_JSON", "PROBLEM_SCHEMA", "PROBLEM_STATUS", "PROBLEM", "ErrorFormat", "document_errors",
    "install_problem_handlers", "problems", "limit_problem", "problem_response", "retry_headers", "status_for",
    "validation_errors",
]

log = logging.getLogger("genomegate.errors")

PROBLEM_JSON = "application/problem+json"

MAX_ERRORS = 10  # validation errors listed in one problem document

PROBLEM_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
}


# RFC 9457 problem details as this service writes them (the schema of its documented error responses).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem", "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "field": {"type": "string", "description": "the input at fault"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["field", "reason"], "properties": {
            "field": {"type": "string"}, "reason": {"type": "string"}}}},
    },
}


@dataclass(frozen=True, slots=True)
class ErrorFormat:
    """How a family of routes writes its errors, for their OpenAPI documentation."""

    schema: dict[str, Any]
    media_type: str = "application/json"
    validation_status: int | None = 422  # what invalid parameters get (None: 400, like any bad input)

    def responses(self, *statuses: int) -> dict[int | str, dict[str, Any]]:
        """OpenAPI responses for `statuses` in this format: for a route's `responses=`."""
        return {status: {"description": HTTPStatus(status).phrase, "content": {self.media_type: {
            "schema": self.schema}}} for status in statuses}


PROBLEM = ErrorFormat(PROBLEM_SCHEMA, PROBLEM_JSON)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of problem+json errors: `@router.get(..., responses=problems(403, 404))`."""
    return PROBLEM.responses(*statuses)


def document_errors(app: FastAPI, default: ErrorFormat = PROBLEM, formats: Sequence[tuple[str, ErrorFormat]] = (),
                    authenticated: Collection[Callable[..., Any]] = (), routers: Sequence[APIRouter] = ()) -> None:
    """Every operation of `app`'s OpenAPI documents the errors any route can give, in the format of the routes
    under its path (the first of `formats` whose prefix it starts with, else `default`): 400 (a URL or JSON body
    refused at the door, `catalogue.limits`), 413 for the methods whose body the door bounds, 404 when its path
    names something, 401 when it depends on one of the `authenticated` dependencies (which refuse a bad token),
    and failed validation in place of FastAPI's own validation error schema (which this service never sends).
    The routes of the app and of `routers` (those included in it, without a prefix) are looked at for their
    dependencies."""
    build = app.openapi
    routes = {(route.path_format, method.lower()): route
              for route in [*app.routes, *(r for router in routers for r in router.routes)]
              if isinstance(route, APIRoute) for method in route.methods or ()}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = build()
        for path, path_item in document.get("paths", {}).items():
            style = next((f for prefix, f in formats if path.startswith(prefix)), default)
            for method, operation in path_item.items():
                answers = operation.setdefault("responses", {})
                validated = answers.pop("422", None) is not None
                statuses = [400, *([413] if method.upper() in BODY_METHODS else [])]
                if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                    statuses.append(404)  # nothing has that id (or the caller may not know it exists)
                route = routes.get((path, method))
                if route is not None and _depends_on(route.dependant, authenticated):
                    statuses.append(401)
                if validated and style.validation_status:
                    statuses.append(style.validation_status)
                answers.update({str(status): response for status, response in style.responses(*statuses).items()})
        for name in ("HTTPValidationError", "ValidationError"):
            document.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _depends_on(dependant: Dependant, calls: Collection[Callable[..., Any]]) -> bool:
    return dependant.call in calls or any(_depends_on(d, calls) for d in dependant.dependencies)


def status_for(error: DomainError) -> int:
    """The HTTP status of an error, looked up along its class hierarchy (400 when none is mapped)."""
    for cls in type(error).__mro__:
        if cls in PROBLEM_STATUS:
            return PROBLEM_STATUS[cls]
    return 400


def problem_response(status: int, title: str, detail: str, *, instance: str | None = None,
                     **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": 'Bearer realm="genomegate"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def limit_problem(status: int, title: str, detail: str, path: str) -> Response:
    """problem+json for an error found before routing (`catalogue.limits`: body too large, malformed JSON)."""
    return problem_response(status, title, detail, instance=path)


def retry_headers(error: DomainError) -> dict[str, str]:
    """Retry-After for an error that says when asking again will work."""
    retry_after = getattr(error, "retry_after", None)
    return {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    response = problem_response(status_for(exc), exc.title, exc.message, instance=request.url.path, field=exc.field)
    response.headers.update(retry_headers(exc))
    return response


def validation_errors(exc: RequestValidationError, *, keep: int = MAX_ERRORS) -> tuple[list[dict[str, str]], str]:
    """The first `keep` errors of a validation failure as {field, reason} (the input itself is never echoed, and
    reasons are cut short), and a one-line detail saying how many more there were."""
    raw = exc.errors()
    errors = [{"field": excerpt_text(".".join(str(p) for p in err["loc"] if p != "body"), 120),
               "reason": excerpt_text(str(err["msg"]), 200)} for err in raw[:keep]]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    if len(raw) > keep:
        detail += f"; and {len(raw) - keep:,} more"
    return errors, detail


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors, detail = validation_errors(exc)
    return problem_response(422, "Invalid input", detail, instance=request.url.path, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(exc.status_code, str(exc.detail), str(exc.detail), instance=request.url.path)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal error", "The server failed; the error was logged.",
                            instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
