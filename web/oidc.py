"""Sign-in with an OpenID Connect provider: the authorization code flow with PKCE (S256), by authlib's client."""

from __future__ import annotations

from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import Request

from catalogue.errors import Forbidden, Unauthenticated
from catalogue.runtime import Runtime

__all__ = ["CALLBACK_PATH", "OAuthError", "oidc_client", "session_token"]

CALLBACK_PATH = "/signin/callback"


def oidc_client(request: Request) -> StarletteOAuth2App:
    """One client per app (it caches the provider's metadata and keys); Forbidden when no provider is set."""
    client: StarletteOAuth2App | None = getattr(request.app.state, "oidc_client", None)
    if client is not None:
        return client
    settings = request.app.state.runtime.settings
    if not settings.oidc_issuer:
        raise Forbidden("this node has no OpenID Connect provider configured (GENOMEGATE_OIDC_ISSUER)")
    oauth = OAuth()
    client = oauth.register(
        "provider", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
    request.app.state.oidc_client = client
    return client


def session_token(runtime: Runtime, token: dict[str, object]) -> str:
    """The token the session keeps: the access token when this node accepts it as a bearer token (its issuer
    is in GENOMEGATE_TRUSTED_ISSUERS with the audience of its access tokens), else the ID token (audience: the
    client id). Pages then verify it on every request exactly as the API verifies bearer tokens."""
    reasons = []
    for name in ("access_token", "id_token"):
        value = token.get(name)
        if not isinstance(value, str):
            continue
        try:
            runtime.verifier.verify(value)
        except Unauthenticated as exc:
            reasons.append(f"{name}: {exc.message}")
            continue
        return value
    raise Unauthenticated("the identity provider's tokens are not accepted here ("
                          + ("; ".join(reasons) or "it sent none") + "); an administrator must add it to "
                          "GENOMEGATE_TRUSTED_ISSUERS")
