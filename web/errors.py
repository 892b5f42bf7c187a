"""Errors on pages are pages: 401/403/404 and the rest rendered as HTML; a 500 is logged and says nothing more."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalogue.errors import DomainError
from catalogue.problems import status_for
from web.i18n import N_, translator
from web.session import is_page_path
from web.templating import render

__all__ = ["HtmlRoute", "error_page", "install_html_errors"]

log = logging.getLogger("genomegate.web")

_TITLES = {400: N_("Bad request"), 401: N_("Sign-in needed"), 403: N_("Not allowed"), 404: N_("Not found"),
           405: N_("Method not allowed"), 409: N_("Conflict"), 413: N_("Too large"), 422: N_("Invalid input"),
           429: N_("Too many requests"), 500: N_("Something went wrong"), 503: N_("Service busy")}
# The titles of the domain errors (their classes' `title`), so that an error page's heading is translated; a title
# missing here is shown in English. Their messages come from the services and stay in English.
_DOMAIN_TITLES = (N_("Request failed"), N_("Invalid input"), N_("Not found"), N_("Conflict"),
                  N_("Authentication required"), N_("Forbidden"), N_("Too many requests"), N_("Form refused"),
                  N_("Question too revealing"), N_("Service busy"), N_("Privacy budget spent"), N_("Sign-in failed"))
# Pages only: no inline script, nothing from other origins, never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def error_page(request: Request, status: int, message: str, title: str | None = None) -> Response:
    """An error as a page in the request's language (`title`, if given, is an English message of the catalogue)."""
    heading = translator(request).gettext(title or _TITLES.get(status, N_("Error")))
    return render(request, "error.html", {"status": status, "title": heading, "message": message},
                  status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path", "form"))
        parts.append(f"{field}: {err['msg']}" if field else str(err["msg"]))
    return "; ".join(parts)


class HtmlRoute(APIRoute):
    """A page route: domain errors, validation errors and crashes become HTML pages, never problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except DomainError as exc:
                response = error_page(request, status_for(exc), exc.message, exc.title)
            except RequestValidationError as exc:
                response = error_page(request, 422, _validation_message(exc))
            except StarletteHTTPException as exc:
                response = error_page(request, exc.status_code, str(exc.detail))
            except Exception:
                log.exception("unhandled error on page %s %s", request.method, request.url.path)
                response = error_page(request, 500, translator(request).gettext(
                    "The server failed; the error was logged. Please try again later."))
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page


def install_html_errors(app: FastAPI) -> None:
    """Unknown page URLs asked for by a browser get an HTML 404; the JSON APIs keep their problem documents."""
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if is_page_path(request.url.path) and "text/html" in request.headers.get("accept", ""):
            request.state.caller = None
            return error_page(request, exc.status_code, str(exc.detail))
        response = api_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(StarletteHTTPException, http_error)
