"""Bearer tokens: the local issuer's tokens are accepted, anything expired, forged or foreign is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from catalogue.runtime import Runtime
from catalogue.settings import Settings, TrustedIssuer
from catalogue.tokens import LocalIssuer, parse_duration
from tests.factories import client_with


def _claims(runtime: Runtime, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": runtime.settings.issuer_url, "aud": runtime.settings.token_audience, "sub": "alice",
            "iat": now, "nbf": now, "exp": now + 600, **overrides}


def _me(client: TestClient, token: str) -> Any:
    return client.get("/api/me", headers={"Authorization": f"Bearer {token}"})


def test_jwks_publishes_the_key_tokens_are_signed_with(client: TestClient, runtime: Runtime) -> None:
    assert runtime.issuer is not None
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in keys] == [runtime.issuer.kid]
    assert "d" not in keys[0]  # never the private part
    token = runtime.issuer.issue("alice@example.org", name="Alice", email="alice@example.org")
    me = _me(client, token).json()
    assert (me["subject"], me["name"], me["email"]) == ("alice@example.org", "Alice", "alice@example.org")


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"exp": int(time.time()) - 3600}, "exp"),
    ({"nbf": int(time.time()) + 3600}, "not yet valid"),
    ({"aud": "someone-else"}, "aud"),
    ({"iss": "https://evil.example.org"}, "not trusted"),
    ({"sub": None}, "sub"),
])
def test_tokens_with_bad_claims_are_refused(client: TestClient, runtime: Runtime,
                                            overrides: dict[str, Any], reason: str) -> None:
    assert runtime.issuer is not None
    claims = {k: v for k, v in _claims(runtime, **overrides).items() if v is not None}
    response = _me(client, runtime.issuer.sign(claims))
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_token_signed_with_another_key_is_refused(client: TestClient, runtime: Runtime) -> None:
    forged_key = RSAKey.generate_key(2048, parameters={"kid": runtime.issuer.kid if runtime.issuer else "x"})
    forged = jwt.encode({"alg": "RS256", "kid": forged_key.kid}, _claims(runtime), forged_key)
    assert _me(client, forged).status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt", "Bearer a.b.c"])
def test_malformed_authorization_headers_are_refused(client: TestClient, header: str) -> None:
    response = client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["title"] == "Authentication required"


def test_unsigned_alg_none_tokens_are_refused(client: TestClient, runtime: Runtime) -> None:
    import base64

    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(_claims(runtime))}."
    assert _me(client, token).status_code == 401


def test_an_external_issuer_configured_with_a_jwks_file_is_trusted(
        tmp_path: Path, settings: Settings, runtime: Runtime) -> None:
    external = LocalIssuer(tmp_path / "idp.json", issuer="https://login.example.org", audience="gg-node")
    jwks_file = tmp_path / "idp-jwks.json"
    jwks_file.write_text(json.dumps(external.jwks()))
    with client_with(runtime, trusted_issuers=[TrustedIssuer(
            issuer="https://login.example.org", audience="gg-node", jwks_file=jwks_file)]) as client:
        assert _me(client, external.issue("bob@lifescience.example")).json()["issuer"] == "https://login.example.org"
        wrong_audience = LocalIssuer(tmp_path / "idp.json", issuer="https://login.example.org", audience="other")
        assert _me(client, wrong_audience.issue("bob")).status_code == 401
        assert runtime.issuer is not None
        assert _me(client, runtime.issuer.issue("local-user")).status_code == 200


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("8h", 28800), ("30d", 2592000)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "8", "h", "-1h", "0h", "1w", "8 hours"])
def test_bad_durations_are_refused(text: str) -> None:
    from catalogue.errors import InvalidInput

    with pytest.raises(InvalidInput, match="is not like 90s"):
        parse_duration(text)
