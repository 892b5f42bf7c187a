"""CSRF protection: a per-session token every POST form carries back; a POST without it is refused (403)."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from catalogue.errors import Forbidden

__all__ = ["CSRF_FIELD", "CsrfRefused", "csrf_token", "require_csrf"]

CSRF_FIELD = "csrf_token"
_KEY = "csrf"


class CsrfRefused(Forbidden):
    """The form did not carry this session's CSRF token (an old tab, or a page of another site). Reload the page
    and send the form again."""

    title = "Form refused"


def csrf_token(request: Request) -> str:
    """This session's token, made on first use."""
    token = request.session.get(_KEY)
    if not isinstance(token, str):
        token = request.session[_KEY] = secrets.token_urlsafe(32)
    return token


async def require_csrf(request: Request) -> None:
    """Router dependency: every unsafe request of the pages must carry the session's token in its form."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = request.session.get(_KEY)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise CsrfRefused("this form was sent without a valid security token; reload the page and try again")
