"""E-mail notices of new approvals: asked for by the participant, the address sealed in the database, sent through
a real SMTP server (aiosmtpd on loopback) by the outbox."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from access.models import Notification
from access.notifications import deliver_outbox
from catalogue.sealed import seal, unseal
from participants.models import NoticeSubscription
from participants.notices import NOTICE_KIND, queue_notices
from tests.access.test_notifications import _Inbox, smtp  # noqa: F401 (the SMTP server fixture)
from tests.participants.conftest import ANNA, BEN, STEWARD, World, link_sheet

ADDRESS = "anna.private@mail.example"


def test_notices_of_new_approvals_reach_the_participant_whose_address_stays_sealed(
        world: World, session: Session, smtp: tuple[_Inbox, int]) -> None:  # noqa: F811
    inbox, port = smtp
    assert world.upload(link_sheet(world)).status_code == 201
    world.approve()  # before asking: not told
    assert world.api("PUT", "/api/participants/me/notices", ANNA, json={"email": "not an address"}).status_code == 422
    assert world.api("PUT", "/api/participants/me/notices", STEWARD, json={"email": ADDRESS}).status_code == 404
    on = world.api("PUT", "/api/participants/me/notices", ANNA, json={"email": ADDRESS})
    assert on.status_code == 200 and on.json() == {"subscribed": True}
    assert world.api("GET", "/api/participants/me/notices", ANNA).json() == {"subscribed": True}
    assert world.api("GET", "/api/participants/me/notices", BEN).json() == {"subscribed": False}
    assert queue_notices(session) == 0
    request_id = world.approve()
    world.approve(world.other)  # a dataset that does not hold her data: not told
    assert queue_notices(session) == 1
    assert queue_notices(session) == 0  # told once
    (row,) = session.exec(select(Notification).where(Notification.kind == NOTICE_KIND)).all()
    assert ADDRESS not in row.recipient and ADDRESS not in row.body and request_id in row.body
    (subscription,) = session.exec(select(NoticeSubscription)).all()
    assert ADDRESS not in subscription.address
    settings = world.runtime.settings
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                             "smtp_from": "node@genomegate.example"})
    assert deliver_outbox(session, configured).sent >= 1
    mine = [m for m in inbox.messages if m["To"] == ADDRESS]
    assert len(mine) == 1 and request_id in mine[0].get_payload() and world.dataset in mine[0].get_payload()
    off = world.api("DELETE", "/api/participants/me/notices", ANNA)
    assert off.json() == {"subscribed": False}
    assert session.exec(select(NoticeSubscription)).all() == []


def test_a_sealed_value_opens_only_with_its_key_and_purpose() -> None:
    sealed = seal("k" * 40, "notice address", ADDRESS)
    assert ADDRESS not in sealed and seal("k" * 40, "notice address", ADDRESS) != sealed  # a fresh nonce each time
    assert unseal("k" * 40, "notice address", sealed) == ADDRESS
    assert unseal("x" * 40, "notice address", sealed) is None
    assert unseal("k" * 40, "another purpose", sealed) is None
    assert unseal("k" * 40, "notice address", sealed[:-2] + "AA") is None
    assert unseal("k" * 40, "notice address", ADDRESS) is None
    assert len(seal("k" * 40, "notice address", "a" * 200)) <= 320


@pytest.mark.parametrize("address", ["", "nobody", "a@b", "a b@c.example", "x" * 195 + "@c.example"])
def test_bad_addresses_are_refused_naming_the_field(world: World, address: str) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    response = world.api("PUT", "/api/participants/me/notices", ANNA, json={"email": address})
    body = response.json()
    field = body.get("field") or body["errors"][0]["field"]  # a rule of the service, or of the schema
    assert response.status_code == 422 and field.endswith("email")
