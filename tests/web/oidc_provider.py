"""A small, real OpenID Connect provider for the tests: discovery, JWKS, /authorize and /token with PKCE (S256).

It signs in one person without asking (the test is the browser), signs RS256 ID and access tokens, and refuses a
token request whose code_verifier does not hash to the authorization request's code_challenge.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from catalogue.tokens import LocalIssuer

__all__ = ["Provider"]


@dataclass
class Provider:
    url: str
    key_path: Path
    subject: str
    client_id: str
    client_secret: str
    audience: str  # of the access tokens
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    pkce_verified: int = 0

    def __post_init__(self) -> None:
        self.signer = LocalIssuer(self.key_path, issuer=self.url, audience=self.audience)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/jwks", self._jwks),
            Route("/authorize", self._authorize),
            Route("/token", self._token, methods=["POST"]),
        ])

    async def _discovery(self, _: Request) -> Response:
        return JSONResponse({
            "issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })

    async def _jwks(self, _: Request) -> Response:
        return JSONResponse(self.signer.jwks())

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or q.get("response_type") != "code" or not redirect_uri:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            refusal = {"error": "invalid_request", "error_description": "PKCE (S256) is required",
                       "state": q.get("state", "")}
            return RedirectResponse(f"{redirect_uri}?{urlencode(refusal)}")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "nonce": q.get("nonce", ""),
                            "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': q.get('state', '')})}")

    def _client_ok(self, request: Request, form: Any) -> bool:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user == self.client_id and password == self.client_secret
        return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form.get("code", "")), None)
        if form.get("grant_type") != "authorization_code" or grant is None \
                or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or digest != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verification failed"},
                                status_code=400)
        self.pkce_verified += 1
        now = int(time.time())
        common = {"iss": self.url, "sub": self.subject, "iat": now, "nbf": now, "exp": now + 3600,
                  "email": self.subject, "name": "Olive Idp"}
        return JSONResponse({
            "token_type": "Bearer", "expires_in": 3600,
            "access_token": self.signer.sign({**common, "aud": self.audience, "jti": secrets.token_hex(8)}),
            "id_token": self.signer.sign({**common, "aud": self.client_id, "nonce": grant["nonce"]}),
        })
