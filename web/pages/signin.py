"""Signing in and out: an OpenID Connect provider, or (development, demo) the node's built-in issuer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from catalogue.deps import RuntimeDep
from catalogue.errors import Forbidden, Unauthenticated
from catalogue.runtime import Runtime
from catalogue.settings import Environment
from web.errors import error_page
from web.forms import redirect
from web.i18n import translator
from web.oidc import CALLBACK_PATH, OAuthError, oidc_client, session_token
from web.routing import page_router
from web.session import PageCallerDep, sign_in, sign_out
from web.templating import flash, render

__all__ = ["router"]

router = page_router()
_NEXT = "after_sign_in"


def _local_path(target: str | None) -> str:
    """Only a path of this site is followed after signing in (never another site: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _local_sign_in_allowed(runtime: Runtime) -> bool:
    return runtime.issuer is not None and runtime.settings.env is not Environment.production


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, runtime: RuntimeDep, caller: PageCallerDep, next: str = "/") -> HTMLResponse:
    return render(request, "signin.html", {
        "next": _local_path(next), "local": _local_sign_in_allowed(runtime),
        "demo_users": request.app.state.demo_users,
    })


@router.post("/signin/local")
def signin_local(request: Request, runtime: RuntimeDep, subject: Annotated[str, Form(min_length=1, max_length=320)],
                 next: Annotated[str, Form()] = "/") -> RedirectResponse:
    """Development and demo only: a token from the node's own issuer for whoever is named."""
    if runtime.issuer is None or not _local_sign_in_allowed(runtime):
        raise Forbidden("the built-in sign-in is for development and demos; sign in with your identity provider")
    name = subject.strip()
    # An e-mail address as subject also names the account's organisation (its domain) for the privacy budget.
    sign_in(request, runtime.issuer.issue(name, email=name if "@" in name else None))
    flash(request, translator(request).gettext("Signed in as %(subject)s.", subject=name), "success")
    return redirect(_local_path(next))


@router.get("/signin/oidc")
async def signin_oidc(request: Request, runtime: RuntimeDep, next: str = "/") -> RedirectResponse:
    client = oidc_client(request)
    request.session[_NEXT] = _local_path(next)
    response: RedirectResponse = await client.authorize_redirect(
        request, runtime.settings.public_base_url + CALLBACK_PATH)
    return response


@router.get(CALLBACK_PATH)
async def signin_callback(request: Request, runtime: RuntimeDep) -> Response:
    client = oidc_client(request)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        return error_page(request, 400, translator(request).gettext(
            "Signing in failed: %(reason)s. Please try again.", reason=exc.description or exc.error), "Sign-in failed")
    target = _local_path(request.session.get(_NEXT))
    try:
        kept = await run_in_threadpool(session_token, runtime, token)  # may fetch an issuer's keys
    except Unauthenticated as exc:
        return error_page(request, 401, exc.message, "Sign-in failed")
    sign_in(request, kept)
    flash(request, translator(request).gettext("Signed in."), "success")
    return redirect(target)


@router.post("/signout")
def signout(request: Request) -> RedirectResponse:
    sign_out(request)
    flash(request, translator(request).gettext("Signed out."), "success")
    return redirect("/")
