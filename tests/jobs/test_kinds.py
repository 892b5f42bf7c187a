"""Each kind of background work runs on a separate `genomegate worker` process, on each broker and database:
audit checkpoints signed, the outbox delivered to a real SMTP server (aiosmtpd), reminders queued, expiries
recorded once, privacy budgets renewed; and mail queued by an action goes out at once, not on the next period."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, insert
from sqlmodel import Session, col, func, select

from access import audit
from access.checkpoints import latest_checkpoint, node_signer, signed, verify_log
from access.models import AuditEvent, Entitlement, Notification
from beacon.privacy.models import PrivacyLedger
from catalogue.models import Role, as_utc, utcnow
from catalogue.runtime import Runtime
from catalogue.settings import Settings
from jobs import broker as brokers
from jobs.models import Job, JobState
from tests.factories import client_with, grant, make_dac, make_dataset, make_entitlement, make_organisation
from tests.workers import Workers, wait_for


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def inbox() -> Iterator[tuple[_Inbox, int]]:
    box = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _count(engine: Engine, query: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(query).one())


def test_every_periodic_kind_runs_on_a_worker(node: Settings, engine: Engine, session: Session,
                                              dispatch: brokers.Broker, workers: Workers,
                                              inbox: tuple[_Inbox, int]) -> None:
    box, port = inbox
    org = make_organisation(session)
    dac = make_dac(session)
    dataset = make_dataset(session, organisation_id=org.id, dac_id=dac.id, security="CONTROLLED",
                           dua_text="x", dua_version="1", publish=True)
    ending = make_entitlement(session, "soon@uni.example", dataset.id, days=5)
    ended = make_entitlement(session, "past@uni.example", dataset.id, days=10, start_days_ago=11)
    make_entitlement(session, "revoked@uni.example", dataset.id, days=1, start_days_ago=3, revoked=True)
    for n in range(3):
        audit.append(session, actor="admin@example.org", action=f"test.{n}")
    old = utcnow() - timedelta(days=3)
    session.execute(insert(PrivacyLedger).values(holder="acct:spender", dataset_id=dataset.id, kind="account",
                                                 spent=0.9, period_start=old, locked_at=old))
    session.commit()
    every = {f"{name}_seconds": 1 for name in ("audit_checkpoint", "notifications_every", "reminders_every",
                                               "expiries_every", "budget_renewal_every")}
    worker = workers.start(node, smtp_host="127.0.0.1", smtp_port=port, privacy_renew_days=1, reminder_days=30,
                           **every)

    subjects = wait_for("the reminder and the expiry notice are delivered", 40,
                        lambda: len(box.messages) >= 2 and box.subjects(), workers.logs)
    assert sorted(subjects) == sorted([f"Your access to {dataset.id} ends on {as_utc(ending.end):%Y-%m-%d}",
                                       f"Your access to {dataset.id} has ended"])
    assert sorted(str(m["To"]) for m in box.messages) == ["past@uni.example", "soon@uni.example"]

    def budget() -> PrivacyLedger:
        with Session(engine) as s:
            row = s.exec(select(PrivacyLedger)).one()
            return row

    renewed = wait_for("the budget is renewed", 20, lambda: (b := budget()).spent == 0.0 and b, workers.logs)
    assert renewed.locked_at is None and as_utc(renewed.period_start) > old + timedelta(days=2)

    audit_lines = _count(engine, select(func.count()).select_from(AuditEvent))

    def checkpoint_of_all() -> bool:
        with Session(engine) as s:
            row = latest_checkpoint(s)
            return row is not None and row.size == audit_lines
    wait_for("a checkpoint covers the whole log", 20, checkpoint_of_all, workers.logs)
    with Session(engine) as s:
        row = latest_checkpoint(s)
        assert row is not None
        assert verify_log(s, signed(row), node_signer(node.data_dir).public).ok

    time.sleep(3)  # three more slots of every kind
    assert worker.stop() == 0
    expiries = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "entitlement.expire")
    assert _count(engine, expiries) == 1  # recorded once, however many runs
    assert len(box.messages) == 2  # each mail sent once
    with Session(engine) as s:
        assert s.get(Entitlement, ended.id).expiry_recorded_at is not None  # type: ignore[union-attr]
        assert s.get(Entitlement, ending.id).reminded_at is not None  # type: ignore[union-attr]
        kinds = set(s.exec(select(Job.kind).where(Job.state == JobState.succeeded)).all())
        failed = s.exec(select(Job).where(Job.state == JobState.failed)).all()
    assert {"audit.checkpoint", "access.notifications.deliver_outbox", "access.entitlements.remind",
            "access.entitlements.expire", "beacon.privacy.renew_budgets", "jobs.reap"} <= kinds
    assert not failed, [(j.kind, j.error) for j in failed]


def test_mail_queued_by_an_action_is_delivered_at_once_by_a_worker(
        node: Settings, runtime: Runtime, session: Session, auth: Callable[[str], dict[str, str]],
        workers: Workers, inbox: tuple[_Inbox, int], tmp_path: Path) -> None:
    box, port = inbox
    org = make_organisation(session)
    dac = make_dac(session)
    grant(session, "chair@dac.example", Role.dac_member, dac=dac.id)
    dataset = make_dataset(session, organisation_id=org.id, dac_id=dac.id, security="CONTROLLED",
                           dua_text="x", dua_version="1", publish=True)
    entitlement = make_entitlement(session, "holder@uni.example", dataset.id)
    mail = {"smtp_host": "127.0.0.1", "smtp_port": port}
    workers.start(node, **mail)  # the outbox is not delivered periodically here (notifications_every_seconds 0)
    server = node.model_dump(include={"data_dir", "queue_url", "queue_name", "job_lease_seconds"})
    with client_with(runtime, **server, **mail) as client:  # the server submits; it delivers nothing itself
        revoked = client.post(f"/api/access/entitlements/{entitlement.id}/revoke", json={"reason": "left the lab"},
                              headers=auth("chair@dac.example"))
        assert revoked.status_code == 200, revoked.text
    wait_for("the revocation notice is delivered", 30, lambda: box.messages, workers.logs)
    assert box.subjects() == [f"Your access to {dataset.id} was revoked"]

    def delivery() -> Job | None:
        with Session(runtime.engine) as s:
            [job] = s.exec(select(Job).where(Job.kind == "access.notifications.deliver_outbox")).all()
            return job if job.state == JobState.succeeded else None
    job = wait_for("the delivery job is recorded", 10, delivery, workers.logs)
    assert job.result == {"sent": 1, "failed": 0, "pending": 0}
    assert job.dedupe_key is None  # submitted by the action, not by the schedule
    with Session(runtime.engine) as s:
        assert s.exec(select(Notification).where(col(Notification.sent_at).is_(None))).first() is None
