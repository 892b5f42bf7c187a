"""The DAC's and operator's CLI: list and decide requests, revoke entitlements, checkpoint and verify the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from access.audit import GENESIS, event_hash
from access.models import AuditEvent, RequestCreate, RequestUpdate
from access.services import requests, review
from catalogue.database import make_engine
from catalogue.identity import Caller, Principal
from catalogue.models import Role
from genomegate.cli import app
from genomegate.schema import upgrade
from tests.factories import grant, make_dac, make_dataset, make_organisation


@pytest.fixture
def submitted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, str]:
    """A fresh node (SQLite in a data dir, as the CLI sees it) with one submitted request."""
    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GENOMEGATE_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'genomegate.db'}")
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        org, dac = make_organisation(session), make_dac(session)
        grant(session, "chair@dac.example", Role.dac_member, dac=dac.id)
        dataset = make_dataset(session, organisation_id=org.id, security="CONTROLLED", dac_id=dac.id,
                               dua_text="DUA", publish=True)
        alice = Caller(principal=Principal(subject="alice@uni.example", issuer="test"))
        request = requests.create_request(session, alice, RequestCreate(
            project_title="Heart", purpose=["HMB"], datasets=[dataset.id]))
        requests.update_request(session, alice, request.id, RequestUpdate(accept_agreements={dataset.id: "1"}))
        review.submit_request(session, alice, request.id)
    engine.dispose()
    return CliRunner(), request.id


def test_a_dac_member_decides_and_the_operator_revokes(submitted: tuple[CliRunner, str]) -> None:
    cli, request_id = submitted
    listed = json.loads(cli.invoke(app, ["requests", "list", "--json"]).stdout)
    assert [(r["id"], r["state"]) for r in listed] == [(request_id, "submitted")]
    as_operator = cli.invoke(app, ["requests", "decide", request_id, "approve"])
    assert as_operator.exit_code == 1
    assert "--as MEMBER" in as_operator.stderr
    stranger = cli.invoke(app, ["requests", "decide", request_id, "approve", "--as", "bob@uni.example"])
    assert stranger.exit_code == 1
    assert "does not exist" in stranger.stderr  # not a member: the request is not theirs to see
    decided = cli.invoke(app, ["requests", "decide", request_id, "approve", "--as", "chair@dac.example"])
    assert decided.exit_code == 0, decided.output
    assert "is approved" in decided.stdout
    [entitlement] = json.loads(cli.invoke(app, ["entitlements", "list", "--json"]).stdout)
    assert (entitlement["subject"], entitlement["active"]) == ("alice@uni.example", True)
    revoked = cli.invoke(app, ["entitlements", "revoke", str(entitlement["id"]), "--reason", "audit finding"])
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(cli.invoke(app, ["entitlements", "list", "--json"]).stdout)[0]["active"] is False
    assert "approve" in cli.invoke(app, ["requests", "show", request_id]).stdout


def test_audit_verify_reports_the_first_broken_line(submitted: tuple[CliRunner, str], tmp_path: Path) -> None:
    cli, _ = submitted
    intact = cli.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0
    assert "intact" in intact.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'genomegate.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE access_audit_event SET details = '{}' WHERE id = 2"))
    engine.dispose()
    broken = cli.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "broken at line 2" in broken.stderr


def _database(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'genomegate.db'}")


def test_a_checkpoint_file_shows_removed_newest_lines(submitted: tuple[CliRunner, str], tmp_path: Path) -> None:
    cli, _ = submitted
    assert "no checkpoint to check against yet" in cli.invoke(app, ["audit", "verify"]).stdout
    made = cli.invoke(app, ["audit", "checkpoint", "--out", str(tmp_path / "cp.json"), "--json"])
    assert made.exit_code == 0, made.output
    shown = json.loads(made.stdout)
    size = shown["size"]
    saved = json.loads((tmp_path / "cp.json").read_text())
    assert (saved["size"], saved["root"], len(saved["leaves"]), shown["new"]) == (size, shown["root"], size, True)
    again = cli.invoke(app, ["audit", "checkpoint"])
    assert again.exit_code == 0
    assert f"unchanged (no lines since the last), latest: size {size}" in again.stdout
    intact = cli.invoke(app, ["audit", "verify", "--checkpoint", str(tmp_path / "cp.json")])
    assert intact.exit_code == 0, intact.output
    assert f"the log holds the {size} lines it covers" in intact.stdout
    engine = _database(tmp_path)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM access_audit_event WHERE id >= :id"), {"id": size - 1})
    engine.dispose()
    removed = cli.invoke(app, ["audit", "verify", "--checkpoint", str(tmp_path / "cp.json")])
    assert removed.exit_code == 1
    assert "audit log intact" in removed.stdout  # the chain alone cannot see it
    assert f"2 lines were removed since the checkpoint (it covers {size}, the log has {size - 2})" in removed.stderr
    assert "Traceback" not in removed.output
    stored = cli.invoke(app, ["audit", "verify"])
    assert stored.exit_code == 1
    assert f"the latest stored checkpoint (size {size}" in stored.stderr
    refused = cli.invoke(app, ["audit", "checkpoint"])
    assert refused.exit_code == 1
    assert "error: the log has" in refused.stderr and "2 were removed" in refused.stderr


def test_a_checkpoint_file_names_a_rewritten_line(submitted: tuple[CliRunner, str], tmp_path: Path) -> None:
    cli, _ = submitted
    assert cli.invoke(app, ["audit", "checkpoint", "--out", str(tmp_path / "cp.json")]).exit_code == 0
    engine = _database(tmp_path)
    with Session(engine) as session:  # rewrite line 2, then recompute the whole chain with the public function
        prev = GENESIS
        for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all():
            if event.id == 2:
                event.actor = "mallory@example.org"
            event.prev_hash, event.hash = prev, event_hash(event, prev)
            session.add(event)
            session.flush()
            prev = event.hash
        session.commit()
    engine.dispose()
    rewritten = cli.invoke(app, ["audit", "verify", "--checkpoint", str(tmp_path / "cp.json")])
    assert rewritten.exit_code == 1
    assert "audit log intact" in rewritten.stdout
    assert "line 2 differs from what the checkpoint covers" in rewritten.stderr


def test_a_forged_checkpoint_file_is_reported(submitted: tuple[CliRunner, str], tmp_path: Path) -> None:
    cli, _ = submitted
    assert cli.invoke(app, ["audit", "checkpoint", "--out", str(tmp_path / "cp.json"), "--no-leaves"]).exit_code == 0
    checkpoint = json.loads((tmp_path / "cp.json").read_text())
    assert "leaves" not in checkpoint
    checkpoint["size"] -= 1
    (tmp_path / "forged.json").write_text(json.dumps(checkpoint))
    forged = cli.invoke(app, ["audit", "verify", "--checkpoint", str(tmp_path / "forged.json")])
    assert forged.exit_code == 1
    assert "the checkpoint's signature does not verify" in forged.stderr
    (tmp_path / "junk.json").write_text('{"size": "many"}')
    junk = cli.invoke(app, ["audit", "verify", "--checkpoint", str(tmp_path / "junk.json")])
    assert junk.exit_code == 1
    assert junk.stderr.count("\n") == 1 and "is not a checkpoint file" in junk.stderr


def test_the_operator_names_the_remote_dac_of_a_dataset_errors_in_one_line(submitted: tuple[CliRunner, str]) -> None:
    cli, _ = submitted
    [dataset] = json.loads(cli.invoke(app, ["dataset", "list", "--json"]).stdout)
    command = ["dataset", "remote-dac", dataset["id"]]
    for args, message in ((["--node", "ftp://node-b", "--dac", "GGC000002"], "--node: give an http"),
                          (["--node", "https://node-b.example"], "give both --node and --dac"),
                          ([], "names no DAC at another node")):
        refused = cli.invoke(app, [*command, *args])
        assert refused.exit_code == 1 and message in refused.stderr, refused.output
        assert "Traceback" not in refused.output
    named = cli.invoke(app, [*command, "--node", "https://node-b.example/", "--dac", "GGC000002"])
    assert named.exit_code == 0, named.output
    assert "decided at another node" in named.stdout
    shown = json.loads(cli.invoke(app, [*command, "--json"]).stdout)
    assert (shown["dac_url"], shown["visa_issuer"], shown["set_by"]) == (
        "https://node-b.example/api/dacs/GGC000002", "https://node-b.example", "operator@cli")
    cleared = cli.invoke(app, [*command, "--clear"])
    assert cleared.exit_code == 0 and "decided here again" in cleared.stdout
    assert cli.invoke(app, [*command]).exit_code == 1
