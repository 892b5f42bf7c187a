"""Signed checkpoints of the audit log: removed or rewritten lines show, proofs verify, and the server makes them."""

from __future__ import annotations

import base64
import logging
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from access import audit
from access.audit import event_hash, log_size, stored_leaves, verify_chain
from access.checkpointer import checkpoint_once
from access.checkpoints import (
    AuditKey,
    AuditSigner,
    CheckpointRefused,
    SignedCheckpoint,
    audit_key_path,
    checkpoint_note,
    make_checkpoint,
    node_signer,
    signed,
    verify_log,
)
from access.merkle import leaf_hash, tree_hash, verify_consistency, verify_inclusion
from access.models import AuditCheckpoint, AuditEvent
from catalogue.database import make_engine
from catalogue.runtime import Runtime
from genomegate.schema import upgrade
from tests.access.conftest import World

ORIGIN = "http://testserver"


@pytest.fixture
def history(world: World) -> World:
    world.approved("alice@uni.example", [world.hmb])
    other = world.submitted("bob@uni.example", [world.elsewhere])
    decided = world.call("POST", f"/requests/{other}/decision", "other-dac@example.org", json={"decision": "approve"})
    assert decided.status_code == 200, decided.text
    return world


@pytest.fixture
def signer(tmp_path: Path) -> AuditSigner:
    return AuditSigner.load_or_create(tmp_path / "keys" / "audit-key.pem")


def _checkpoint(session: Session, signer: AuditSigner) -> SignedCheckpoint:
    row = make_checkpoint(session, signer, origin=ORIGIN)
    assert row is not None
    return signed(row)


def _rewrite(session: Session, line: int, actor: str) -> None:
    """What an intruder with the database and the code does: edit a line, then recompute every hash after it."""
    session.execute(text("UPDATE access_audit_event SET actor = :actor WHERE id = :id"), {"actor": actor, "id": line})
    session.commit()
    prev = audit.GENESIS
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all():
        session.refresh(event)
        event.prev_hash, event.hash = prev, event_hash(event, prev)
        session.add(event)
        session.flush()
        prev = event.hash
    session.commit()


