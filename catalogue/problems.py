"""RFC 9457 problem+json for every error of the JSON APIs; a 500 is logged, never shown."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalogue.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from catalogue.limits import excerpt_text

__all__ = [
    "PROBLEM_STATUS", "install_problem_handlers", "limit_problem", "problem_response", "retry_headers", "status_for",
    "validation_errors",
]

log = logging.getLogger("genomegate.errors")

MAX_ERRORS = 10  # validation errors listed in one problem document

PROBLEM_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
}


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
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


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
