"""The audit chain: every change is on record, and an edited or deleted line is found."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session

from access import audit
from access.audit import GENESIS, verify_chain
from tests.access.conftest import World


@pytest.fixture
def history(world: World) -> World:
    world.approved("alice@uni.example", [world.hmb])
    return world


def test_an_untouched_log_verifies(history: World, session: Session) -> None:
    report = verify_chain(session)
    assert report.ok
    assert report.checked >= 5


def test_an_edited_line_is_found(history: World, session: Session) -> None:
    session.execute(text("UPDATE access_audit_event SET actor = 'mallory@example.org' WHERE id = 3"))
    session.commit()
    report = verify_chain(session)
    assert (report.ok, report.broken_at) == (False, 3)
    assert "altered" in report.reason
    assert history.call("GET", "/audit/verify", "admin@example.org").json()["broken_at"] == 3


def test_a_deleted_line_is_found_at_the_next_one(history: World, session: Session) -> None:
    session.execute(text("DELETE FROM access_audit_event WHERE id = 2"))
    session.commit()
    report = verify_chain(session)
    assert (report.ok, report.broken_at) == (False, 3)
    assert "removed" in report.reason


def test_appends_chain_on_the_head(session: Session) -> None:
    first = audit.append(session, actor="a", action="test.one")
    second = audit.append(session, actor="b", action="test.two", details={"k": [1, 2]})
    session.commit()
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash
    assert verify_chain(session).ok
