"""RFC 9457 problem+json for every error of the JSON APIs; a 500 is logged, never shown."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalogue.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated

__all__ = ["PROBLEM_STATUS", "install_problem_handlers", "problem_response", "retry_headers", "status_for"]

log = logging.getLogger("genomegate.errors")

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


def retry_headers(error: DomainError) -> dict[str, str]:
    """Retry-After for an error that says when asking again will work."""
    retry_after = getattr(error, "retry_after", None)
    return {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    response = problem_response(status_for(exc), exc.title, exc.message, instance=request.url.path, field=exc.field)
    response.headers.update(retry_headers(exc))
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in err["loc"] if p != "body"), "reason": err["msg"]}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
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
