"""Nodes witness each other's audit logs, as separate processes: B and C countersign A's checkpoints; A rewriting
a line (even rebuilding its hash chain and re-signing with its own key) is caught by `audit verify --witnesses`
and refused, with an alarm, by its witnesses; an honest A that appends gets new countersignatures (from a real
worker); a peer whose audit key changes raises an alarm until an operator trusts the new key."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlmodel import col, select

from access import audit
from access.checkpoints import AuditSigner, audit_key_path, make_checkpoint
from access.models import AuditCheckpoint, AuditEvent
from genomegate.app import create_app
from jobs.ledger import submit
from network.models import PeerCreate
from network.peers import join
from tests.network.nodes import OPERATOR, Node, nodes
from tests.web.conftest import Browser
from tests.workers import WorkerProcess, run_queued, wait_for


def _peer(node: Node, other: Node) -> None:
    """`node` adds `other` (its base URL) as a peer, as `genomegate network add` does."""
    with node.session() as session:
        join(session, OPERATOR, PeerCreate(url=other.url), node.settings)


def _log(node: Node, lines: int) -> None:
    with node.session() as session:
        for n in range(lines):
            audit.append(session, actor=f"tester@{node.name}.example", action=f"test.line.{n}")
        session.commit()


def _checkpoint(node: Node) -> int:
    """The node signs a checkpoint of its whole log with the key in its data dir (read afresh: it may be new)."""
    with node.session() as session:
        row = make_checkpoint(session, AuditSigner.load_or_create(audit_key_path(node.settings.data_dir)),
                              origin=node.url)
        assert row is not None
        return row.size


def _observe(node: Node) -> None:
    """One run of the witness job, queued and run as a worker runs it (in this process)."""
    with node.session() as session:
        submit(session, "network.witness.observe", {})
        session.commit()
    assert run_queued(node.runtime.engine, node.settings) >= 1


def _countersigned(witness: Node, of: Node) -> list[int]:
    answer = httpx.get(f"{witness.url}/api/network/witness/countersignatures", params={"origin": of.url,
                                                                                      "limit": 100})
    assert answer.status_code == 200, answer.text
    return [c["size"] for c in answer.json()["data"]]


def _rewrite(node: Node, index: int) -> None:
    """Change the line at 0-based `index` in the node's database, rebuild the hash chain after it, and drop the
    node's own checkpoints (so that it signs new ones): history rewritten by someone holding everything."""
    with node.session() as session:
        lines = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())
        lines[index].details = {**lines[index].details, "forged": True}
        prev = lines[index - 1].hash if index else audit.GENESIS
        for line in lines[index:]:
            line.prev_hash, line.hash = prev, audit.event_hash(line, prev)
            prev = line.hash
            session.add(line)
        session.execute(delete(AuditCheckpoint))
        session.commit()


@pytest.fixture(params=["sqlite", "postgres"])
def watched(request: pytest.FixtureRequest, tmp_path: Path,
            new_database_url: Callable[[str], str]) -> Iterator[list[Node]]:
    """Nodes a, b and c started, on SQLite or PostgreSQL; b and c witness a, and a knows them as its peers."""
    database = None if request.param == "sqlite" else (lambda _: new_database_url("postgres"))
    with nodes(tmp_path, ["a", "b", "c"], database_url=database) as made:
        a, b, c = made
        for node in made:
            node.start()
        for witness in (b, c):
            _peer(witness, a)
            _peer(a, witness)
        yield made


