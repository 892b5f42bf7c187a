"""The synthetic cohort generator: deterministic, valid by bcftools and pysam, REF from the reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from ingest.samples import read_sample_sheet, reconcile
from ingest.synthetic import (
    reference_sequence,
    simulate_cohort,
    write_reference_fasta,
    write_sample_sheet,
)
from tests.ingest._tools import bcftools

ROOT = Path(__file__).resolve().parents[2]


def _body(path: Path) -> list[str]:
    return [line for line in bcftools("view", "-H", path).splitlines()]


def test_same_seed_same_cohort(tmp_path: Path) -> None:
    first = simulate_cohort(tmp_path / "a.vcf.gz", samples=20, variants_per_contig=200, seed=11)
    second = simulate_cohort(tmp_path / "b.vcf.gz", samples=20, variants_per_contig=200, seed=11)
    third = simulate_cohort(tmp_path / "c.vcf.gz", samples=20, variants_per_contig=200, seed=12)
    assert _body(first.path) == _body(second.path) != _body(third.path)
    assert (first.samples, first.sexes, first.populations) == (second.samples, second.sexes, second.populations)


@pytest.mark.parametrize(("fmt", "index"), [("vcf.gz", ".tbi"), ("bcf", ".csi"), ("vcf", None)])
def test_formats_are_valid_sorted_and_indexed(tmp_path: Path, fmt: str, index: str | None) -> None:
    cohort = simulate_cohort(
        tmp_path / f"c.{fmt}", samples=15, variants_per_contig=300, contigs=("1", "22"), include_x=True,
        chr_prefix=False, seed=1, fmt=fmt,
    )
    assert cohort.index_path == (None if index is None else Path(f"{cohort.path}{index}"))
    assert cohort.contigs == ["1", "22", "X"]
    with pysam.VariantFile(str(cohort.path)) as vcf:
        assert list(vcf.header.samples) == cohort.samples
        assert vcf.header.contigs["1"].length == 248956422
        assert vcf.header.contigs["X"].length == 156040895
        records = list(vcf)
    assert len(records) == cohort.records == 900
    keys = [(cohort.contigs.index(r.chrom), r.pos) for r in records]
    assert keys == sorted(keys)
    for record in records:
        assert set(record.ref) <= set("ACGT")
        assert record.info["AN"] == sum(a is not None for s in record.samples.values() for a in s["GT"])
        if record.chrom == "X":
            ploidies = {cohort.sexes[i]: len(s["GT"]) for i, s in enumerate(record.samples.values())}
            assert ploidies == {"male": 1, "female": 2}
    if index is not None:
        assert bcftools("view", "-H", "-r", "22", cohort.path).count("\n") == 300


def test_info_ac_an_agree_with_fill_tags(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "c.vcf.gz", samples=25, variants_per_contig=400, seed=2,
                             multiallelic_rate=0.2, include_x=True)
    ours = bcftools("query", "-f", "%CHROM:%POS %INFO/AC %INFO/AN\n", cohort.path)
    theirs = bcftools("+fill-tags", cohort.path, "--", "-t", "AC,AN")
    tagged = tmp_path / "tagged.vcf"
    tagged.write_text(theirs)
    assert bcftools("query", "-f", "%CHROM:%POS %INFO/AC %INFO/AN\n", tagged) == ours


def test_variety_of_records(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "c.vcf.gz", samples=30, variants_per_contig=2000, seed=3,
                             sv_rate=0.02, missing_rate=0.05)
    body = _body(cohort.path)
    alts = [line.split("\t")[4] for line in body]
    filters = {line.split("\t")[6] for line in body}
    assert any("," in alt for alt in alts)
    assert any(alt.startswith("<") for alt in alts)
    assert any(len(alt) > 1 and not alt.startswith("<") and "," not in alt for alt in alts)
    assert filters == {"PASS", ".", "LowQual"}
    assert any("./." in line for line in body) and any("0/." in line for line in body)


def test_ref_matches_written_reference(tmp_path: Path) -> None:
    fasta = write_reference_fasta(tmp_path / "ref.fa", ["chr1", "chr2"], 20_000, seed=5)
    assert Path(f"{fasta}.fai").exists()
    cohort = simulate_cohort(tmp_path / "c.vcf.gz", samples=10, variants_per_contig=400, contigs=("1", "2"),
                             seed=5, reference=fasta, indel_rate=0.2)
    # bcftools norm -c e stops at the first REF that disagrees with the reference.
    bcftools("norm", "-c", "e", "-f", fasta, "-Ou", "-o", tmp_path / "checked.bcf", cohort.path)
    assert pysam.FastaFile(str(fasta)).fetch("chr1") == reference_sequence(20_000, 5, "1").decode()


def test_sites_only(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "s.vcf.gz", samples=10, variants_per_contig=50, seed=1, sites_only=True)
    with pysam.VariantFile(str(cohort.path)) as vcf:
        assert list(vcf.header.samples) == []
        assert all("AC" in r.info and "AN" in r.info for r in vcf)


def test_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"fmt must be 'vcf', 'vcf.gz' or 'bcf', not 'cram'"):
        simulate_cohort(tmp_path / "x", samples=1, variants_per_contig=1, fmt="cram")


def test_sample_sheet_round_trip(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "c.vcf.gz", samples=40, variants_per_contig=10, seed=1)
    sheet = read_sample_sheet(write_sample_sheet(tmp_path / "samples.tsv", cohort))
    matched, missing, extra = reconcile(cohort.samples, sheet)
    assert (len(matched), missing, extra) == (40, [], [])
    assert [m.sex for m in matched] == cohort.sexes
    assert [m.population for m in matched] == cohort.populations


def test_example_data_script_is_idempotent(tmp_path: Path) -> None:
    script = ROOT / "examples" / "make_example_data.py"
    run = [sys.executable, str(script), str(tmp_path / "data")]
    first = subprocess.run(run, capture_output=True, text=True, check=True, cwd=ROOT)
    files = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert "public_cohort.vcf.gz" in files and "controlled_cohort.bcf" in files
    stamp = (tmp_path / "data" / "public_cohort.vcf.gz").stat().st_mtime_ns
    second = subprocess.run(run, capture_output=True, text=True, check=True, cwd=ROOT)
    assert "skip" in second.stdout and "wrote" in first.stdout
    assert (tmp_path / "data" / "public_cohort.vcf.gz").stat().st_mtime_ns == stamp
