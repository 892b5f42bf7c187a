"""Jinja2 templates of the pages and the context every page gets (who is signed in, CSRF token, messages)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from catalogue.duo import DUO_TERMS, duo_term
from catalogue.errors import InvalidInput
from catalogue.identity import Caller
from catalogue.runtime import Runtime
from web.csrf import CSRF_FIELD, csrf_token
from web.i18n import install_i18n, language_links, language_of, remember_language

__all__ = ["flash", "render", "templates"]

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
install_i18n(templates.env)
_FLASHES = "flashes"


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    if value is None:
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).strftime(fmt)


def _day(value: datetime | None) -> str:
    return _when(value, "%Y-%m-%d")


@pass_context
def _size(context: Context, n: int) -> str:
    language = context.get("lang") or "en"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            digits = "#,##0" if unit == "B" else "#,##0.0"
            return f"{format_decimal(size, format=digits, locale=language)}\u00a0{unit}"
        size /= 1000
    return str(n)


def _duo_label(curie: str) -> str:
    try:
        term = duo_term(curie)
    except InvalidInput:
        return curie
    return f"{term.label} ({term.shorthand or term.id})"


templates.env.filters.update(when=_when, day=_day, size=_size, duo_label=_duo_label)
templates.env.globals.update(DUO_TERMS=DUO_TERMS, CSRF_FIELD=CSRF_FIELD)


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session.setdefault(_FLASHES, []).append({"kind": kind, "message": message})
    request.session[_FLASHES] = request.session[_FLASHES]  # mark the session changed


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page: the template with the caller, the CSRF token, pending messages, the node's sign-in options and the
    request's language (the switcher's choice is remembered from here)."""
    caller: Caller = getattr(request.state, "caller", None) or Caller()
    runtime: Runtime = request.app.state.runtime
    base: dict[str, Any] = {
        "caller": caller,
        "csrf_token": csrf_token(request),
        "flashes": request.session.pop(_FLASHES, []),
        "oidc_enabled": bool(runtime.settings.oidc_issuer),
        "path": request.url.path,
        "lang": language_of(request),
        "languages": language_links(request),
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code,
                                          headers=headers)
    remember_language(request, response)
    return response
