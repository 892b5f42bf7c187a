"""Refusals over plain HTTP: who gets no ticket and no block, with htsget error JSON and the right status."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import Session, select

from access.models import Entitlement
from access.release.tokens import BlockGrant, sign_block_token
from catalogue.models import utcnow
from tests.factories import make_entitlement
from tests.release.conftest import ALICE, BOB, Released

CAROL = "carol@example.org"  # her entitlement has ended
DAVE = "dave@example.org"  # his entitlement was revoked


def _assert_htsget_error(response: Any, status: int, error: str, match: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"htsget"} and set(body["htsget"]) == {"error", "message"}
    assert body["htsget"]["error"] == error
    assert match.lower() in body["htsget"]["message"].lower()
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.fixture
def lapsed(released: Released, session: Session) -> Released:
    make_entitlement(session, CAROL, released.datasets["VCF"], days=1, start_days_ago=2)
    make_entitlement(session, DAVE, released.datasets["VCF"], revoked=True)
    return released


@pytest.mark.parametrize(("who", "path", "params", "status", "error", "match"), [
    (None, "", {}, 401, "InvalidAuthentication", "signed-in"),
    (BOB, "", {}, 403, "PermissionDenied", "no active entitlement"),
    (CAROL, "", {}, 403, "PermissionDenied", "no active entitlement"),
    (DAVE, "", {}, 403, "PermissionDenied", "no active entitlement"),
    (ALICE, "/GGF999999", {}, 404, "NotFound", "no file GGF999999"),
    (ALICE, "", {"format": "BAM"}, 400, "UnsupportedFormat", "BAM"),
    (ALICE, "", {"referenceName": "chr1", "start": 20, "end": 10}, 400, "InvalidRange", "greater than end"),
    (ALICE, "", {"start": 10}, 400, "InvalidInput", "need a referenceName"),
    (ALICE, "", {"referenceName": "chr1", "start": "ten"}, 400, "InvalidInput", "unsigned integer"),
    (ALICE, "", {"referenceName": "chr1", "end": -1}, 400, "InvalidInput", "unsigned"),
    (ALICE, "", {"referenceName": "chrUn_gl000220"}, 404, "NotFound", "not a reference"),
    (ALICE, "", {"class": "body"}, 400, "InvalidInput", "class"),
    (ALICE, "", {"tags": "AB,CD", "notags": "CD"}, 400, "InvalidInput", "tags and notags"),
])
def test_tickets_are_refused(lapsed: Released, who: str | None, path: str, params: dict[str, Any], status: int,
                             error: str, match: str) -> None:
    url = f"/htsget/variants/{lapsed.datasets['VCF']}{path}"
    response = lapsed.client.get(url, params={"format": "VCF", **params}, headers=lapsed.auth(who) if who else {})
    _assert_htsget_error(response, status, error, match)


def test_unknown_dataset_and_bad_tokens(released: Released) -> None:
    _assert_htsget_error(released.client.get("/htsget/variants/GGD999999", headers=released.auth(ALICE)),
                         404, "NotFound", "does not exist")
    _assert_htsget_error(released.client.get(f"/htsget/variants/{released.datasets['VCF']}",
                                             headers={"Authorization": "Bearer not-a-jwt"}),
                         401, "InvalidAuthentication", "well-formed")


@pytest.mark.parametrize("body", [{"regions": "chr1"}, {"regions": [{"start": 1}]}, {"format": 7}])
def test_post_bodies_are_checked(released: Released, body: dict[str, Any]) -> None:
    response = released.client.post(f"/htsget/variants/{released.datasets['VCF']}", json=body,
                                    headers=released.auth(ALICE))
    assert response.status_code == 400 and response.json()["htsget"]["error"] in ("InvalidInput", "UnsupportedFormat")


def _body_entry(released: Released, fmt: str = "VCF", **params: Any) -> dict[str, Any]:
    ticket = released.ticket(fmt, referenceName="chr1", start=0, end=10_000, **params).json()
    entry: dict[str, Any] = ticket["htsget"]["urls"][1]
    assert entry["class"] == "body"
    return entry


def _token(entry: dict[str, Any]) -> str:
    return str(entry["headers"]["Authorization"].removeprefix("Bearer "))


def test_block_refusals_for_missing_forged_expired_and_misused_tokens(released: Released) -> None:
    client = released.client
    entry = _body_entry(released)
    assert client.get(entry["url"], headers=entry["headers"]).status_code == 200
    _assert_htsget_error(client.get(entry["url"]), 401, "InvalidAuthentication", "ticket's token")
    _assert_htsget_error(client.get(entry["url"], headers=released.auth(ALICE)), 401, "InvalidAuthentication")
    forged = _token(entry)[:-4] + ("AAAA" if not _token(entry).endswith("AAAA") else "BBBB")
    _assert_htsget_error(client.get(entry["url"], headers={"Authorization": f"Bearer {forged}"}),
                         401, "InvalidAuthentication", "signature")
    settings = released.runtime.settings
    file = released.files["VCF"]
    stale = BlockGrant(ALICE, released.datasets["VCF"], file.id, "body", "chr1", 0, 10_000,
                       expires_at=int(time.time()) - 1)
    old = sign_block_token(settings.secret_key, stale, now=int(time.time()) - 400)
    _assert_htsget_error(client.get(entry["url"], headers={"Authorization": f"Bearer {old}"}),
                         401, "InvalidAuthentication", "expired")
    other_region = entry["url"].replace("end=10000", "end=20000")
    _assert_htsget_error(client.get(other_region, headers=entry["headers"]), 403, "PermissionDenied", "another")
    bcf_entry = _body_entry(released, "BCF")
    _assert_htsget_error(client.get(bcf_entry["url"], headers=entry["headers"]), 403, "PermissionDenied", "another")
    converted = entry["url"] + "&format=BCF"  # the same region, converted: a token of its own
    _assert_htsget_error(client.get(converted, headers=entry["headers"]), 403, "PermissionDenied", "another")
    header_url = entry["url"].split("/body")[0] + "/header"
    _assert_htsget_error(client.get(header_url, headers=entry["headers"]), 403, "PermissionDenied", "another")


def test_a_block_token_replayed_by_another_caller_is_refused(released: Released) -> None:
    entry = _body_entry(released)
    by_query = f"{entry['url']}&token={_token(entry)}"
    assert released.client.get(by_query, headers=released.auth(ALICE)).status_code == 200
    _assert_htsget_error(released.client.get(by_query, headers=released.auth(BOB)),
                         403, "PermissionDenied", "another caller")


@pytest.mark.parametrize("change", ["revoke", "expire"])
def test_revocation_or_expiry_stops_the_next_block_of_an_earlier_ticket(released: Released, change: str) -> None:
    entry = _body_entry(released)
    assert released.client.get(entry["url"], headers=entry["headers"]).status_code == 200
    with Session(released.runtime.engine) as session:
        for entitlement in session.exec(select(Entitlement).where(
                Entitlement.subject == ALICE, Entitlement.dataset_id == released.datasets["VCF"])).all():
            if change == "revoke":
                entitlement.revoked_at = utcnow()
            else:
                entitlement.end = utcnow()
            session.add(entitlement)
        session.commit()
    _assert_htsget_error(released.client.get(entry["url"], headers=entry["headers"]),
                         403, "PermissionDenied", "no active entitlement")
    _assert_htsget_error(released.ticket("VCF", referenceName="chr1"), 403, "PermissionDenied")
