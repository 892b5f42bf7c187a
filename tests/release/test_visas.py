"""A GA4GH visa sent with the ticket request (X-GA4GH-Passport) releases data like an entitlement does."""

from __future__ import annotations

import time

from sqlmodel import Session, select

from access.models import AuditEvent
from tests.release.conftest import BOB, Released


def _visa(released: Released, dataset_id: str, subject: str = BOB) -> str:
    issuer = released.runtime.issuer
    assert issuer is not None  # this node's own visas are trusted by this node
    now = int(time.time())
    return issuer.sign({"iss": issuer.issuer, "sub": subject, "iat": now, "exp": now + 600, "jti": "visa-42",
                        "ga4gh_visa_v1": {"type": "ControlledAccessGrants", "asserted": now - 60, "by": "dac",
                                          "value": f"http://testserver/api/datasets/{dataset_id}",
                                          "source": "http://testserver/api/dacs/GGC000001"}},
                       jku="http://testserver/.well-known/jwks.json")


def test_a_visa_gets_a_ticket_and_its_blocks_and_both_are_audited_under_its_jti(released: Released) -> None:
    dataset = released.datasets["VCF"]
    refused = released.ticket("VCF", BOB, referenceName="chr1", start=0, end=50_000)
    assert refused.status_code == 403
    headers = {**released.auth(BOB), "X-GA4GH-Passport": _visa(released, dataset)}
    ticket = released.client.get(f"/htsget/variants/{dataset}", headers=headers,
                                 params={"format": "VCF", "referenceName": "chr1", "start": 0, "end": 50_000})
    assert ticket.status_code == 200, ticket.text
    assert released.fetch(ticket.json())[:2] == b"\x1f\x8b"
    with Session(released.runtime.engine) as session:
        rows = session.exec(select(AuditEvent.action, AuditEvent.visa_jti).where(
            AuditEvent.actor == BOB)).all()
    assert ("release.ticket", "visa-42") in rows
    assert ("release.block", "visa-42") in rows


def test_a_visa_for_someone_else_releases_nothing(released: Released) -> None:
    dataset = released.datasets["VCF"]
    headers = {**released.auth(BOB), "X-GA4GH-Passport": _visa(released, dataset, subject="alice@example.org")}
    response = released.client.get(f"/htsget/variants/{dataset}", headers=headers, params={"format": "VCF"})
    assert response.status_code == 403
    assert response.json()["htsget"]["error"] == "PermissionDenied"
