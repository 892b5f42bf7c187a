"""The audit chain: every change is on record, and an edited or deleted line is found."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from access import audit
from access.audit import GENESIS, verify_chain
from access.models import AuditEvent
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


def _chain(session: Session) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))))


def test_lines_appended_together_chain_in_order_on_the_head(session: Session) -> None:
    audit.append(session, actor="a", action="test.before")
    rows = audit.append_lines(session, [audit.Line("b", f"test.batch.{n}", client="10.0.0.1", details={"n": n})
                                        for n in range(3)])
    session.commit()
    events = _chain(session)
    assert [e.action for e in events] == ["test.before", "test.batch.0", "test.batch.1", "test.batch.2"]
    assert [e.hash for e in events[1:]] == [r["hash"] for r in rows]
    for before, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == before.hash
        assert event.hash == audit.event_hash(event, before.hash)
    assert events[2].details == {"n": 1} and events[2].client == "10.0.0.1"
    assert verify_chain(session).ok


def test_lines_built_on_a_head_another_writer_took_are_chained_anew(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    audit.append(session, actor="a", action="test.first")
    session.commit()
    heads = iter([GENESIS])  # the first read sees the log as it was before "another writer" appended
    read_head = audit._head
    monkeypatch.setattr(audit, "_head", lambda s: next(heads, None) or read_head(s))
    audit.append_lines(session, [audit.Line("b", "test.second"), audit.Line("c", "test.third")])
    session.commit()
    events = _chain(session)
    assert [e.action for e in events] == ["test.first", "test.second", "test.third"]
    assert events[1].prev_hash == events[0].hash
    assert verify_chain(session).ok
