"""The `htsget` client from PyPI against a real server: regions of VCF and BCF datasets equal `bcftools view -r`."""

from __future__ import annotations

from pathlib import Path

import htsget
import pytest

from ingest.synthetic import SimulatedCohort
from tests.ingest._tools import bcftools
from tests.release.conftest import ALICE, Released


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
@pytest.mark.parametrize(("reference", "start", "end"), [("chr1", 5_000, 25_000), ("2", None, None)])
def test_the_htsget_client_gets_what_bcftools_view_r_gives(
        released: Released, server: str, cohorts: dict[str, SimulatedCohort], tmp_path: Path, fmt: str,
        reference: str, start: int | None, end: int | None) -> None:
    token = released.auth(ALICE)["Authorization"].removeprefix("Bearer ")
    out = tmp_path / f"client.{fmt.lower()}"
    with out.open("wb") as handle:
        htsget.get(f"{server}/htsget/variants/{released.datasets[fmt]}", handle, reference_name=reference,
                   start=start, end=end, data_format=fmt, bearer_token=token, max_retries=0, timeout=30)
    contig = "chr" + reference.removeprefix("chr")
    region = f"{contig}:{(start or 0) + 1}-{'' if end is None else end}"
    expected = bcftools("view", "-H", "-r", region, cohorts[fmt].path)
    assert expected and bcftools("view", "-H", out) == expected


def test_the_htsget_client_gets_the_whole_file(released: Released, server: str, tmp_path: Path) -> None:
    token = released.auth(ALICE)["Authorization"].removeprefix("Bearer ")
    out = tmp_path / "whole.bcf"
    with out.open("wb") as handle:
        htsget.get(f"{server}/htsget/variants/{released.datasets['BCF']}/{released.files['BCF'].id}", handle,
                   data_format="BCF", bearer_token=token, max_retries=0)
    assert out.read_bytes() == Path(released.files["BCF"].uri).read_bytes()
