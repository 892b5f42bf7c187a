"""Release at each security level: who gets a dataset's files (htsget and downloads), who is refused and how, what
the audit log records, and the per-requester rate limit."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from crypt4gh import lib as c4gh_lib
from sqlmodel import Session, col, select

from access import audit
from access.models import AuditEvent
from access.release.api import get_release_context
from access.release.grants import ReleaseContext
from access.release.policy import ANONYMOUS, Grounds, Requester, open_grounds, requester, still_open
from access.release.rate import RateLimit, check_rate
from catalogue.errors import RateLimited
from catalogue.models import DatasetUpdate, utcnow
from catalogue.services.datasets import update_dataset
from tests.factories import OPERATOR
from tests.release.conftest import ALICE, BOB, Released
from tests.release.test_downloads import _keypair


def _set_level(released: Released, level: str) -> str:
    with Session(released.runtime.engine) as session:
        update_dataset(session, OPERATOR, released.datasets["VCF"], DatasetUpdate(security=level))
    return released.datasets["VCF"]


def _events(released: Released, action: str | None = None) -> list[AuditEvent]:
    with Session(released.runtime.engine) as session:
        query = select(AuditEvent).where(col(AuditEvent.action).startswith("release."))
        if action:
            query = query.where(AuditEvent.action == action)
        return list(session.exec(query.order_by(col(AuditEvent.id))).all())


def _htsget_error(response: Any, status: int, name: str, match: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["htsget"]["error"] == name
    assert match in response.json()["htsget"]["message"]


# --- the rules, without a database ---------------------------------------------------------------------------

@pytest.mark.parametrize(("security", "status", "signed_in", "grounds"), [
    ("PUBLIC", "published", False, Grounds.PUBLIC),
    ("PUBLIC", "published", True, Grounds.REGISTERED),
    ("REGISTERED", "published", True, Grounds.REGISTERED),
    ("REGISTERED", "published", False, None),
    ("CONTROLLED", "published", True, None),
    ("PUBLIC", "draft", True, None),
    ("PUBLIC", "retired", False, None),
])
def test_open_grounds(security: str, status: str, signed_in: bool, grounds: Grounds | None) -> None:
    assert open_grounds(security, status, signed_in=signed_in) is grounds


@pytest.mark.parametrize(("grounds", "security", "status", "holds"), [
    (Grounds.PUBLIC, "PUBLIC", "published", True),
    (Grounds.PUBLIC, "REGISTERED", "published", False),
    (Grounds.REGISTERED, "PUBLIC", "published", True),
    (Grounds.REGISTERED, "REGISTERED", "published", True),
    (Grounds.REGISTERED, "CONTROLLED", "published", False),
    (Grounds.REGISTERED, "REGISTERED", "retired", False),
])
def test_open_grounds_still_hold_until_the_dataset_closes(grounds: Grounds, security: str, status: str,
                                                          holds: bool) -> None:
    assert still_open(grounds, security, status) is holds


def test_anonymous_requesters_are_known_by_a_keyed_hash_of_their_address() -> None:
    one, again, other = (requester(None, a, secret="s" * 32) for a in ("192.0.2.1", "192.0.2.1", "192.0.2.2"))
    assert one == again != other and one.actor == ANONYMOUS and one.anonymous
    assert one.client is not None and one.client.startswith("addr:") and "192.0.2.1" not in one.client
    assert requester(None, "192.0.2.1", secret="t" * 32) != one  # keyed: no table of addresses reverses it
    assert requester(ALICE, "192.0.2.1", secret="s" * 32) == Requester(ALICE, "192.0.2.1")


# --- who gets what, over HTTP ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("level", "who", "status", "error", "match"), [
    ("PUBLIC", None, 200, None, ""),
    ("PUBLIC", BOB, 200, None, ""),
    ("REGISTERED", None, 401, "InvalidAuthentication", "released to signed-in callers"),
    ("REGISTERED", BOB, 200, None, ""),
    ("CONTROLLED", None, 401, "InvalidAuthentication", "signed-in callers entitled to it"),
    ("CONTROLLED", BOB, 403, "PermissionDenied", "no active entitlement"),
    ("CONTROLLED", ALICE, 200, None, ""),
])
def test_who_gets_a_region_at_each_level(released: Released, level: str, who: str | None, status: int,
                                         error: str | None, match: str) -> None:
    _set_level(released, level)
    response = released.ticket("VCF", who, referenceName="chr1", start=0, end=10_000)
    if error is not None:
        _htsget_error(response, status, error, match)
        assert _events(released) == []
        return
    assert response.status_code == 200, response.text
    reference = released.ticket("VCF", ALICE, referenceName="chr1", start=0, end=10_000) if level != "CONTROLLED" \
        else response
    assert released.fetch(response.json()) == released.fetch(reference.json())
    ticket = _events(released, "release.ticket")[0]
    assert ticket.actor == (who or ANONYMOUS)
    assert ticket.details["grounds"] == {None: "public", BOB: "registered", ALICE: "entitlement"}[who]


def test_anonymous_releases_are_audited_with_a_hashed_address(released: Released) -> None:
    _set_level(released, "PUBLIC")
    ticket = released.ticket("VCF", None, referenceName="chr1", start=0, end=10_000).json()
    released.fetch(ticket)
    events = _events(released)
    assert [e.action for e in events] == ["release.ticket", "release.block", "release.block"]
    assert {e.actor for e in events} == {ANONYMOUS}
    (client,) = {e.client for e in events}  # the same requester for the ticket and its blocks
    assert client is not None and client.startswith("addr:") and "testclient" not in client
    assert events[0].at <= events[-1].at and events[2].details["region"] == "chr1:0-10000"


def test_a_dataset_closed_after_the_ticket_stops_its_next_block(released: Released) -> None:
    _set_level(released, "PUBLIC")
    ticket = released.ticket("VCF", None, referenceName="chr1", start=0, end=10_000).json()
    header = ticket["htsget"]["urls"][0]
    assert released.client.get(header["url"], headers=header["headers"]).status_code == 200
    _set_level(released, "REGISTERED")
    _htsget_error(released.client.get(header["url"], headers=header["headers"]), 403, "PermissionDenied",
                  "no longer open to anyone")


def test_anyone_downloads_a_public_file_encrypted_to_the_key_they_send(released: Released) -> None:
    dataset = _set_level(released, "PUBLIC")
    file = released.files["VCF"]
    secret, pem = _keypair()
    url = f"/api/release/{dataset}/files/{file.id}"
    response = released.client.get(url, params={"public_key": pem})
    assert response.status_code == 200, response.text
    plain = io.BytesIO()
    c4gh_lib.decrypt([(0, secret, None)], io.BytesIO(response.content), plain)
    assert hashlib.sha256(plain.getvalue()).hexdigest() == file.sha256
    (event,) = _events(released, "release.download")
    assert (event.actor, event.details["grounds"], event.details["key"]) == (ANONYMOUS, "public", None)
    assert response.headers["x-crypt4gh-key"] == f"sha256:{event.details['fingerprint']}"
    without = released.client.get(url)
    assert without.status_code == 422 and "public_key" in without.json()["detail"]
    _set_level(released, "REGISTERED")
    refused = released.client.get(url, params={"public_key": pem})
    assert refused.status_code == 401 and "signed-in" in refused.json()["detail"]
    registered = released.client.get(url, params={"public_key": pem}, headers=released.auth(BOB))
    assert registered.status_code == 200, registered.text


# --- the rate limit -------------------------------------------------------------------------------------------

@pytest.fixture
def limited(released: Released) -> Iterator[Released]:
    """The app with a rate limit of 3 requests a minute."""
    settings = released.runtime.settings
    app = released.client.app
    app.dependency_overrides[get_release_context] = lambda: ReleaseContext(  # type: ignore[attr-defined]
        secret=settings.secret_key, base_url=settings.public_base_url, rate=RateLimit(3, 60))
    yield released
    app.dependency_overrides.clear()  # type: ignore[attr-defined]


def test_a_requester_past_the_limit_gets_429_with_retry_after(limited: Released) -> None:
    dataset = _set_level(limited, "PUBLIC")
    ticket = limited.ticket("VCF", None, referenceName="chr1", start=0, end=10_000).json()
    limited.fetch(ticket)  # a ticket and two blocks: three requests
    refused = limited.ticket("VCF", None, referenceName="chr1")
    _htsget_error(refused, 429, "TooManyRequests", "more than 3")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    block = limited.client.get(ticket["htsget"]["urls"][0]["url"], headers=ticket["htsget"]["urls"][0]["headers"])
    _htsget_error(block, 429, "TooManyRequests", "retry in")
    _, pem = _keypair()
    download = limited.client.get(f"/api/release/{dataset}/files/{limited.files['VCF'].id}",
                                  params={"public_key": pem})
    assert download.status_code == 429 and download.headers["content-type"].startswith("application/problem+json")
    assert int(download.headers["retry-after"]) >= 1
    assert len(_events(limited)) == 3  # refusals leave no line
    # another requester (a signed-in one) has a budget of their own
    assert limited.ticket("VCF", BOB, referenceName="chr1").status_code == 200


def test_the_count_is_per_requester_and_per_window(session: Session) -> None:
    rate = RateLimit(2, 60)
    one, other = (requester(None, a, secret="s" * 32) for a in ("192.0.2.1", "192.0.2.2"))
    for _ in range(2):
        audit.append(session, actor=one.actor, client=one.client, action="release.block")
    audit.append(session, actor=one.actor, client=one.client, action="release.key.register")  # not counted
    session.commit()
    now = utcnow()
    with pytest.raises(RateLimited, match="more than 2") as refused:
        check_rate(session, one, rate, now=now)
    assert refused.value.retry_after is not None and 1 <= refused.value.retry_after <= 60
    check_rate(session, other, rate, now=now)  # another address: its own count
    check_rate(session, one, rate, now=now + timedelta(seconds=61))  # the window has moved past both
    check_rate(session, one, RateLimit(0, 60), now=now)  # 0: no limit


# --- htsget error JSON on every /htsget path -----------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "status", "name", "match"), [
    ("GET", "/htsget/reads/GGD000001", 404, "NotFound", "variants only"),
    ("GET", "/htsget/reads/service-info", 404, "NotFound", "variants only"),
    ("GET", "/htsget/nothing/here", 404, "NotFound", "no htsget endpoint"),
    ("GET", "/htsget", 404, "NotFound", "no htsget endpoint"),
    ("DELETE", "/htsget/variants/GGD000001", 405, "InvalidInput", "not allowed"),
    ("PUT", "/htsget/blocks/GGD000001/GGF000001/body", 405, "InvalidInput", "GET"),
])
def test_every_htsget_path_answers_htsget_error_json(released: Released, method: str, path: str, status: int,
                                                     name: str, match: str) -> None:
    response = released.client.request(method, path)
    assert response.headers["content-type"] == "application/json"
    _htsget_error(response, status, name, match)


def test_a_body_too_large_is_an_htsget_payload_too_large(released: Released) -> None:
    limit = released.runtime.settings.max_body_bytes
    response = released.client.post(f"/htsget/variants/{released.datasets['VCF']}", content=b"{" + b" " * limit,
                                     headers={"Content-Type": "application/json", **released.auth(ALICE)})
    assert response.status_code == 413 and response.json()["htsget"]["error"] == "PayloadTooLarge"