def test_witnesses_countersign_an_honest_log_and_catch_one_rewritten(
        watched: list[Node], caplog: pytest.LogCaptureFixture) -> None:
    a, b, c = watched
    _log(a, 3)
    first = _checkpoint(a)
    for witness in (b, c):
        _observe(witness)
        assert _countersigned(witness, a) == [first]
    honest = a.cli("audit", "verify", "--witnesses")
    for witness in (b, c):
        assert (f"witness org-genomegate-{witness.name} ({witness.url}): the log matches all 1 countersignatures "
                f"checked (of 1; the latest covers {first} lines") in honest.stdout

    _log(a, 2)  # honest: it only appends
    second = _checkpoint(a)
    for witness in (b, c):
        _observe(witness)
        _observe(witness)  # nothing new: nothing countersigned twice
        assert _countersigned(witness, a) == [second, first]
    assert "matches all 2 countersignatures" in a.cli("audit", "verify", "--witnesses").stdout

    _rewrite(a, first)  # the first line after what the first checkpoint covers
    _log(a, 1)
    forged = _checkpoint(a)  # signed with A's own key: A's own checks cannot tell
    assert "checkpoint verified" in a.cli("audit", "verify").stdout
    caught = a.cli("audit", "verify", "--witnesses", check=False)
    assert caught.returncode == 1 and "Traceback" not in caught.stderr + caught.stdout
    for witness in (b, c):
        name = f"witness org-genomegate-{witness.name}"
        assert f"{name} ({witness.url}) disagrees (2 countersignatures checked, the largest that still matches " \
               f"covers {first} lines" in caught.stderr
        assert f"{name}: it countersigned {second} lines with root" in caught.stderr
        assert "a line among them was rewritten or removed" in caught.stderr

    with caplog.at_level(logging.WARNING, logger="genomegate.witness"):
        _observe(b)
    assert _countersigned(b, a) == [second, first]  # the forged checkpoint is not countersigned
    warned = [r.getMessage() for r in caplog.records
              if r.name == "genomegate.witness" and r.levelno >= logging.WARNING]
    assert len(warned) == 1 and a.url in warned[0] and "inconsistent" in warned[0]
    _observe(b)  # seen again: the same alarm, counted
    admin = {"Authorization": f"Bearer {b.admin_token()}"}
    alarms = httpx.get(f"{b.url}/api/network/witness/alarms", headers=admin).json()
    assert [(x["origin"], x["kind"], x["size"], x["times"]) for x in alarms] == [(a.url, "inconsistent", forged, 2)]
    assert f"does not extend the {second} lines witnessed before" in alarms[0]["message"]
    status = b.cli("network", "witness", "status")
    assert "ALARM" in status.stderr and a.url in status.stderr and "consistency proof fails" in status.stderr
    assert f"witness alarms about {a.url}" in b.cli("network", "status").stderr
    logs = json.loads(b.cli("network", "witness", "status", "--json").stdout)
    assert [(w["origin"], w["size"], w["alarms"]) for w in logs] == [(a.url, second, 1)]
    page = Browser(create_app(runtime=b.runtime)).sign_in(f"admin@{b.name}.example").get("/admin/network/witness")
    assert page.status_code == 200 and "inconsistent" in page.text and "does not extend" in page.text

    _observe(c)  # C refuses it too, on its own
    assert _countersigned(c, a) == [second, first]
    assert "alarm" in c.cli("network", "witness", "observe", check=False).stderr


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    """Nodes a and b on SQLite, started; b witnesses a and a knows b."""
    with nodes(tmp_path, ["a", "b"]) as (a, b):
        a.start()
        b.start()
        _peer(b, a)
        _peer(a, b)
        yield a, b


def test_a_worker_countersigns_an_honest_node_as_it_appends_and_anyone_may_read_it(
        pair: tuple[Node, Node], tmp_path: Path) -> None:
    a, b = pair
    _log(a, 2)
    first = _checkpoint(a)
    worker = WorkerProcess(b.env(witness_every_seconds=1), tmp_path / "worker.log")
    try:
        wait_for("B's worker countersigns A's checkpoint", 30, lambda: _countersigned(b, a) == [first],
                 worker.output)
        _log(a, 3)
        second = _checkpoint(a)
        wait_for("B's worker countersigns A's next checkpoint", 30,
                 lambda: _countersigned(b, a) == [second, first], worker.output)
    finally:
        worker.stop()
    verified = a.cli("audit", "verify", "--witnesses")
    assert f"witness org-genomegate-b ({b.url}): the log matches all 2 countersignatures checked (of 2; the " \
           f"latest covers {second} lines" in verified.stdout
    served = httpx.get(f"{b.url}/api/network/witness/countersignatures", params={"origin": a.url}).json()
    latest = served["data"][0]
    assert served["count"] == 2 and latest["witness"] == b.url and latest["origin"] == a.url
    assert latest["note"].startswith(f"genomegate countersignature v1\nwitness {b.url}\norigin {a.url}\n"
                                     f"size {second}\n")
    assert latest["checkpoint_note"].startswith(f"{a.url}\n{second}\n")  # A's own signed claim, kept as evidence
    _who_may_read(a, b, first)


