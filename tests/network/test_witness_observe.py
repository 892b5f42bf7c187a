"""The witness's look at a peer, against a peer that misbehaves on purpose: a real HTTP server signing real
checkpoints (Ed25519) of a log the test controls, with real RFC 9162 proofs. Whatever it claims, only a checkpoint
that verifies with the pinned key, names the peer's log and extends the last one witnessed is countersigned; the
rest raise alarms (counted when seen again); a peer that cannot be read raises none. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from access.checkpoints import AuditSigner, checkpoint_note
from access.merkle import consistency_proof, leaf_hash, tree_hash
from access.models import AuditEvent
from catalogue.identity import Caller
from catalogue.models import Role
from catalogue.runtime import Runtime
from catalogue.settings import Settings
from genomegate.app import create_app
from genomegate.cli import app
from network.discovery import Discovered
from network.peers import add_peer
from network.witness.domain import countersignature_verifies
from network.witness.models import Countersignature, WatchedLog, WitnessAlarm
from network.witness.observe import Observation, Outcome, observe_peers
from tests.factories import grant
from tests.serving import free_port, serving
from tests.web.conftest import Browser

TIME = "2026-01-01T00:00:00Z"


@dataclass
class Forger:
    """What the peer serves: its key, a checkpoint of `leaves` (as `origin`, signed by `signs`), proofs of them."""

    key: AuditSigner
    signs: AuditSigner
    url: str = ""
    leaves: list[bytes] = field(default_factory=list)
    origin: str | None = None  # default: its own URL
    proofs: str = "honest"  # honest, garbage, refused
    down: bool = False  # every answer a 503
    meanwhile: Callable[[], None] | None = None  # run once while a checkpoint is asked for (another worker's run)

    def checkpoint(self) -> dict[str, Any]:
        size, root = len(self.leaves), tree_hash(self.leaves)
        origin = self.origin or self.url
        note = checkpoint_note(origin, size, root, TIME)
        return {"origin": origin, "size": size, "root": root.hex(), "time": TIME, "key_id": self.signs.public.key_id,
                "note": note, "signature": base64.b64encode(self.signs.sign(note.encode())).decode()}


def _leaves(n: int, forged_at: int | None = None) -> list[bytes]:
    return [leaf_hash(b"forged" if i == forged_at else f"line {i}".encode()) for i in range(n)]


@pytest.fixture
def forger(tmp_path: Path) -> Iterator[Forger]:
    key = AuditSigner.load_or_create(tmp_path / "peer.pem")
    peer = Forger(key=key, signs=key, leaves=_leaves(4))
    app = FastAPI()

    @app.middleware("http")
    async def unavailable(request: Any, call_next: Any) -> Any:
        return JSONResponse({"detail": "down"}, status_code=503) if peer.down else await call_next(request)

    @app.get("/.well-known/genomegate/audit-key")
    def audit_key() -> dict[str, str]:
        return peer.key.public.jwk()

    @app.get("/.well-known/genomegate/audit-checkpoint")
    def audit_checkpoint() -> dict[str, Any]:
        if peer.meanwhile is not None:
            hook, peer.meanwhile = peer.meanwhile, None
            hook()
        return peer.checkpoint()

    @app.get("/api/access/audit/proofs/consistency")
    def consistency(first: int, second: int) -> dict[str, Any]:
        if peer.proofs == "refused" or second > len(peer.leaves):
            raise HTTPException(400, "no")
        proof = [p.hex() for p in consistency_proof(first, peer.leaves[:second])]
        return {"first": first, "second": second, "proof": ["zz"] if peer.proofs == "garbage" else proof}

    with serving(app, free_port()) as url:
        peer.url = url
        yield peer


@pytest.fixture
def witness(settings: Settings, session: Session, forger: Forger) -> Settings:
    found = Discovered(beacon_url=f"{forger.url}/beacon/v2", node_url=forger.url, beacon_id="org.example.peer",
                       name="Peer", api_version="v2.0.0", service_info={})
    add_peer(session, Caller.cli_operator(), found)
    return settings


def _look(engine: Engine, settings: Settings) -> Observation:
    [seen] = observe_peers(engine, settings)
    return seen


def _countersigned(session: Session) -> list[int]:
    session.expire_all()
    return sorted(c.size for c in session.exec(select(Countersignature)).all())


def _alarms(session: Session) -> list[tuple[str, int | None, int]]:
    session.expire_all()
    return [(a.kind, a.size, a.times) for a in session.exec(select(WitnessAlarm).order_by(col(WitnessAlarm.id))).all()]


def test_an_honest_peer_is_pinned_then_countersigned_as_its_log_grows(
        engine: Engine, session: Session, witness: Settings, forger: Forger) -> None:
    first = _look(engine, witness)
    assert (first.outcome, first.size, first.origin) == (Outcome.countersigned, 4, forger.url)
    pinned = session.get(WatchedLog, forger.url)
    assert pinned is not None and pinned.key_id == forger.key.public.key_id and pinned.pinned_by == "first use"
    assert _look(engine, witness).outcome == Outcome.unchanged
    forger.leaves = _leaves(7)
    assert _look(engine, witness).outcome == Outcome.countersigned
    assert _countersigned(session) == [4, 7] and _alarms(session) == []
    row = session.exec(select(Countersignature).where(Countersignature.size == 7)).one()
    assert row.witness == witness.public_base_url and row.root == tree_hash(_leaves(7)).hex()
    assert row.checkpoint_note == forger.checkpoint()["note"]
    assert countersignature_verifies(AuditSigner.load_or_create(witness.data_dir / "keys" / "audit-key.pem").public,
                                     witness=row.witness, origin=row.origin, size=row.size, root_hex=row.root,
                                     time=row.time, note=row.note, signature=row.signature)


@pytest.mark.parametrize(("change", "kind", "message"), [
    ("rewritten", "inconsistent", "does not extend the 4 lines witnessed before (the consistency proof fails)"),
    ("shrunk", "inconsistent", "covers 3 lines, fewer than the 4 witnessed before: 1 lines were removed"),
    ("same size, other root", "inconsistent", "another root than the one witnessed"),
    ("garbage proof", "inconsistent", "the consistency proof fails"),
    ("another origin", "wrong_origin", "its checkpoint names the log 'http://elsewhere.example'"),
    ("another signer", "bad_signature", "does not verify with its pinned key"),
    ("another key", "key_changed", "not accepted until an operator trusts it"),
])
def test_a_checkpoint_that_does_not_extend_the_last_or_is_not_the_peers_raises_an_alarm(
        engine: Engine, session: Session, witness: Settings, forger: Forger, tmp_path: Path,
        change: str, kind: str, message: str) -> None:
    assert _look(engine, witness).outcome == Outcome.countersigned
    stranger = AuditSigner.load_or_create(tmp_path / "stranger.pem")
    if change == "rewritten":
        forger.leaves = _leaves(9, forged_at=2)
    elif change == "shrunk":
        forger.leaves = _leaves(3)
    elif change == "same size, other root":
        forger.leaves = _leaves(4, forged_at=3)
    elif change == "garbage proof":
        forger.leaves, forger.proofs = _leaves(6), "garbage"
    elif change == "another origin":
        forger.leaves, forger.origin = _leaves(6), "http://elsewhere.example"
    elif change == "another signer":
        forger.leaves, forger.signs = _leaves(6), stranger
    else:
        forger.leaves, forger.key, forger.signs = _leaves(6), stranger, stranger
    seen = _look(engine, witness)
    assert seen.outcome == Outcome.alarm and message in seen.detail
    assert _look(engine, witness).outcome == Outcome.alarm  # seen again: counted, not recorded twice
    size = len(forger.leaves)
    assert _alarms(session) == [(kind, size, 2)]
    assert _countersigned(session) == [4]
    alarm = session.exec(select(WitnessAlarm)).one()
    assert alarm.evidence["checkpoint"]["size"] == size and message in alarm.message


def test_a_peer_that_cannot_be_read_raises_no_alarm_and_nothing_is_countersigned(
        engine: Engine, session: Session, witness: Settings, forger: Forger) -> None:
    assert _look(engine, witness).outcome == Outcome.countersigned
    forger.leaves, forger.proofs = _leaves(6), "refused"  # it cannot prove its growth: not countersigned
    seen = _look(engine, witness)
    assert seen.outcome == Outcome.unreachable and "answered HTTP 400" in seen.detail
    forger.proofs = "honest"
    assert _look(engine, witness).outcome == Outcome.countersigned
    forger.down = True
    seen = _look(engine, witness)
    assert seen.outcome == Outcome.unreachable and "answered HTTP 503" in seen.detail
    session.expire_all()
    watched = session.get(WatchedLog, forger.url)
    assert watched is not None and "answered HTTP 503" in (watched.last_error or "")
    forger.down = False
    assert _look(engine, witness).outcome == Outcome.unchanged
    session.expire_all()
    assert session.get(WatchedLog, forger.url).last_error is None  # type: ignore[union-attr]
    assert _alarms(session) == [] and _countersigned(session) == [4, 6]


def test_a_look_overtaken_by_another_run_is_left_to_the_next(
        engine: Engine, session: Session, witness: Settings, forger: Forger) -> None:
    """Two workers may look at once: one that began before the other countersigned judges nothing (its proof, if
    any, starts from a checkpoint that is no longer the last), and the next run countersigns."""

    def another_run() -> None:
        assert _look(engine, witness).outcome == Outcome.countersigned  # it countersigns the 4 lines
        forger.leaves = _leaves(6)  # and the log grows before the first run's answer is sent

    forger.meanwhile = another_run
    overtaken = _look(engine, witness)
    assert (overtaken.outcome, overtaken.detail) == (Outcome.unchanged, "witnessed by another run meanwhile")
    assert _alarms(session) == [] and _countersigned(session) == [4]
    assert _look(engine, witness).outcome == Outcome.countersigned
    assert _countersigned(session) == [4, 6]


def test_an_admin_acknowledges_an_alarm_which_stays_so_when_seen_again_while_a_new_claim_raises_a_new_one(
        engine: Engine, session: Session, witness: Settings, forger: Forger, runtime: Runtime,
        auth: Callable[[str], dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    grant(session, "root@example.org", Role.admin)
    assert _look(engine, witness).outcome == Outcome.countersigned
    forger.leaves = _leaves(3)  # it shrank
    assert _look(engine, witness).outcome == Outcome.alarm
    [alarm_id] = [a.id for a in session.exec(select(WitnessAlarm)).all()]
    url = f"/api/network/witness/alarms/{alarm_id}/acknowledge"
    note = {"note": "their operators restored a backup; we are talking to them"}
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        assert client.post(url, json=note).status_code == 401
        assert client.post(url, json=note, headers=auth("someone@example.org")).status_code == 403
        for bad in ({"note": ""}, {"note": "x" * 1_001}, {}):
            refused = client.post(url, json=bad, headers=auth("root@example.org"))
            assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
            assert "note" in refused.text
        assert client.post("/api/network/witness/alarms/999/acknowledge", json=note,
                           headers=auth("root@example.org")).status_code == 404
        done = client.post(url, json=note, headers=auth("root@example.org"))
        assert done.status_code == 200, done.text
        assert done.json()["acknowledged_by"] == "root@example.org" and done.json()["acknowledgement"] == note["note"]
        again = client.post(url, json=note, headers=auth("root@example.org"))
        assert again.status_code == 409 and "already" in again.json()["detail"]
        [log] = client.get("/api/network/witness/logs", headers=auth("root@example.org")).json()
        assert log["alarms"] == 0  # acknowledged: not counted as open
    line = session.exec(select(AuditEvent).where(AuditEvent.action == "network.witness.alarm.acknowledge")).one()
    assert line.actor == "root@example.org" and line.details["alarm"] == alarm_id

    assert _look(engine, witness).outcome == Outcome.alarm  # the same claim seen again: still acknowledged
    session.expire_all()
    assert [(a.id, a.times, a.acknowledged_by) for a in session.exec(select(WitnessAlarm)).all()] == [
        (alarm_id, 2, "root@example.org")]
    forger.leaves = _leaves(9, forged_at=2)  # a new claim: a new alarm, open
    assert _look(engine, witness).outcome == Outcome.alarm
    [new] = [a for a in session.exec(select(WitnessAlarm)).all() if a.id != alarm_id]
    assert new.acknowledged_at is None

    # on the admins' page: a form per open alarm; a blank note is refused with the reason, a note acknowledges it
    page_url = "/admin/network/witness"
    stranger = Browser(create_app(runtime=runtime)).sign_in("someone@example.org")
    assert stranger.post(f"{page_url}/alarms/{new.id}/acknowledge", {"note": "mine"}).status_code == 403
    browser = Browser(create_app(runtime=runtime)).sign_in("root@example.org")
    assert f'action="{page_url}/alarms/{new.id}/acknowledge"' in browser.get(page_url).text
    blank = browser.post(f"{page_url}/alarms/{new.id}/acknowledge", {"note": "   "})
    assert blank.status_code == 303 and "Say what you found or did." in browser.get(page_url).text
    assert browser.post(f"{page_url}/alarms/{new.id}/acknowledge", {"note": "line 2 forged"}).status_code == 303
    page = browser.get(page_url).text
    assert f'action="{page_url}/alarms/{new.id}/acknowledge"' not in page and "line 2 forged" in page

    # the operator's CLI: an empty note is refused without a traceback; a note acknowledges a third claim
    forger.leaves = _leaves(12, forged_at=1)
    assert _look(engine, witness).outcome == Outcome.alarm
    session.expire_all()
    [third] = [a for a in session.exec(select(WitnessAlarm)).all() if a.acknowledged_at is None]
    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(witness.data_dir))
    monkeypatch.setenv("GENOMEGATE_DATABASE_URL", witness.database_url)
    cli = CliRunner()
    empty = cli.invoke(app, ["network", "witness", "acknowledge", str(third.id), "--note", ""])
    assert empty.exit_code == 1 and "--note" in empty.output and "Traceback" not in empty.output
    twice = cli.invoke(app, ["network", "witness", "acknowledge", str(new.id), "--note", "again"])
    assert twice.exit_code == 1 and "already" in twice.output and "Traceback" not in twice.output
    done_cli = cli.invoke(app, ["network", "witness", "acknowledge", str(third.id), "--note", "line 1: reported"])
    assert done_cli.exit_code == 0, done_cli.output
    session.expire_all()
    assert session.get(WitnessAlarm, third.id).acknowledged_by == "operator@cli"  # type: ignore[union-attr]
