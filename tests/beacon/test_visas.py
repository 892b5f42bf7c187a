"""GA4GH visas sent with a Beacon query (X-GA4GH-Passport) grant record level; bad ones are reported, not used."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from access.models import AuditEvent
from catalogue.models import Dataset, SecurityLevel
from catalogue.runtime import Runtime
from catalogue.tokens import LocalIssuer
from tests.factories import trusting_visas_of

NODE_B = "https://node-b.example.org"
JKU = f"{NODE_B}/.well-known/jwks.json"
QUERY = {"referenceName": "1", "start": 0, "end": 10_000_000, "requestedGranularity": "record"}


@pytest.fixture
def node_b(tmp_path: Path) -> LocalIssuer:
    return LocalIssuer(tmp_path / "node-b.json", issuer=NODE_B, audience="unused")


@pytest.fixture
def beacon(runtime: Runtime, node_b: LocalIssuer, tmp_path: Path) -> TestClient:
    return trusting_visas_of(runtime, node_b, JKU, tmp_path)


def _grant(issuer: LocalIssuer, dataset_id: str, subject: str = "alice@uni.example") -> str:
    now = int(time.time())
    return issuer.sign({"iss": issuer.issuer, "sub": subject, "iat": now, "exp": now + 600, "jti": "visa-7",
                        "ga4gh_visa_v1": {"type": "ControlledAccessGrants", "asserted": now - 60, "by": "dac",
                                          "value": f"http://testserver/api/datasets/{dataset_id}",
                                          "source": f"{NODE_B}/dac"}}, jku=JKU)


def test_a_trusted_visa_grants_record_level_and_the_query_is_audited_under_its_jti(
        beacon: TestClient, make_beacon_dataset: Callable[..., Dataset], node_b: LocalIssuer, runtime: Runtime,
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    headers = auth("alice@uni.example")
    plain = beacon.get("/beacon/v2/g_variants", params=QUERY, headers=headers).json()
    assert plain["meta"]["returnedGranularity"] == "boolean"
    with_visa = beacon.get("/beacon/v2/g_variants", params=QUERY,
                           headers={**headers, "X-GA4GH-Passport": _grant(node_b, target.id)}).json()
    assert with_visa["meta"]["returnedGranularity"] == "record"
    assert "rejectedVisas" not in with_visa.get("info", {})
    with Session(runtime.engine) as session:
        jtis = session.exec(select(AuditEvent.visa_jti).where(AuditEvent.action == "beacon.record_query")).all()
    assert jtis == ["visa-7"]


def test_a_visa_for_someone_else_grants_nothing(
        beacon: TestClient, make_beacon_dataset: Callable[..., Dataset], node_b: LocalIssuer,
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    headers = {**auth("mallory@uni.example"), "X-GA4GH-Passport": _grant(node_b, target.id)}
    body = beacon.get("/beacon/v2/g_variants", params=QUERY, headers=headers).json()
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert "refused" in body["info"]["rejectedVisas"][0]["reason"]


def test_a_passport_without_a_token_is_the_one_subject_its_visas_name(
        beacon: TestClient, make_beacon_dataset: Callable[..., Dataset], node_b: LocalIssuer, runtime: Runtime,
        tmp_path: Path) -> None:
    """As a network Beacon forwarding only the passport sends it: the verified visas say who the caller is (their
    issuer's subject, with no roles here); visas naming two subjects, or none that verifies, leave it anonymous."""
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    alone = beacon.get("/beacon/v2/g_variants", params=QUERY,
                       headers={"X-GA4GH-Passport": _grant(node_b, target.id)}).json()
    assert alone["meta"]["returnedGranularity"] == "record"
    with Session(runtime.engine) as session:
        actors = session.exec(select(AuditEvent.actor).where(AuditEvent.action == "beacon.record_query")).all()
    assert actors == ["alice@uni.example"]
    two = ",".join([_grant(node_b, target.id), _grant(node_b, target.id, subject="bob@uni.example")])
    mixed = beacon.get("/beacon/v2/g_variants", params=QUERY, headers={"X-GA4GH-Passport": two}).json()
    assert mixed["meta"]["returnedGranularity"] == "boolean"
    assert "one subject" in mixed["info"]["rejectedVisas"][0]["reason"]
    impostor = LocalIssuer(tmp_path / "impostor.json", issuer=NODE_B, audience="unused")
    forged = beacon.get("/beacon/v2/g_variants", params=QUERY,
                        headers={"X-GA4GH-Passport": _grant(impostor, target.id)}).json()
    assert forged["meta"]["returnedGranularity"] == "boolean"


def test_a_tampered_visa_is_reported_in_info(beacon: TestClient, make_beacon_dataset: Callable[..., Dataset],
                                             node_b: LocalIssuer, tmp_path: Path,
                                             auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0)
    impostor = LocalIssuer(tmp_path / "impostor.json", issuer=NODE_B, audience="unused")
    body = beacon.get("/beacon/v2/g_variants", params=QUERY, headers={
        **auth("alice@uni.example"), "X-GA4GH-Passport": _grant(impostor, target.id)}).json()
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert body["info"]["rejectedVisas"][0]["visa"] == "0"
