"""Allele normalisation: trimming, left-alignment (checked against bcftools norm) and classes."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from catalogue.alleles import (
    AlleleKind,
    InvalidAllele,
    VariantType,
    allele_kind,
    classify,
    left_align,
    normalise,
    skip_kind,
    trim,
)
from tests.ingest._tools import bcftools


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ((100, "A", "C"), (100, "A", "C")),
        ((100, "ACGT", "ACCT"), (102, "G", "C")),
        ((100, "AC", "GT"), (100, "AC", "GT")),
        ((100, "CTT", "CT"), (100, "CT", "C")),
        ((100, "ACGT", "ACT"), (101, "CG", "C")),
        ((100, "A", "AT"), (100, "A", "AT")),
        ((100, "GAT", "GATAT"), (100, "G", "GAT")),
        ((100, "CAT", "CGT"), (101, "A", "G")),
        ((100, "AAAC", "AAC"), (100, "AA", "A")),
        ((100, "TCAG", "TG"), (100, "TCA", "T")),
        ((100, "ATG", "GTC"), (100, "ATG", "GTC")),
        ((100, "AG", "TCG"), (100, "A", "TC")),
    ],
)
def test_trim(before: tuple[int, str, str], after: tuple[int, str, str]) -> None:
    assert trim(*before) == after


SEQUENCE = "GATTACAAAAAGTCGTCGTCGAATTCCAGCAGCAGT"


def _fetch(start: int, end: int) -> str:
    return SEQUENCE[start:end]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # deletion of one A at the end of the AAAAA run moves to the base before the run
        ((10, "AA", "A"), (6, "CA", "C")),
        # insertion of an A anywhere in the run
        ((9, "A", "AA"), (6, "C", "CA")),
        # deletion of one GTC unit in GTCGTCGTC
        ((16, "TCGT", "T"), (11, "AGTC", "A")),
        # not shiftable: the base before differs
        ((4, "TA", "T"), (4, "TA", "T")),
        ((5, "AC", "A"), (5, "AC", "A")),
        # substitutions are only trimmed
        ((10, "AAG", "ATG"), (11, "A", "T")),
        # non-minimal deletion spelled with suffix context
        ((10, "AAG", "AG"), (6, "CA", "C")),
        # the leftmost position is 1
        ((2, "AT", "A"), (2, "AT", "A")),
        ((3, "TT", "T"), (2, "AT", "A")),
    ],
)
def test_left_align(before: tuple[int, str, str], after: tuple[int, str, str]) -> None:
    assert left_align(*before, _fetch) == after
    assert normalise(*before, _fetch) == after


def test_normalise_without_reference_only_trims() -> None:
    assert normalise(10, "AAG", "AG") == (10, "AA", "A")


def test_left_align_fetches_more_for_long_repeats() -> None:
    sequence = "C" + "A" * 500 + "G"
    calls = []

    def fetch(start: int, end: int) -> str:
        calls.append((start, end))
        return sequence[start:end]

    assert left_align(500, "AA", "A", fetch) == (1, "CA", "C")
    assert len(calls) > 2


def test_left_align_matches_bcftools_norm(tmp_path: Path) -> None:
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\n" + SEQUENCE + "\n")
    pysam.faidx(str(fasta))
    cases = [(10, "AA", "A"), (9, "A", "AA"), (16, "TCGT", "T"), (10, "AAG", "AG"), (20, "CG", "CGTCG"),
             (31, "AGC", "A"), (27, "C", "CCAG"), (15, "GTCGTC", "GTC")]
    vcf = tmp_path / "in.vcf"
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=36>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"chr1\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t." for pos, ref, alt in cases]
    vcf.write_text("\n".join(lines) + "\n")
    out = bcftools("norm", "-f", fasta, "--no-version", vcf)
    expected = [tuple(line.split("\t")[1:5:1]) for line in out.splitlines() if not line.startswith("#")]
    expected_keys = sorted((int(pos), ref, alt) for pos, _id, ref, alt in expected)
    assert sorted(left_align(*case, _fetch) for case in cases) == expected_keys


@pytest.mark.parametrize(
    ("allele", "kind"),
    [
        ("A", AlleleKind.SEQUENCE),
        ("ACGTN", AlleleKind.SEQUENCE),
        ("<DEL>", AlleleKind.SYMBOLIC),
        ("<DUP:TANDEM>", AlleleKind.SYMBOLIC),
        ("<DEL:ME:ALU>", AlleleKind.SYMBOLIC),
        ("<CNV>", AlleleKind.SYMBOLIC),
        ("*", AlleleKind.SKIP),
        (".", AlleleKind.SKIP),
        ("<*>", AlleleKind.SKIP),
        ("<NON_REF>", AlleleKind.SKIP),
        ("G]17:198982]", AlleleKind.SKIP),
        ("]13:123456]T", AlleleKind.SKIP),
        ("C[2:321682[", AlleleKind.SKIP),
        (".A", AlleleKind.SKIP),
        ("G.", AlleleKind.SKIP),
        ("<CGA_CNVWIN>", AlleleKind.SKIP),
        ("<CGA_NOCALL>", AlleleKind.SKIP),
        ("<*:DEL>", AlleleKind.SKIP),
        ("<FOO>", AlleleKind.SKIP),
    ],
)
def test_allele_kind(allele: str, kind: AlleleKind) -> None:
    assert allele_kind(allele) is kind


@pytest.mark.parametrize(("allele", "kind"), [
    ("*", "spanning deletion"), (".", "missing"), ("<*>", "gVCF reference block"),
    ("<NON_REF>", "gVCF reference block"), ("<CGA_CNVWIN>", "<CGA_CNVWIN>"), ("<*:DEL>", "<*:DEL>"),
    ("C[2:321682[", "breakend"), (".A", "breakend"),
])
def test_skipped_alleles_are_counted_under_their_kind(allele: str, kind: str) -> None:
    assert allele_kind(allele) is AlleleKind.SKIP
    assert skip_kind(allele) == kind


@pytest.mark.parametrize(
    ("allele", "message"),
    [
        ("AXG", r"ALT 'AXG' has bases other than A,C,G,T,N"),
        ("", r"ALT '' has bases"),
        ("A-C", r"ALT 'A-C'"),
    ],
)
def test_allele_kind_rejects(allele: str, message: str) -> None:
    with pytest.raises(InvalidAllele, match=message):
        allele_kind(allele)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((100, "A", "C"), {}, (VariantType.SNV, 1, 100)),
        ((100, "AC", "GT"), {}, (VariantType.MNV, 2, 101)),
        ((100, "A", "ATT"), {}, (VariantType.INS, 2, 100)),
        ((100, "ATTT", "A"), {}, (VariantType.DEL, 3, 103)),
        ((100, "ATG", "CT"), {}, (VariantType.INDEL, 1, 102)),
        ((100, "A", "<DEL>"), {"end": 600, "svlen": -500}, (VariantType.DEL, 500, 600)),
        ((100, "A", "<DEL>"), {"end": 600}, (VariantType.DEL, 500, 600)),
        ((100, "A", "<DEL>"), {"svlen": -50}, (VariantType.DEL, 50, 150)),
        ((100, "A", "<DUP:TANDEM>"), {"end": 300}, (VariantType.DUP, 200, 300)),
        ((100, "A", "<DEL:ME:ALU>"), {"svlen": -300}, (VariantType.DEL, 300, 400)),
        ((100, "A", "<INV>"), {"end": 250}, (VariantType.INV, 150, 250)),
        ((100, "A", "<CNV>"), {"end": 5000}, (VariantType.CNV, 4900, 5000)),
        ((100, "A", "<INS>"), {"svlen": 320}, (VariantType.INS, 320, 100)),
        ((100, "A", "<INS>"), {}, (VariantType.INS, 0, 100)),
    ],
)
def test_classify(args: tuple[int, str, str], kwargs: dict[str, int], expected: tuple[str, int, int]) -> None:
    assert classify(*args, **kwargs) == expected


def test_classify_rejects_unknown_symbolic() -> None:
    with pytest.raises(InvalidAllele, match=r"symbolic allele '<BND>' is not one of"):
        classify(100, "A", "<BND>")
