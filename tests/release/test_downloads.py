"""Researchers' keys and Crypt4GH downloads: the round trip with the private key gives the original bytes."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

import pytest
from crypt4gh import lib as c4gh_lib
from crypt4gh import sodium
from sqlmodel import Session, col, select

from access.models import AuditEvent
from tests.release.conftest import ALICE, BOB, Released


def _keypair() -> tuple[bytes, str]:
    secret = os.urandom(32)
    public = bytes(sodium.derive_pk(secret))
    encoded = base64.b64encode(public).decode()
    pem = f"-----BEGIN CRYPT4GH PUBLIC KEY-----\n{encoded}\n-----END CRYPT4GH PUBLIC KEY-----\n"
    return secret, pem


def _register(released: Released, who: str, pem: str, label: str = "laptop") -> dict[str, str]:
    response = released.client.post("/api/access/keys", json={"public_key": pem, "label": label},
                                    headers=released.auth(who))
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_crypt4gh_download_decrypts_to_the_stored_file(released: Released, tmp_path: Path, fmt: str) -> None:
    secret, pem = _keypair()
    key = _register(released, ALICE, pem)
    file = released.files[fmt]
    response = released.client.get(f"/api/release/{released.datasets[fmt]}/files/{file.id}",
                                    params={"encryption": "crypt4gh"}, headers=released.auth(ALICE))
    assert response.status_code == 200, response.text
    assert response.headers["x-crypt4gh-key"] == key["id"]
    assert int(response.headers["content-length"]) == len(response.content)
    plain = io.BytesIO()
    c4gh_lib.decrypt([(0, secret, None)], io.BytesIO(response.content), plain)
    assert hashlib.sha256(plain.getvalue()).hexdigest() == file.sha256 == hashlib.sha256(
        Path(file.uri).read_bytes()).hexdigest()
    with Session(released.runtime.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "release.download")).one()
    assert (event.actor, event.details["file"], event.details["key"]) == (ALICE, file.id, key["id"])
    assert event.details["sha256"] == file.sha256 and event.details["bytes"] == file.size


def test_keys_are_listed_newest_first_revoked_and_not_reregistered(released: Released) -> None:
    _, first = _keypair()
    _, second = _keypair()
    one, two = _register(released, ALICE, first), _register(released, ALICE, second, "desktop")
    assert one["id"] == "GGK000001" and len(one["fingerprint"]) == 64
    mine = released.client.get("/api/access/keys", headers=released.auth(ALICE)).json()
    assert [k["id"] for k in mine] == [two["id"], one["id"]]
    assert released.client.get("/api/access/keys", headers=released.auth(BOB)).json() == []
    again = released.client.post("/api/access/keys", json={"public_key": first}, headers=released.auth(ALICE))
    assert again.status_code == 409 and "already registered" in again.json()["detail"]
    assert released.client.delete(f"/api/access/keys/{one['id']}", headers=released.auth(BOB)).status_code == 404
    revoked = released.client.delete(f"/api/access/keys/{two['id']}", headers=released.auth(ALICE))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    file = released.files["VCF"]
    response = released.client.get(f"/api/release/{released.datasets['VCF']}/files/{file.id}",
                                    headers=released.auth(ALICE))
    assert response.headers["x-crypt4gh-key"] == one["id"]  # the newest key still active


@pytest.mark.parametrize(("public_key", "match"), [
    ("not base64!", "not valid base64"),
    (base64.b64encode(b"short").decode(), "holds 32 bytes"),
    ("-----BEGIN CRYPT4GH PUBLIC KEY-----\nAAAA", "ends with"),
])
def test_malformed_keys_are_refused(released: Released, public_key: str, match: str) -> None:
    response = released.client.post("/api/access/keys", json={"public_key": public_key},
                                    headers=released.auth(ALICE))
    assert response.status_code == 422 and match in response.json()["detail"]


@pytest.mark.parametrize(("who", "params", "register", "status", "match"), [
    (None, {}, False, 401, "signed-in"),
    (BOB, {}, True, 403, "no active entitlement"),
    (ALICE, {}, False, 404, "no active Crypt4GH key"),
    (ALICE, {"key_id": "GGK000099"}, True, 404, "no active Crypt4GH key GGK000099"),
    (ALICE, {"encryption": "none"}, True, 422, "encryption=crypt4gh"),
])
def test_downloads_are_refused(released: Released, who: str | None, params: dict[str, str], register: bool,
                               status: int, match: str) -> None:
    if register and who:
        _register(released, who, _keypair()[1])
    file = released.files["VCF"]
    response = released.client.get(f"/api/release/{released.datasets['VCF']}/files/{file.id}", params=params,
                                    headers=released.auth(who) if who else {})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert match in response.json()["detail"]
    with Session(released.runtime.engine) as session:
        assert not session.exec(select(AuditEvent).where(col(AuditEvent.action) == "release.download")).all()
