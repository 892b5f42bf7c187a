"""`genomegate audit prove` and `verify-proof`: a line's proof checked with the node's public key alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genomegate.cli import app
from tests.participants.conftest import ANNA, STEWARD, World, link_sheet
from tests.serving import serving_node


def test_a_proof_from_the_page_verifies_with_only_the_public_key_and_fails_once_altered(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    world.approve()
    world.checkpoint()
    (decision,) = world.api("GET", "/api/participants/me", ANNA).json()["decisions"]
    browser = world.client
    csrf = browser.get("/signin").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert browser.post("/signin/local", data={"subject": ANNA, "csrf_token": csrf},
                        follow_redirects=False).status_code == 303
    page_proof = browser.get(f"/my-data/proofs/{decision['line_id']}.json")
    assert page_proof.status_code == 200 and page_proof.json() == decision["proof"]
    proof, key = tmp_path / "proof.json", tmp_path / "key.json"
    proof.write_bytes(page_proof.content)
    key.write_text(world.client.get("/.well-known/genomegate/audit-key").text)
    cli = CliRunner()
    good = cli.invoke(app, ["audit", "verify-proof", str(proof), "--key", str(key)])
    assert good.exit_code == 0 and f"line {decision['line_id']}" in good.output, good.output
    with serving_node(world.runtime) as base:
        online = cli.invoke(app, ["audit", "verify-proof", str(proof), "--key-url", base])
    assert online.exit_code == 0, online.output
    for field, value in (("actor", "nobody@example.org"), ("at", "2020-01-01T00:00:00.000000")):
        altered = json.loads(page_proof.content)
        altered["line"][field] = value
        proof.write_text(json.dumps(altered))
        bad = cli.invoke(app, ["audit", "verify-proof", str(proof), "--key", str(key)])
        assert bad.exit_code == 1 and "does not verify" in bad.output and "Traceback" not in bad.output
    # the operator proves any line the same way
    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(world.runtime.settings.data_dir))
    monkeypatch.setenv("GENOMEGATE_DATABASE_URL", world.runtime.settings.database_url)
    proved = cli.invoke(app, ["audit", "prove", str(decision["line_id"]), "--out", str(proof)])
    assert proved.exit_code == 0, proved.output
    assert json.loads(proof.read_text()) == decision["proof"]
    assert cli.invoke(app, ["audit", "verify-proof", str(proof), "--key", str(key)]).exit_code == 0
    unknown = cli.invoke(app, ["audit", "prove", "999999"])
    assert unknown.exit_code == 1 and "no audit line" in unknown.output
    assert world.api("GET", f"/api/datasets/{world.dataset}/link-sheets", STEWARD).status_code == 200


def test_the_operator_links_a_sheet_from_the_command_line(world: World, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(world.runtime.settings.data_dir))
    monkeypatch.setenv("GENOMEGATE_DATABASE_URL", world.runtime.settings.database_url)
    sheet = tmp_path / "links.tsv"
    sheet.write_text(link_sheet(world, "\t"))
    cli = CliRunner()
    linked = cli.invoke(app, ["participants", "link", world.dataset, str(sheet)])
    assert linked.exit_code == 0 and "version 1" in linked.output and "2 samples" in linked.output, linked.output
    listed = cli.invoke(app, ["participants", "sheets", world.dataset, "--json"])
    assert [(s["version"], s["links"], s["in_force"]) for s in json.loads(listed.stdout)] == [(1, 2, True)]
    assert world.api("GET", "/api/participants/me", ANNA).status_code == 200
    sheet.write_text("sample_id\tparticipant_id\nNOT-A-SAMPLE\tx\n")
    refused = cli.invoke(app, ["participants", "link", world.dataset, str(sheet)])
    assert refused.exit_code == 1 and "error (sheet)" in refused.output and "Traceback" not in refused.output
