"""VCF <-> BCF conversion: byte for byte what `bcftools view -O u|v -r` writes, and a refusal where it cannot be."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from access.release.convert import converted_header, converted_records
from access.release.errors import UnsupportedFormat
from access.release.slicing import VariantSource
from ingest.synthetic import SimulatedCohort
from tests.ingest._tools import require


def _source(cohort: SimulatedCohort, fmt: str) -> VariantSource:
    return VariantSource(cohort.path, fmt, cohort.index_path)


def _bcftools_bytes(*args: str | Path) -> bytes:
    return subprocess.run([require("bcftools"), "view", "--no-version", *map(str, args)], capture_output=True,
                          check=True).stdout


@pytest.mark.parametrize(("stored", "target", "flag"), [("VCF", "BCF", "-Ou"), ("BCF", "VCF", "-Ov")])
@pytest.mark.parametrize("region", [("chr1", 5000, 25000), ("chr2", 0, 2**31 - 1), ("chr1", 10**9, 10**9 + 5)])
def test_a_converted_region_is_what_bcftools_writes(cohorts: dict[str, SimulatedCohort], stored: str, target: str,
                                                    flag: str, region: tuple[str, int, int]) -> None:
    contig, start, end = region
    source = _source(cohorts[stored], stored)
    converted = converted_header(source, target) + b"".join(converted_records(source, target, contig, start, end))
    assert converted == _bcftools_bytes(flag, "-r", f"{contig}:{start + 1}-{end}", cohorts[stored].path)


def test_records_using_undeclared_fields_are_not_converted_to_bcf(tmp_path: Path) -> None:
    text = tmp_path / "undeclared.vcf"
    text.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tA\tC\t.\t.\tFOO=1\n")
    subprocess.run([require("bgzip"), "-f", str(text)], check=True)
    subprocess.run([require("tabix"), "-p", "vcf", f"{text}.gz"], check=True)
    source = VariantSource(Path(f"{text}.gz"), "VCF", Path(f"{text}.gz.tbi"))
    with pytest.raises(UnsupportedFormat, match="does not declare"):
        b"".join(converted_records(source, "BCF", "chr1", 0, 1000))
