"""The CLI as operators use it: a fresh data dir, real commands, readable output and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genomegate.cli import app


def _ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_an_operator_registers_a_lab_a_dac_and_a_dataset(cli: CliRunner) -> None:
    _ok(cli, "db", "upgrade")
    org = _ok(cli, "org", "create", "--name", "Helsinki Biobank")
    dac = _ok(cli, "dac", "create", "--name", "HB DAC", "--contact", "dac@hb.example")
    assert (org, dac) == ("GGO000001", "GGC000001")
    dataset = _ok(cli, "dataset", "create", "--title", "FinnGen-like cohort", "--assembly", "GRCh38",
                  "--security", "CONTROLLED", "--org", org, "--dac", dac, "--duo", "HMB", "--duo", "IRB",
                  "--dua", "Agreement v1")
    assert dataset == "GGD000001"
    _ok(cli, "dataset", "publish", dataset)
    listed = json.loads(_ok(cli, "dataset", "list", "--json"))
    assert [(d["id"], d["status"], d["duo"]) for d in listed] == [
        ("GGD000001", "published", ["DUO:0000006", "DUO:0000021"])]
    shown = json.loads(_ok(cli, "dataset", "show", dataset, "--json"))
    assert shown["dac_id"] == dac
    assert "FinnGen-like cohort" in _ok(cli, "dataset", "show", dataset)
    assert "steward of GGO000001" in _ok(cli, "admin", "grant", "--subject", "s@hb.example",
                                         "--role", "steward", "--org", org)


def test_errors_are_one_line_without_a_traceback(cli: CliRunner) -> None:
    _ok(cli, "db", "upgrade")
    org = _ok(cli, "org", "create", "--name", "Lab")
    result = cli.invoke(app, ["dataset", "create", "--title", "T", "--assembly", "GRCh38",
                              "--security", "CONTROLLED", "--org", org])
    assert result.exit_code == 1
    assert "needs a data access committee" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 2


def test_commands_refuse_an_out_of_date_schema_and_say_what_to_run(cli: CliRunner) -> None:
    result = cli.invoke(app, ["dataset", "list"])
    assert result.exit_code == 1
    assert "genomegate db upgrade" in result.stderr
    served = cli.invoke(app, ["serve", "--port", "1"])
    assert served.exit_code == 1
    assert "--migrate" in served.stderr


def test_a_token_from_the_cli_is_accepted_by_the_server(cli: CliRunner, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from genomegate.app import create_app

    _ok(cli, "db", "upgrade")
    token = _ok(cli, "auth", "token", "--subject", "alice@example.org", "--name", "Alice", "--expires", "5m")
    with TestClient(create_app()) as client:
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["subject"] == "alice@example.org"


def test_bad_settings_are_reported_one_per_line(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENOMEGATE_ENV", "production")
    result = cli.invoke(app, ["db", "status"])
    assert result.exit_code == 2
    assert "configuration: GENOMEGATE_SECRET_KEY" in result.stderr


def test_the_installed_entry_point_runs(tmp_path: Path) -> None:
    env = {**os.environ, "GENOMEGATE_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "genomegate", "db", "upgrade"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "-> " in result.stdout


def test_the_demo_ingests_its_examples_and_can_run_again(cli: CliRunner, tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    script = Path(__file__).resolve().parents[2] / "examples" / "make_example_data.py"
    made = subprocess.run([sys.executable, str(script), str(examples)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    _ok(cli, "db", "upgrade")
    first = _ok(cli, "demo", "--examples", str(examples))
    assert "ingested" in first and "reference panel" in first
    second = _ok(cli, "demo", "--examples", str(examples))
    assert "nothing new to create" in second
    assert second.count("unchanged") == 3 and "reference panel" not in second
    listed = json.loads(_ok(cli, "dataset", "list", "--json"))
    assert {d["security"] for d in listed} == {"PUBLIC", "CONTROLLED"}
    assert all(d["statistics"]["variants"] > 1000 for d in listed)
    assert sorted(d["statistics"]["samples"] for d in listed) == [0, 60, 100]  # one dataset of counts only
    # The aggregated dataset's sites carry the demo's annotation: a gene and an amino-acid query find it, as the
    # README's examples ask them (anonymously: allele counts without genotypes answer anyone).
    from fastapi.testclient import TestClient

    from genomegate.app import create_app

    with TestClient(create_app()) as client:
        gene = client.get("/beacon/v2/g_variants", params={"geneId": "DEMO1", "requestedGranularity": "count"})
        change = client.get("/beacon/v2/g_variants", params={"geneId": "DEMO1", "aminoacidChange": "V600E",
                                                             "requestedGranularity": "count"})
    assert gene.status_code == change.status_code == 200
    assert gene.json()["responseSummary"] == {"exists": True, "numTotalResults": 2}
    assert change.json()["responseSummary"] == {"exists": True, "numTotalResults": 1}