def _who_may_read(a: Node, b: Node, first: int) -> None:
    """Anyone reads the countersignatures (bounded paging); only admins read the witness's logs and alarms."""
    url = f"{b.url}/api/network/witness"
    with httpx.Client() as http:
        assert http.get(f"{url}/countersignatures", params={"origin": a.url}).json()["count"] == 2  # anyone
        paged = http.get(f"{url}/countersignatures", params={"origin": a.url, "offset": 1, "limit": 1}).json()
        assert [c["size"] for c in paged["data"]] == [first] and paged["count"] == 2
        for params, field in (({"origin": a.url, "limit": 101}, "limit"), ({}, "origin"),
                              ({"origin": "http://" + "x" * 600}, "origin"), ({"origin": a.url, "offset": -1},
                                                                               "offset")):
            refused = http.get(f"{url}/countersignatures", params=params)
            assert refused.status_code == 422 and field in refused.text, (params, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        someone = {"Authorization": f"Bearer {b.token('someone@example.org')}"}
        admin = {"Authorization": f"Bearer {b.admin_token()}"}
        for path in ("/logs", "/alarms"):
            assert http.get(f"{url}{path}").status_code == 401
            assert http.get(f"{url}{path}", headers=someone).status_code == 403
            assert http.get(f"{url}{path}", headers=admin).status_code == 200
        logs: list[dict[str, Any]] = http.get(f"{url}/logs", headers=admin).json()
        assert [(w["origin"], w["peer_id"], w["alarms"]) for w in logs] == [(a.url, "org-genomegate-a", 0)]
    page = Browser(create_app(runtime=b.runtime)).sign_in("someone@example.org").get("/admin/network/witness")
    assert page.status_code == 403
    page = Browser(create_app(runtime=b.runtime)).sign_in(f"admin@{b.name}.example").get("/admin/network/witness")
    assert page.status_code == 200 and "No alarms." in page.text and f'data-log="{a.url}"' in page.text


def test_a_peer_whose_audit_key_changes_raises_an_alarm_until_an_operator_trusts_it(pair: tuple[Node, Node]) -> None:
    a, b = pair
    _log(a, 2)
    first = _checkpoint(a)
    _observe(b)
    assert _countersigned(b, a) == [first]
    a.stop()
    audit_key_path(a.settings.data_dir).unlink()  # a new key, made on first use: A re-signs its log with it
    with a.session() as session:
        session.execute(delete(AuditCheckpoint))
        session.commit()
    _log(a, 1)
    second = _checkpoint(a)
    a.start()
    _observe(b)
    assert _countersigned(b, a) == [first]
    alarms = json.loads(b.cli("network", "witness", "alarms", "--json").stdout)
    assert [x["kind"] for x in alarms] == ["key_changed"]
    assert "not accepted until an operator trusts it" in alarms[0]["message"]
    verified = a.cli("audit", "verify", "--witnesses")  # A's log itself is intact: B still vouches for it
    assert "matches all 1 countersignatures" in verified.stdout
    trusted = b.cli("network", "witness", "trust", "org-genomegate-a")
    assert "pinned" in trusted.stdout
    _observe(b)
    assert _countersigned(b, a) == [second, first]  # the new key's checkpoint still had to extend the old one
    b.stop()  # no witness answers: the log cannot be vouched for
    alone = a.cli("audit", "verify", "--witnesses", check=False)
    assert alone.returncode == 2 and f"witness org-genomegate-b ({b.url}) could not be asked" in alone.stderr
    assert "Traceback" not in alone.stderr
