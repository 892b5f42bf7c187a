"""The DAC's and operator's CLI: list and decide requests, revoke entitlements, verify the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from access.models import RequestCreate, RequestUpdate
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
