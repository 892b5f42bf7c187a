"""Reference assemblies: contig spellings, lengths, accessions and the header length check."""

from __future__ import annotations

import pytest

from catalogue.assemblies import (
    ASSEMBLIES,
    CHROMOSOMES,
    accession,
    canonical_contig,
    check_contig_lengths,
    contig_length,
    contig_rank,
    is_hg19_mitochondrion,
)


@pytest.mark.parametrize(
    ("name", "assembly", "expected"),
    [
        ("1", "GRCh38", "1"),
        ("chr1", "GRCh38", "1"),
        ("CHR1", "GRCh37", "1"),
        ("chrX", "GRCh38", "X"),
        ("y", "GRCh38", "Y"),
        ("NC_000001.11", "GRCh38", "1"),
        ("NC_000001.10", "GRCh38", None),
        ("NC_000001.10", "GRCh37", "1"),
        ("NC_000001", "GRCh37", "1"),
        ("NC_000023.11", "GRCh38", "X"),
        ("NC_012920.1", "GRCh37", "MT"),
        ("NC_012920.1", "GRCh38", "MT"),
        ("MT", "GRCh38", "MT"),
        ("chrM", "GRCh38", "MT"),
        ("M", "GRCh37", "MT"),
        ("chrMT", "GRCh38", "MT"),
        ("23", "GRCh38", None),
        ("chr23", "GRCh38", None),
        ("chrUn_gl000220", "GRCh38", None),
        ("chr1_KI270706v1_random", "GRCh38", None),
        ("hs37d5", "GRCh37", None),
    ],
)
def test_canonical_contig(name: str, assembly: str, expected: str | None) -> None:
    assert canonical_contig(name, assembly) == expected


@pytest.mark.parametrize(
    ("chrom", "assembly", "length"),
    [
        ("1", "GRCh37", 249250621),
        ("chr1", "GRCh38", 248956422),
        ("X", "GRCh37", 155270560),
        ("X", "GRCh38", 156040895),
        ("Y", "GRCh38", 57227415),
        ("22", "GRCh38", 50818468),
        ("MT", "GRCh37", 16569),
        ("chrM", "GRCh38", 16569),
    ],
)
def test_contig_length(chrom: str, assembly: str, length: int) -> None:
    assert contig_length(chrom, assembly) == length


def test_every_chromosome_has_distinct_accessions_per_assembly() -> None:
    for assembly in ASSEMBLIES:
        accessions = [accession(chrom, assembly) for chrom in CHROMOSOMES]
        assert len(set(accessions)) == 25
        assert accession("1", assembly) == {"GRCh37": "NC_000001.10", "GRCh38": "NC_000001.11"}[assembly]
    assert accession("MT", "GRCh37") == accession("MT", "GRCh38") == "NC_012920.1"


def test_unknown_assembly_and_contig_are_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown assembly 'hg19'; use one of GRCh37, GRCh38"):
        canonical_contig("1", "hg19")
    with pytest.raises(ValueError, match=r"contig 'chrUn' is not a chromosome of GRCh38"):
        contig_length("chrUn", "GRCh38")


def test_sort_order() -> None:
    names = ["MT", "X", "10", "2", "1", "Y", "22"]
    assert sorted(names, key=contig_rank) == ["1", "2", "10", "22", "X", "Y", "MT"]
    assert contig_rank("chrUn") > contig_rank("MT")


def test_check_contig_lengths() -> None:
    header = {
        "chr1": 249250621,
        "chr2": 242193529,
        "chrX": 1,
        "chrY": None,
        "chrUn_gl000220": 161802,
        "hs37d5": 35477943,
    }
    assert check_contig_lengths(header, "GRCh38") == [
        "contig chr1 has length 249250621 in the file but 248956422 in GRCh38; is the file GRCh37?",
        "contig chrX has length 1 in the file but 156040895 in GRCh38",
    ]
    assert check_contig_lengths({"1": 249250621, "MT": 16569}, "GRCh37") == []


def test_hg19s_mitochondrion_is_told_apart_from_grch37s_mt() -> None:
    hg19 = {"chr1": 249250621, "chrX": 155270560, "chrM": 16571}
    assert check_contig_lengths(hg19, "GRCh37") == []
    assert is_hg19_mitochondrion("chrM", 16571, "GRCh37")
    assert is_hg19_mitochondrion("chrM", None, "GRCh37")
    assert not is_hg19_mitochondrion("chrM", 16569, "GRCh37")
    assert not is_hg19_mitochondrion("MT", None, "GRCh37")
    assert not is_hg19_mitochondrion("chrM", 16571, "GRCh38")
    # 16,571 bp is no mitochondrion of GRCh38, and hg18's chromosome lengths are still refused for GRCh37.
    assert check_contig_lengths({"chrM": 16571}, "GRCh38") == [
        "contig chrM has length 16571 in the file but 16569 in GRCh38"]
    assert check_contig_lengths({"chr1": 247249719}, "GRCh37") == [
        "contig chr1 has length 247249719 in the file but 249250621 in GRCh37"]
