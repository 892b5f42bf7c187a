"""Records read as text (the reader's fast path) give exactly the calls and counts htslib gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cyvcf2 import VCF

from ingest.reader import read_variants
from ingest.text_records import simple_calls, text_records
from tests.ingest._tools import bcftools, bcftools_counts

SAMPLES = [f"P{i:03d}" for i in range(40)]
_HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n##contig=<ID=chrX,length=156040895>\n"
    '##FILTER=<ID=PASS,Description="All filters passed">\n##FILTER=<ID=q10,Description="Low quality">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES) + "\n"
)


def _call(rng: np.random.Generator, shape: str, n_alleles: int) -> str:
    def allele() -> str:
        return str(int(rng.integers(0, n_alleles)))

    if rng.random() < 0.08:  # a missing call
        return {"haploid": ".", "triploid": "././."}.get(shape, "./.")
    if shape == "haploid":
        return allele()
    if shape == "triploid":
        return "/".join(allele() for _ in range(3))
    return allele() + ("|" if rng.random() < 0.5 else "/") + allele()


def _records(rng: np.random.Generator) -> list[str]:
    """Records of every shape the fast path reads and of those it hands to htslib, several at one position."""
    lines = []
    pos = 100
    kinds = ["diploid", "diploid", "mixed", "haploid", "with depth", "triploid", "twelve alleles", "missing"]
    for i in range(160):
        kind = kinds[i % len(kinds)]
        pos += int(rng.integers(0, 3)) * 7  # some records share their position
        n_alt = 11 if kind == "twelve alleles" else int(rng.integers(1, 4))
        ref, alts = "A", ["C", "G", "T", "AC", "AG", "AT", "CA", "CC", "CG", "CT", "GA"][:n_alt]
        shapes = {"mixed": ["haploid", "diploid"], "haploid": ["haploid"], "triploid": ["triploid", "diploid"]}
        calls = [_call(rng, str(rng.choice(shapes.get(kind, ["diploid"]))), n_alt + 1) for _ in SAMPLES]
        if kind == "missing":  # whole calls missing, and half-missing ones (htslib and bcftools disagree on
            # the kind of a carrier "1/." is: only counts and heterozygotes are compared with bcftools there)
            calls = [".", "./.", "1/.", "./1", "0/.", "1|."][: len(SAMPLES)] + calls[6:]
        fmt = "GT"
        if kind == "with depth":
            fmt, calls = "GT:DP", [f"{c}:{int(rng.integers(0, 60))}" if j % 3 else c for j, c in enumerate(calls)]
        chrom = "chrX" if i >= 120 else "chr1"
        if i == 120:
            pos = 100
        flt = "q10" if i % 13 == 5 else "PASS"
        lines.append("\t".join([chrom, str(pos), ".", ref, ",".join(alts), ".", flt, ".", fmt, *calls]))
    return lines


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text")
    plain = folder / "shapes.vcf"
    plain.write_text(_HEADER + "\n".join(_records(np.random.default_rng(7))) + "\n")
    path = folder / "shapes.vcf.gz"
    bcftools("view", "-O", "z", "-o", path, plain)
    bcftools("index", "--csi", path)
    return path


def test_simple_calls_read_only_the_shapes_they_know() -> None:
    def line(fmt: str, *calls: str) -> bytes:
        return "\t".join(["chr1", "5", ".", "A", "C", ".", "PASS", ".", fmt, *calls]).encode()

    assert simple_calls(line("GT", "0/1", "1|1", "./."), 3).tolist() == [[0, 1], [1, 1], [-1, -1]]
    assert simple_calls(line("GT", "0", "1/.", "."), 3).tolist() == [[0, -2], [1, -1], [-1, -2]]
    assert simple_calls(line("GT", "1", "."), 2).tolist() == [[1], [-1]]
    assert simple_calls(line("GT:DP", "0/1:3", "1:7", ".:."), 3).tolist() == [[0, 1], [1, -2], [-1, -2]]
    assert simple_calls(line("GT", "0/1", "1|1", "./."), 3, np.array([2, 0])).tolist() == [[-1, -1], [0, 1]]
    assert simple_calls(line("GT", "1", "0/1"), 2, np.array([0])).tolist() == [[1]]  # the widest kept call
    for unknown in (line("GT", "0/1/1", "0"), line("GT", "10/1", "0/0"), line("DP:GT", "3:0/1", "3:0/0"),
                    line("GT", "0/1", ""), line("GT", "0-1", "0/0"), line("GT", "0/1"), line("GT", "0/1\r", "0/0")):
        assert simple_calls(unknown, 2) is None, unknown


@pytest.mark.parametrize("left_out", [(), ("P003", "P017", "P030")])
def test_every_records_calls_equal_htslibs(cohort: Path, left_out: tuple[str, ...]) -> None:
    kept = [s for s in SAMPLES if s not in left_out]
    records = text_records(str(cohort), "VCF", SAMPLES, kept, None)
    assert records is not None
    htslib = VCF(str(cohort), samples=kept if left_out else None)
    try:
        seen = 0
        for (variant, line), expected in zip(records, htslib, strict=True):
            assert (variant.CHROM, variant.POS, variant.REF, variant.ALT, variant.FILTER) == (
                expected.CHROM, expected.POS, expected.REF, expected.ALT, expected.FILTER)
            calls = records.calls(line)
            assert calls is not None
            want = expected.genotype.array()[:, :-1]
            # htslib pads every call to the widest in the file's columns; a narrower set of kept calls counts alike
            width = calls.shape[1]
            assert (want[:, width:] == -2).all()
            assert calls.tolist() == want[:, :width].tolist(), f"{variant.CHROM}:{variant.POS}"
            seen += 1
        assert seen == 160
    finally:
        records.close()
        htslib.close()


@pytest.mark.parametrize("region", ["chr1:150-600", "chrX", "chr1:1-99"])
def test_a_region_reads_the_records_htslib_reads(cohort: Path, region: str) -> None:
    records = text_records(str(cohort), "VCF", SAMPLES, SAMPLES, region)
    assert records is not None
    try:
        got = [(v.CHROM, v.POS, v.ALT) for v, _ in records]
    finally:
        records.close()
    assert got == [(v.CHROM, v.POS, v.ALT) for v in VCF(str(cohort))(region)]


def _counts(path: Path, left_out: list[str]) -> dict[tuple[str, int, str, str], tuple[int, ...]]:
    return {(r.chrom.removeprefix("chr"), r.pos, r.ref, r.alt): (r.ac, r.an, r.het, r.hom_alt, r.hemi_alt)
            for batch in read_variants(path, assembly="GRCh38", exclude_samples=left_out) for r in batch}


def _assert_like_bcftools(got: dict[tuple[str, int, str, str], tuple[int, ...]], path: Path, folder: Path) -> None:
    """bcftools counts only the first two alleles of a triploid call and calls a carrier "1/." hemizygous: such
    records are compared with htslib's reading only, and the half-missing ones' counts and heterozygotes here."""
    expected = bcftools_counts(path, folder)
    lines = [line.split("\t", 9) for line in _records(np.random.default_rng(7))]
    triploid = {(c.removeprefix("chr"), int(p)) for c, p, *_, calls in lines
                if any(call.count("/") == 2 for call in calls.split("\t"))}
    half_missing = {(c.removeprefix("chr"), int(p)) for c, p, *_, calls in lines if "/." in calls.replace("././.", "")}
    assert triploid and half_missing
    assert got.keys() == expected.keys()
    for key, counts in got.items():
        n = 0 if key[:2] in triploid else 3 if key[:2] in half_missing else 5
        assert counts[:n] == expected[key][:n], key


@pytest.mark.parametrize("left_out", [[], ["P003", "P017", "P030"]])
def test_counts_read_as_text_equal_the_htslib_paths_and_bcftools(
    cohort: Path, tmp_path: Path, left_out: list[str]
) -> None:
    fast = _counts(cohort, left_out)
    bcf = tmp_path / "shapes.bcf"  # BCF has no text: htslib reads every call
    bcftools("view", "-O", "b", "-o", bcf, cohort)
    assert fast == _counts(bcf, left_out)
    without = tmp_path / "without.vcf.gz"  # what an opt-out's recount must equal: the file without the samples
    bcftools("view", *(["-s", "^" + ",".join(left_out)] if left_out else []), "-O", "z", "-o", without, cohort)
    _assert_like_bcftools(fast, without, tmp_path)


def test_files_the_text_path_cannot_read_go_to_htslib(cohort: Path, tmp_path: Path) -> None:
    bcf = tmp_path / "shapes.bcf"
    bcftools("view", "-O", "b", "-o", bcf, cohort)
    bcftools("index", bcf)
    unindexed = tmp_path / "unindexed.vcf.gz"
    unindexed.write_bytes(cohort.read_bytes())
    assert text_records(str(bcf), "BCF", SAMPLES, SAMPLES, None) is None
    assert text_records(str(unindexed), "VCF", SAMPLES, SAMPLES, None) is None
    assert text_records(str(cohort), "VCF", SAMPLES, [], None) is None  # nobody is counted
    records = text_records(str(cohort), "VCF", SAMPLES, SAMPLES, None)  # the indexed bgzipped VCF: read as text
    assert records is not None
    records.close()
