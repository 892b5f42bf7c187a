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
from web.i18n import N_, install_i18n, language_links, language_of, remember_language, translations

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


# The words for the values that pages show (states of datasets, requests and jobs, history events, security levels,
# an ingestion's counts), translated in the catalogues. A value not listed is shown as it is.
_LABELS = {
    "PUBLIC": N_("PUBLIC"), "REGISTERED": N_("REGISTERED"), "CONTROLLED": N_("CONTROLLED"),
    "draft": N_("draft"), "published": N_("published"), "retired": N_("retired"),
    "submitted": N_("submitted"), "returned": N_("returned"), "approved": N_("approved"), "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"), "closed": N_("closed"), "active": N_("active"), "new": N_("new"),
    "queued": N_("queued"), "running": N_("running"), "succeeded": N_("succeeded"), "failed": N_("failed"),
    "create": N_("create"), "submit": N_("submit"), "return": N_("return"), "approve": N_("approve"),
    "reject": N_("reject"), "withdraw": N_("withdraw"), "close": N_("close"), "comment": N_("comment"),
    "vote": N_("vote"), "recuse": N_("recuse"), "revoke": N_("revoke"), "renew": N_("renew"),
    "abstain": N_("abstain"), "deny": N_("deny"),
    # an ingestion's counts
    "records_read": N_("records read"), "records_kept": N_("records kept"),
    "records_skipped_filter": N_("records skipped (filter)"), "records_skipped_other": N_("records skipped (other)"),
    "alleles_skipped": N_("alleles skipped"), "variants_written": N_("variants written"),
    "variants_merged": N_("variants merged"), "files_ingested": N_("files ingested"),
    "files_unchanged": N_("files unchanged"), "samples": N_("samples"), "dataset_variants": N_("dataset variants"),
    "chunks": N_("chunks"),
    # a peer's health and what it is forwarded
    "unknown": N_("unknown"), "healthy": N_("healthy"), "failing": N_("failing"), "backed_off": N_("backed off"),
    "none": N_("nothing"), "bearer": N_("bearer token"), "passport": N_("passport visas"),
    # a Beacon's granularity
    "boolean": N_("boolean"), "count": N_("count"), "record": N_("record"),
}


@pass_context
def _label(context: Context, value: object) -> str:
    text = str(getattr(value, "value", value))
    msgid = _LABELS.get(text)
    return translations(context.get("lang") or "en").gettext(msgid) if msgid else text


def _duo_label(curie: str) -> str:
    try:
        term = duo_term(curie)
    except InvalidInput:
        return curie
    return f"{term.label} ({term.shorthand or term.id})"


templates.env.filters.update(when=_when, day=_day, size=_size, duo_label=_duo_label, label=_label)
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
    remember_language(request, response, secure=runtime.settings.public_base_url.startswith("https://"))
    return response
