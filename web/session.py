"""Browser sessions: a signed cookie holding the signed-in user's bearer token, and the Caller that token names."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from catalogue.deps import RuntimeDep, SessionDep
from catalogue.errors import Unauthenticated
from catalogue.identity import Caller, Principal
from catalogue.services.roles import caller_for
from catalogue.settings import Settings
from web.i18n import translator

__all__ = [
    "SESSION_COOKIE", "SESSION_SECONDS", "PageCallerDep", "SignedInPageDep", "WebSessionMiddleware", "is_page_path",
    "page_caller", "session_token", "sign_in", "sign_out",
]

SESSION_COOKIE = "genomegate_session"
SESSION_SECONDS = 8 * 3600
_TOKEN, _CSRF = "token", "csrf"
# The JSON APIs never read or set the session cookie: bearer tokens only (so no CSRF exposure there).
_API_PREFIXES = ("/api/", "/beacon/", "/network/beacon/", "/htsget/", "/.well-known/", "/healthz", "/readyz",
                 "/openapi.json")


def is_page_path(path: str) -> bool:
    return not path.startswith(_API_PREFIXES)


def _cookie_key(settings: Settings) -> str:
    # A key of its own, derived from the node secret, so that a session cookie can never pass for a signed URL.
    return hmac.new(settings.secret_key.encode(), b"genomegate web session", hashlib.sha256).hexdigest()


class WebSessionMiddleware:
    """Starlette's SessionMiddleware (signed, HttpOnly, SameSite=Lax cookie) for the pages only."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.sessions = SessionMiddleware(
            app, secret_key=_cookie_key(settings), session_cookie=SESSION_COOKIE, max_age=SESSION_SECONDS,
            same_site="lax", https_only=settings.public_base_url.startswith("https://"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_page_path(scope["path"]):
            await self.sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def sign_in(request: Request, token: str) -> None:
    """Start a fresh session for the holder of `token` (a new CSRF token too: no fixation across sign-in)."""
    request.session.clear()
    request.session[_TOKEN] = token
    request.session[_CSRF] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


def session_token(request: Request) -> str | None:
    """The signed-in user's bearer token (for the network Beacon to forward where a peer is configured so)."""
    token = request.session.get(_TOKEN)
    return token if isinstance(token, str) else None


def page_caller(request: Request, runtime: RuntimeDep, session: SessionDep) -> Caller:
    """The caller of a page: anonymous, or the principal the session's token names with its database roles.

    The token is verified on every request exactly as the API verifies a bearer token, so an expired token
    or one of an issuer no longer trusted ends the session.
    """
    token = request.session.get(_TOKEN)
    caller = Caller()
    if isinstance(token, str):
        try:
            principal: Principal = runtime.verifier.verify(token)
        except Unauthenticated:
            request.session.pop(_TOKEN, None)
        else:
            request.state.subject = principal.subject  # for the access log
            caller = caller_for(session, principal)
    caller = replace(caller, address=request.client.host if request.client else None)
    request.state.caller = caller
    return caller


async def signed_in_page(request: Request, caller: Annotated[Caller, Depends(page_caller)]) -> Caller:
    if not caller.authenticated:
        raise Unauthenticated(translator(request).gettext("sign in to see this page"))
    return caller


PageCallerDep = Annotated[Caller, Depends(page_caller)]
SignedInPageDep = Annotated[Caller, Depends(signed_in_page)]
