"""`genomegate fetch` against a real server: regions equal `bcftools view -r`, refusals are one line."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from access.release.client import FetchError, parse_region
from genomegate.cli import app
from ingest.synthetic import SimulatedCohort
from tests.ingest._tools import bcftools
from tests.release.conftest import ALICE, BOB, Released


def _token(released: Released, who: str) -> str:
    return released.auth(who)["Authorization"].removeprefix("Bearer ")


def _fetch(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["fetch", *(str(a) for a in args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("chr1", ("chr1", None, None)),
    ("chr1:1-100000", ("chr1", 0, 100_000)),
    ("1:5,001-25,000", ("1", 5_000, 25_000)),
    ("chrX:500-", ("chrX", 499, None)),
    ("chr2:700", ("chr2", 699, 700)),
])
def test_regions_read_as_bcftools_reads_them(text: str, expected: tuple[str, int | None, int | None]) -> None:
    assert parse_region(text) == expected


@pytest.mark.parametrize(("text", "match"), [
    ("chr1:", "is not chr, chr:start-end"),
    ("chr1:a-b", "is not chr, chr:start-end"),
    ("chr1:0-10", "positions start at 1"),
    ("chr1:20-10", "the end is before the start"),
])
def test_malformed_regions_are_refused(text: str, match: str) -> None:
    with pytest.raises(FetchError, match=match):
        parse_region(text)


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
@pytest.mark.parametrize("region", ["chr1:5001-25000", "2"])
def test_fetch_gets_what_bcftools_view_r_gives(released: Released, server: str, cohorts: dict[str, SimulatedCohort],
                                               tmp_path: Path, fmt: str, region: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(_token(released, ALICE) + "\n")
    out = tmp_path / f"slice.{'bcf' if fmt == 'BCF' else 'vcf.gz'}"
    code, stdout, stderr = _fetch(server, released.datasets[fmt], "--region", region, "--token-file", token_file,
                                  "--out", out)
    assert code == 0, stderr
    blob = out.read_bytes()
    assert stdout.strip() == f"{out}: {len(blob):,} bytes, sha256 {hashlib.sha256(blob).hexdigest()}"
    expected = bcftools("view", "-H", "-r", "chr" + region.removeprefix("chr"), cohorts[fmt].path)
    assert expected and bcftools("view", "-H", out) == expected


@pytest.mark.parametrize(("stored", "asked"), [("VCF", "BCF"), ("BCF", "VCF")])
def test_fetch_converts_to_the_format_asked(released: Released, server: str, cohorts: dict[str, SimulatedCohort],
                                           tmp_path: Path, stored: str, asked: str) -> None:
    out = tmp_path / f"slice.{'bcf' if asked == 'BCF' else 'vcf.gz'}"
    code, _stdout, stderr = _fetch(server, released.datasets[stored], "--region", "chr1:5001-25000", "--format",
                                   asked, "--token", _token(released, ALICE), "--out", out)
    assert code == 0, stderr
    assert gzip.decompress(out.read_bytes())[:4] == (b"BCF\2" if asked == "BCF" else b"##fi")
    expected = bcftools("view", "-H", "-r", "chr1:5001-25000", cohorts[stored].path)
    assert expected and bcftools("view", "-H", out) == expected


def test_fetch_gets_a_whole_file_byte_for_byte(released: Released, server: str, tmp_path: Path) -> None:
    file = released.files["VCF"]
    out = tmp_path / "whole.vcf.gz"
    code, stdout, stderr = _fetch(server, released.datasets["VCF"], "--file", file.id, "--format", "vcf",
                                  "--token", _token(released, ALICE), "--out", out, "--json")
    assert code == 0, stderr
    assert out.read_bytes() == Path(file.uri).read_bytes()
    summary = json.loads(stdout)
    assert (summary["bytes"], summary["sha256"], summary["urls"]) == (file.size, file.sha256, 1)


@pytest.mark.parametrize(("who", "args", "message"), [
    (BOB, [], "error: PermissionDenied (403) on the ticket: you hold no active entitlement to dataset"),
    ("forged", [], "error: InvalidAuthentication (401) on the ticket:"),
    (ALICE, ["--region", "chrQ:1-10"], "error: NotFound (404) on the ticket: referenceName 'chrQ'"),
    (ALICE, ["--region", "chr1:9-1"], "error: region 'chr1:9-1': the end is before the start"),
])
def test_refusals_are_one_line_and_leave_no_file(released: Released, server: str, tmp_path: Path, who: str,
                                                 args: list[str], message: str) -> None:
    token = "not-a-token" if who == "forged" else _token(released, who)
    out = tmp_path / "out.vcf.gz"
    code, stdout, stderr = _fetch(server, released.datasets["VCF"], "--token", token, "--out", out, *args)
    assert code == 1 and stdout == ""
    assert stderr.startswith(message) and len(stderr.strip().splitlines()) == 1, stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_node_and_a_missing_token_are_one_line(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GENOMEGATE_TOKEN", raising=False)
    code, _, stderr = _fetch("http://127.0.0.1:9", "GGD000001", "--token", "t", "--out", tmp_path / "x.vcf.gz")
    assert code == 1 and stderr.startswith("error: ConnectError talking to http://127.0.0.1:9")
    code, _, stderr = _fetch("http://127.0.0.1:9", "GGD000001", "--out", tmp_path / "x.vcf.gz")
    assert code == 1 and "give exactly one of --token" in stderr
