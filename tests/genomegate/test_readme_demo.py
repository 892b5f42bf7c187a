"""The README's Beacon examples, run against a node `make demo` would make: its token commands name a demo user,
and its queries find the demo's variants in the datasets the README says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from genomegate.app import create_app
from genomegate.cli import app
from genomegate.demo import DEMO_USERS

ROOT = Path(__file__).resolve().parents[2]


def _demo_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Trying it on the demo", 1)[1]
    return section.split("```sh", 1)[1].split("```", 1)[0]


def test_the_readme_examples_find_the_demos_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = _demo_block()
    [subject] = re.findall(r"auth token --subject (\S+)\)", block)
    assert subject in DEMO_USERS.values()
    queries = re.findall(r'curl -s (?:-H "Authorization: Bearer \$TOKEN" )?(?:\\\n\s*)?"\$B(/g_variants\?[^"]+)"',
                         block)
    signed_in = block.count('-H "Authorization: Bearer $TOKEN"')
    assert len(queries) == 4 and signed_in == 3

    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GENOMEGATE_DATABASE_URL", raising=False)
    examples = tmp_path / "examples"
    made = subprocess.run([sys.executable, str(ROOT / "examples" / "make_example_data.py"), str(examples)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    cli = CliRunner()
    for args in (["db", "upgrade"], ["demo", "--examples", str(examples)]):
        result = cli.invoke(app, args)
        assert result.exit_code == 0, result.output
    token = cli.invoke(app, ["auth", "token", "--subject", subject]).stdout.strip()

    with TestClient(create_app()) as client:
        answers = []
        for i, query in enumerate(queries):
            headers = {"Authorization": f"Bearer {token}"} if i < signed_in else {}
            response = client.get("/beacon/v2" + query, headers=headers)
            assert response.status_code == 200, (query, response.text)
            body = response.json()
            assert body["responseSummary"]["exists"] is True, query
            answers.append({d["datasetId"]: d for d in body["info"]["datasets"]})

    panel, controlled, everything, anonymous = answers
    # chr1:5481 T>C: the panel says yes (boolean, budgeted); the allele counts count it (117 of 198).
    assert panel["GGD000001"]["exists"] and panel["GGD000001"]["returnedGranularity"] == "boolean"
    assert panel["GGD000003"]["exists"] and panel["GGD000003"]["returnedGranularity"] == "count"
    assert dict(parse_qsl(queries[1].split("?", 1)[1]))["datasetIds"] == "GGD000002"
    assert controlled["GGD000002"]["exists"] is True
    assert everything["GGD000001"]["exists"] and everything["GGD000003"]["exists"]
    assert set(anonymous) == {"GGD000003"} and anonymous["GGD000003"]["exists"]
