"""Notifications leave through a real SMTP server (aiosmtpd on loopback); failures stay queued."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, col, select

from access.models import Notification
from access.notifications import deliver_outbox, notify
from catalogue.settings import Settings


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_queued_notifications_are_delivered_once(session: Session, settings: Settings,
                                                 smtp: tuple[_Inbox, int]) -> None:
    inbox, port = smtp
    notify(session, ["alice@uni.example", "not-an-address", "alice@uni.example"], kind="decision",
           subject="Access request GGR000001 was approved", body="Approved.\n", request_id="GGR000001")
    session.commit()
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                             "smtp_from": "dac@genomegate.example"})
    assert deliver_outbox(session, configured).sent == 1
    [message] = inbox.messages
    assert (message["To"], message["From"]) == ("alice@uni.example", "dac@genomegate.example")
    assert message["Subject"] == "Access request GGR000001 was approved"
    assert deliver_outbox(session, configured).sent == 0
    assert len(inbox.messages) == 1


def test_an_unreachable_server_leaves_the_outbox_for_later(session: Session, settings: Settings) -> None:
    notify(session, ["bob@uni.example"], kind="decision", subject="s", body="b")
    session.commit()
    down = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 1})
    result = deliver_outbox(session, down)
    assert (result.sent, result.failed) == (0, 1)
    note = session.exec(select(Notification)).one()
    assert note.sent_at is None and note.attempts == 1
    assert "cannot reach" in (note.last_error or "")


def test_without_smtp_notifications_wait_in_the_outbox(session: Session, settings: Settings) -> None:
    notify(session, ["carol@uni.example"], kind="expiry", subject="s", body="b")
    session.commit()
    assert deliver_outbox(session, settings).pending == 1
    assert session.exec(select(Notification).where(col(Notification.sent_at).is_(None))).one()
