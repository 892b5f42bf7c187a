"""GA4GH Passport visas: ours are well-formed and short-lived; others' are accepted only by the rules."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from catalogue.runtime import Runtime
from catalogue.tokens import LocalIssuer
from tests.access.conftest import World
from tests.factories import trusting_visas_of

ALICE = "alice@uni.example"
NODE_B = "https://node-b.example.org"
NODE_B_JKU = f"{NODE_B}/.well-known/jwks.json"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def test_an_entitled_researcher_gets_signed_short_lived_visas(world: World, client: TestClient,
                                                              runtime: Runtime) -> None:
    world.approved(ALICE, [world.hmb])
    visas = world.call("GET", "/passport", ALICE).json()["ga4gh_passport_v1"]
    keys = KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
    grants = []
    for token in visas:
        decoded = jwt.decode(token, keys, algorithms=["RS256"])
        assert decoded.header["kid"] and decoded.header["jku"] == "http://testserver/.well-known/jwks.json"
        claims = decoded.claims
        assert claims["sub"] == ALICE and claims["jti"]
        assert claims["exp"] - claims["iat"] <= runtime.settings.visa_lifetime
        if claims["ga4gh_visa_v1"]["type"] == "ControlledAccessGrants":
            grants.append(claims["ga4gh_visa_v1"])
    assert [(g["value"], g["by"]) for g in grants] == [(f"http://testserver/api/datasets/{world.hmb}", "dac")]
    assert grants[0]["source"] == f"http://testserver/api/dacs/{world.dac}"
    audit = world.call("GET", "/audit?action=visa.issue", "admin@example.org").json()
    assert {e["visa_jti"] for e in audit} == {_claims(v)["jti"] for v in visas}


def test_a_visa_never_outlives_its_entitlement(world: World, session: Any) -> None:
    from tests.factories import make_entitlement

    make_entitlement(session, "dave@uni.example", world.hmb, days=0.01)  # ends in ~15 minutes
    [visa] = world.call("GET", "/passport", "dave@uni.example").json()["ga4gh_passport_v1"]
    claims = _claims(visa)
    assert claims["exp"] - time.time() < 15 * 60


def test_no_entitlement_no_grant(world: World) -> None:
    assert world.call("GET", "/passport", "nobody@uni.example").json() == {"ga4gh_passport_v1": []}
    assert world.call("GET", "/passport", None).status_code == 401


@pytest.fixture
def node_b(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "node-b.json", issuer=NODE_B, audience="unused")


@pytest.fixture
def trusting(runtime: Runtime, node_b: LocalIssuer, tmp_path: Path) -> TestClient:
    """This node, configured to trust node B's visas."""
    return trusting_visas_of(runtime, node_b, NODE_B_JKU, tmp_path)


def _visa(issuer: LocalIssuer, *, jku: str = NODE_B_JKU, sub: str = ALICE, exp: float = 600,
          **visa: Any) -> str:
    now = int(time.time())
    body = {"type": "ControlledAccessGrants", "asserted": now - 60, "value": "http://testserver/api/datasets/GGD000001",
            "source": f"{NODE_B}/dac", "by": "dac", **visa}
    body = {k: v for k, v in body.items() if v is not None}
    return issuer.sign({"iss": issuer.issuer, "sub": sub, "iat": now, "exp": int(now + exp), "jti": "v-1",
                        "ga4gh_visa_v1": body}, jku=jku)


def _verify(client: TestClient, auth: Callable[[str], dict[str, str]], visas: list[str]) -> Any:
    response = client.post("/api/access/passport/verify", json={"passport": visas}, headers=auth(ALICE))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_trusted_nodes_visa_grants_the_dataset_it_names(
        world: World, trusting: TestClient, node_b: LocalIssuer, auth: Callable[[str], dict[str, str]]) -> None:
    assert _verify(trusting, auth, [_visa(node_b)]) == {"datasets": {"GGD000001": "v-1"}, "rejected": []}


def test_our_own_visas_are_accepted_back(world: World, trusting: TestClient,
                                         auth: Callable[[str], dict[str, str]]) -> None:
    world.approved(ALICE, [world.hmb])
    visas = world.call("GET", "/passport", ALICE).json()["ga4gh_passport_v1"]
    assert list(_verify(trusting, auth, visas)["datasets"]) == [world.hmb]


def _forged(node_b: LocalIssuer, tmp_path: Path) -> str:
    impostor = LocalIssuer(tmp_path / "impostor.json", issuer=NODE_B, audience="unused")
    return _visa(impostor)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda b, p: _visa(LocalIssuer(p / "evil.json", issuer="https://evil.example", audience="x")), "not trusted"),
    (lambda b, p: _visa(b, jku="https://evil.example/jwks.json"), "not trusted"),
    (_forged, "refused"),
    (lambda b, p: _visa(b, exp=-3600), "refused"),
    (lambda b, p: _visa(b, sub="mallory@example.org"), "refused"),
    (lambda b, p: _visa(b, conditions=[[{"type": "AffiliationAndRole"}]]), "conditions"),
    (lambda b, p: _visa(b, by=None), "by whom"),
    (lambda b, p: _visa(b, asserted=int(time.time()) + 86_400), "future"),
    (lambda b, p: _visa(b, value="https://elsewhere.example/datasets/X/Y"), "names no dataset"),
    (lambda b, p: "not.a.jwt", "well-formed"),
])
def test_visas_breaking_the_rules_are_ignored_and_reported(
        world: World, trusting: TestClient, node_b: LocalIssuer, auth: Callable[[str], dict[str, str]],
        tmp_path: Path, make: Callable[[LocalIssuer, Path], str], reason: str) -> None:
    result = _verify(trusting, auth, [make(node_b, tmp_path)])
    assert result["datasets"] == {}
    assert reason in result["rejected"][0]["reason"]


def test_oversized_passports_are_refused_whole(world: World, trusting: TestClient, node_b: LocalIssuer,
                                               auth: Callable[[str], dict[str, str]]) -> None:
    result = _verify(trusting, auth, [_visa(node_b)] * 101)
    assert result["datasets"] == {}
    assert "more than 100 visas" in result["rejected"][0]["reason"]


def test_a_tampered_visa_is_refused(world: World, trusting: TestClient, node_b: LocalIssuer,
                                    auth: Callable[[str], dict[str, str]]) -> None:
    header, payload, signature = _visa(node_b).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["ga4gh_visa_v1"]["value"] = "http://testserver/api/datasets/GGD000002"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    result = _verify(trusting, auth, [f"{header}.{forged}.{signature}"])
    assert result["datasets"] == {}
    assert "refused" in result["rejected"][0]["reason"]