def test_a_checkpoint_signs_the_size_and_root_of_the_whole_log(history: World, session: Session,
                                                                signer: AuditSigner, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "audit-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    checkpoint = _checkpoint(session, signer)
    assert checkpoint.size == log_size(session) >= 10
    assert checkpoint.root == tree_hash([leaf_hash(h) for h in stored_leaves(session)]).hex()
    assert checkpoint.note == checkpoint_note(ORIGIN, checkpoint.size, bytes.fromhex(checkpoint.root),
                                              checkpoint.time)
    assert signer.public.verifies(checkpoint.note.encode(), base64.b64decode(checkpoint.signature))
    assert verify_log(session, checkpoint, signer.public).ok
    assert make_checkpoint(session, signer, origin=ORIGIN) is None  # nothing new: no second checkpoint
    audit.append(session, actor="admin@example.org", action="test.more")
    session.commit()
    assert _checkpoint(session, signer).size == checkpoint.size + 1
    assert AuditSigner.load_or_create(key_file).public.key_id == signer.public.key_id  # the same key, read back


def test_deleting_the_newest_lines_is_reported_and_refused(history: World, session: Session, signer: AuditSigner,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    checkpoint = _checkpoint(session, signer)
    newest = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first()
    assert newest is not None
    session.execute(text("DELETE FROM access_audit_event WHERE id >= :id"), {"id": newest - 2})
    session.commit()
    assert verify_chain(session).ok  # the hash chain alone cannot see it
    report = verify_log(session, checkpoint, signer.public)
    assert report.problems == (f"3 lines were removed since the checkpoint (it covers {checkpoint.size}, "
                               f"the log has {checkpoint.size - 3})",)
    with caplog.at_level(logging.ERROR, logger="genomegate.audit"), \
            pytest.raises(CheckpointRefused, match="fewer than the .* of the last checkpoint: 3 were removed"):
        make_checkpoint(session, signer, origin=ORIGIN)
    assert "audit log tampering" in caplog.text
    for _ in range(5):  # new lines do not hide it: the first lines no longer extend the checkpoint
        audit.append(session, actor="mallory@example.org", action="test.cover")
    session.commit()
    with pytest.raises(CheckpointRefused, match="no longer hash to the root of the last checkpoint"):
        make_checkpoint(session, signer, origin=ORIGIN)


def test_a_rewritten_line_with_a_recomputed_chain_is_reported(history: World, session: Session,
                                                              signer: AuditSigner) -> None:
    checkpoint = _checkpoint(session, signer)
    leaves = [h.hex() for h in stored_leaves(session)]
    ids = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id))).all()
    middle = ids[len(ids) // 2]
    assert middle is not None
    _rewrite(session, middle, "mallory@example.org")
    assert verify_chain(session).ok  # the chain was recomputed: it alone cannot see it
    without_leaves = verify_log(session, checkpoint, signer.public)
    assert not without_leaves.ok
    assert "do not hash to the checkpoint's root" in without_leaves.problems[0]
    with_leaves = verify_log(session, checkpoint, signer.public, leaves)
    assert with_leaves.problems == (f"line {middle} differs from what the checkpoint covers",)
    assert with_leaves.first_differing == middle
    assert make_checkpoint(session, signer, origin=ORIGIN) is None  # as many lines as before: skipped unread
    with pytest.raises(CheckpointRefused, match="a line it covers was rewritten"):
        make_checkpoint(session, signer, origin=ORIGIN, recheck=True)
    audit.append(session, actor="mallory@example.org", action="test.cover")
    session.commit()
    with pytest.raises(CheckpointRefused, match="a line it covers was rewritten"):
        make_checkpoint(session, signer, origin=ORIGIN)


def test_earlier_checkpoints_bound_where_a_rewritten_log_stops_matching(world: World, session: Session,
                                                                        signer: AuditSigner) -> None:
    earlier = []
    for n in range(12):
        audit.append(session, actor="admin@example.org", action=f"test.{n}")
        session.commit()
        if n % 3 == 2:  # checkpoints of 3, 6, 9 and 12 lines
            earlier.append(_checkpoint(session, signer))
    _rewrite(session, 8, "mallory@example.org")
    report = verify_log(session, earlier[-1], signer.public, earlier=earlier)
    assert report.problems == ("the log's first 12 lines do not hash to the checkpoint's root: a line after line 6 "
                               f"was altered or removed (the checkpoint of size 6, {earlier[1].time}, still matches)",)
    forged = [c.model_copy(update={"signature": earlier[0].signature}) for c in earlier[1:3]]
    assert verify_log(session, earlier[-1], signer.public, earlier=[earlier[0], *forged]).problems[0].endswith(
        "a line after line 3 was altered or removed (the checkpoint of size 3, " f"{earlier[0].time}, still matches)")


def test_a_line_edited_without_its_hash_is_reported_against_the_checkpoint(history: World, session: Session,
                                                                           signer: AuditSigner) -> None:
    checkpoint = _checkpoint(session, signer)
    leaves = [h.hex() for h in stored_leaves(session)]
    session.execute(text("UPDATE access_audit_event SET action = 'request.nothing' WHERE id = 4"))
    session.commit()
    assert verify_log(session, checkpoint, signer.public, leaves).problems == (
        "line 4 differs from what the checkpoint covers",)


def test_forged_checkpoints_do_not_verify(history: World, session: Session, signer: AuditSigner,
                                          tmp_path: Path) -> None:
    checkpoint = _checkpoint(session, signer)
    session.execute(text("DELETE FROM access_audit_event WHERE id > 5"))
    session.commit()
    shrunk_root = tree_hash([leaf_hash(h) for h in stored_leaves(session)])
    # The size and root changed to match the shortened log, the old signature kept:
    note = checkpoint_note(ORIGIN, 5, shrunk_root, checkpoint.time)
    relabelled = checkpoint.model_copy(update={"size": 5, "root": shrunk_root.hex(), "note": note})
    assert verify_log(session, relabelled, signer.public).problems == ("the checkpoint's signature does not verify",)
    # Re-signed with another key:
    other = AuditSigner.load_or_create(tmp_path / "other" / "key.pem")
    resigned = relabelled.model_copy(update={"signature": base64.b64encode(other.sign(note.encode())).decode(),
                                             "key_id": other.public.key_id})
    assert verify_log(session, resigned, other.public).ok  # a valid checkpoint, of another key
    assert verify_log(session, resigned, signer.public).problems == ("the checkpoint's signature does not verify",)
    # A stored checkpoint rewritten to match: the node refuses to build on it.
    session.execute(text("UPDATE access_audit_checkpoint SET size = 5, root = :root, note = :note"),
                    {"root": shrunk_root.hex(), "note": note})
    session.commit()
    with pytest.raises(CheckpointRefused, match="does not verify with the node's key"):
        make_checkpoint(session, signer, origin=ORIGIN, recheck=True)


def test_the_key_is_made_once_per_data_dir(tmp_path: Path) -> None:
    node_signer.cache_clear()
    first = node_signer(tmp_path)
    assert audit_key_path(tmp_path).exists()
    node_signer.cache_clear()
    assert node_signer(tmp_path).public.key_id == first.public.key_id
    assert AuditKey.from_jwk(first.public.jwk()).raw == first.public.raw


# --- HTTP -------------------------------------------------------------------------------------------------------

def test_the_published_key_and_checkpoint_verify_proofs_from_the_api(history: World, session: Session,
                                                                     runtime: Runtime) -> None:
    client = history.client
    assert client.get("/.well-known/genomegate/audit-checkpoint").status_code == 404
    signer = node_signer(runtime.settings.data_dir)
    old = _checkpoint(session, signer)
    history.approved("carol@uni.example", [history.gru])
    new = _checkpoint(session, signer)
    key = AuditKey.from_jwk(client.get("/.well-known/genomegate/audit-key").json())  # anyone
    published = SignedCheckpoint.model_validate(client.get("/.well-known/genomegate/audit-checkpoint").json())
    assert published == new
    assert key.verifies(published.note.encode(), base64.b64decode(published.signature))

    proof = client.get("/api/access/audit/proofs/consistency", params={"first": old.size, "second": new.size}).json()
    path = [bytes.fromhex(p) for p in proof["proof"]]
    assert verify_consistency(old.size, new.size, bytes.fromhex(old.root), bytes.fromhex(new.root), path)
    flipped = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
    assert not verify_consistency(old.size, new.size, bytes.fromhex(old.root), bytes.fromhex(new.root), flipped)

    ids = session.exec(select(AuditEvent.id).order_by(col(AuditEvent.id))).all()
    for index, line in enumerate(ids):
        got = history.call("GET", "/audit/proofs/inclusion", "admin@example.org",
                           params={"line": line, "size": new.size}).json()
        assert got["leaf_index"] == index
        leaf = leaf_hash(bytes.fromhex(got["leaf"]))
        audit_path = [bytes.fromhex(p) for p in got["audit_path"]]
        assert verify_inclusion(index, new.size, leaf, audit_path, bytes.fromhex(new.root)), line
        assert not verify_inclusion(index, new.size, leaf_hash(b"another line"), audit_path,
                                    bytes.fromhex(new.root))
        if index + 1 < new.size:
            assert not verify_inclusion(index + 1, new.size, leaf, audit_path, bytes.fromhex(new.root))


def test_inclusion_proofs_are_for_those_who_may_read_the_line(history: World) -> None:
    mine = history.call("GET", "/audit", "dac1@example.org").json()
    theirs = history.call("GET", "/audit", "other-dac@example.org").json()
    assert mine and theirs
    line, size = mine[0]["id"], max(r["id"] for r in mine + theirs)
    params = {"line": line, "size": size}
    assert history.call("GET", "/audit/proofs/inclusion", "dac1@example.org", params=params).status_code == 200
    refused = history.call("GET", "/audit/proofs/inclusion", "other-dac@example.org", params=params)
    assert (refused.status_code, refused.json()["field"]) == (403, "line")
    assert history.call("GET", "/audit/proofs/inclusion", "alice@uni.example", params=params).status_code == 403
    anonymous = history.call("GET", "/audit/proofs/inclusion", None, params=params)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("path", "params", "status", "field"), [
    ("/audit/proofs/inclusion", {"line": 1, "size": 0}, 422, "query.size"),
    ("/audit/proofs/inclusion", {"line": 1, "size": 2**31 + 1}, 422, "query.size"),
    ("/audit/proofs/inclusion", {"line": 0, "size": 1}, 422, "query.line"),
    ("/audit/proofs/inclusion", {"line": 1, "size": 100_000}, 422, "size"),
    ("/audit/proofs/inclusion", {"line": 5, "size": 2}, 422, "size"),
    ("/audit/proofs/inclusion", {"line": 99_999, "size": 2}, 404, "line"),
    ("/audit/proofs/consistency", {"first": 3, "second": 2}, 422, "first"),
    ("/audit/proofs/consistency", {"first": 0, "second": 2}, 422, "query.first"),
    ("/audit/proofs/consistency", {"first": 1, "second": "many"}, 422, "query.second"),
    ("/audit/proofs/consistency", {"first": 1, "second": 100_000}, 422, "second"),
])
def test_bad_sizes_and_lines_get_a_problem_naming_the_field(history: World, path: str, params: dict[str, object],
                                                            status: int, field: str) -> None:
    response = history.call("GET", path, "admin@example.org", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert field == body.get("field") or field in [e["field"] for e in body.get("errors", [])]


def test_a_checkpoint_is_made_when_lines_were_added_and_skipped_otherwise(runtime: Runtime, session: Session) -> None:
    """The periodic job's function (access/tasks.py runs it on a worker: tests/jobs/test_kinds.py)."""
    settings = runtime.settings
    for n in range(3):
        audit.append(session, actor="admin@example.org", action=f"test.{n}")
    session.commit()
    assert checkpoint_once(runtime.engine, settings.data_dir, settings.public_base_url) == 3
    assert checkpoint_once(runtime.engine, settings.data_dir, settings.public_base_url) is None  # nothing new
    audit.append(session, actor="admin@example.org", action="test.more")
    session.commit()
    assert checkpoint_once(runtime.engine, settings.data_dir, settings.public_base_url) == 4
    assert [cp.origin for cp in session.exec(select(AuditCheckpoint))] == [settings.public_base_url] * 2


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_database_of_revision_0006_with_audit_lines_upgrades_and_checkpoints(
        backend: str, new_database_url: Callable[[str], str], signer: AuditSigner) -> None:
    engine = make_engine(new_database_url(backend))
    upgrade(engine, "0006")
    with Session(engine) as session:
        for n in range(4):
            audit.append(session, actor="old@example.org", action=f"old.{n}")
        session.commit()
    upgrade(engine)
    with Session(engine) as session:
        checkpoint = _checkpoint(session, signer)
        assert checkpoint.size == 4
        assert verify_log(session, checkpoint, signer.public).ok
    engine.dispose()


def test_a_hash_column_overwritten_with_garbage_is_a_changed_line_not_a_crash(history: World, session: Session,
                                                                              signer: AuditSigner) -> None:
    checkpoint = _checkpoint(session, signer)
    session.execute(text("UPDATE access_audit_event SET hash = 'not a hash' WHERE id = 2"))
    session.commit()
    assert verify_chain(session).broken_at == 2
    audit.append(session, actor="admin@example.org", action="test.more")
    session.commit()
    with pytest.raises(CheckpointRefused, match="a line it covers was rewritten"):
        make_checkpoint(session, signer, origin=ORIGIN)
    response = history.call("GET", "/audit/proofs/consistency", None, params={"first": 2, "second": checkpoint.size})
    assert response.status_code == 200
    assert response.json()["second_root"] != checkpoint.root
