"""`genomegate opt-outs status|apply`: what was asked and what is in effect, for people and for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session
from typer.testing import CliRunner

from catalogue.database import make_engine
from catalogue.models import Sample, utcnow
from catalogue.services import opt_outs
from genomegate.cli import app
from ingest.models import IngestionJob


def _ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_status_lists_requests_and_apply_starts_the_recount(cli: CliRunner, tmp_path: Path) -> None:
    _ok(cli, "db", "upgrade")
    org = _ok(cli, "org", "create", "--name", "Lab")
    dataset = _ok(cli, "dataset", "create", "--title", "Cohort", "--assembly", "GRCh38", "--security", "PUBLIC",
                  "--org", org)
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'genomegate.db'}")
    with Session(engine) as session:
        session.add_all(Sample(dataset_id=dataset, sample_id=s) for s in ("S1", "S2"))
        session.commit()
        assert "no sample of" in _ok(cli, "opt-outs", "status", dataset)
        opt_outs.request_opt_out(session, dataset, ["S2"], at=utcnow())
    rows = json.loads(_ok(cli, "opt-outs", "status", dataset, "--json"))
    assert [(r["sample_id"], r["asked"], r["in_effect"], r["pending"]) for r in rows] == [
        ("S2", "opt out", False, True)]
    assert "S2" in _ok(cli, "opt-outs", "status", dataset)
    started = _ok(cli, "opt-outs", "apply")
    with Session(engine) as session:
        recount = session.get(IngestionJob, started.split()[1])
        assert recount is not None and recount.options["recount"] and recount.dataset_id == dataset
    assert "nothing to apply" in _ok(cli, "opt-outs", "apply")  # its recount is queued already
    failed = cli.invoke(app, ["opt-outs", "status", "GGD999999"])
    assert failed.exit_code != 0 and "does not exist" in failed.output and "Traceback" not in failed.output
    engine.dispose()
