"""Sign-in with an OpenID Connect provider (authorization code + PKCE), against a real provider on loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from catalogue.runtime import Runtime
from catalogue.settings import TrustedIssuer
from tests.factories import client_with
from tests.serving import free_port, serving
from tests.web.conftest import text_of
from tests.web.oidc_provider import Provider

SUBJECT = "olive@institute.example"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    port = free_port()
    idp = Provider(url=f"http://127.0.0.1:{port}", key_path=tmp_path_factory.mktemp("idp") / "key.json",
                   subject=SUBJECT, client_id="genomegate-web", client_secret="s3cret", audience="genomegate-api")
    with serving(idp.app(), port):
        yield idp


def _node(runtime: Runtime, provider: Provider, *, trusted: bool = True) -> TestClient:
    issuers = [TrustedIssuer(issuer=provider.url, audience=provider.audience, jwks_url=f"{provider.url}/jwks")]
    return client_with(runtime, oidc_issuer=provider.url, oidc_client_id=provider.client_id,
                       oidc_client_secret=provider.client_secret, trusted_issuers=issuers if trusted else [])


def _through_the_provider(client: TestClient, provider: Provider, **params: Any) -> httpx.Response:
    """The browser's round trip: to the provider's /authorize and back to the node's callback."""
    start = client.get("/signin/oidc", params={"next": "/requests"}, follow_redirects=False)
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(f"{provider.url}/authorize?")
    query = parse_qs(urlparse(location).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["redirect_uri"] == ["http://testserver/signin/callback"]
    back = httpx.get(location, follow_redirects=False)
    assert back.status_code in (302, 307)
    callback = urlparse(back.headers["location"])
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False, **params)


def test_sign_in_with_the_provider_uses_pkce_and_gives_the_apis_identity(runtime: Runtime,
                                                                        provider: Provider) -> None:
    before = provider.pkce_verified
    with _node(runtime, provider) as client:
        assert "Sign in with your identity provider" in client.get("/signin").text
        done = _through_the_provider(client, provider)
        assert done.status_code == 303 and done.headers["location"] == "/requests"
        assert provider.pkce_verified == before + 1  # the token request carried the right code_verifier
        page = client.get("/requests")
        assert page.status_code == 200 and "Olive Idp" in page.text
        # The session holds the provider's access token: the API takes it for the same principal.
        payload = client.cookies["genomegate_session"].split(".")[0]
        token = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["token"]
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["subject"] == SUBJECT and me["issuer"] == provider.url


def test_a_callback_with_a_forged_state_is_refused(runtime: Runtime, provider: Provider) -> None:
    with _node(runtime, provider) as client:
        client.get("/signin/oidc", follow_redirects=False)
        page = client.get("/signin/callback", params={"code": "stolen", "state": "forged"}, follow_redirects=False)
        assert page.status_code == 400 and "Signing in failed" in text_of(page)
        assert client.get("/requests", follow_redirects=False).status_code == 401


def test_tokens_of_an_untrusted_provider_do_not_sign_in(runtime: Runtime, provider: Provider) -> None:
    with _node(runtime, provider, trusted=False) as client:
        page = _through_the_provider(client, provider)
        assert page.status_code == 401 and "GENOMEGATE_TRUSTED_ISSUERS" in text_of(page)
        assert client.get("/requests", follow_redirects=False).status_code == 401
