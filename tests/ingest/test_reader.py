"""The VCF/BCF reader, checked row by row against bcftools, and its errors on bad input."""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pysam
import pytest

from ingest.errors import (
    BadAllele,
    GenotypeError,
    IngestInputError,
    MalformedFile,
    ReferenceMismatch,
    UnsortedRecords,
    WrongAssembly,
)
from ingest.reader import VariantRow, file_checksums, read_variants, scan_header
from ingest.synthetic import simulate_cohort, write_reference_fasta
from tests.ingest._tools import bcftools, minimal

Counts = tuple[int, int, int, int, int]


def _canonical(chrom: str) -> str:
    chrom = chrom.removeprefix("chr")
    return "MT" if chrom == "M" else chrom


def _gt_counts(gts: list[str]) -> tuple[int, int, int]:
    """(het, hom_alt, hemi_alt) of allele "1" in bcftools' split genotypes."""
    het = hom = hemi = 0
    for gt in gts:
        alleles = re.split(r"[/|]", gt)
        called = [a for a in alleles if a != "."]
        carried = called.count("1")
        if not carried:
            continue
        if carried < len(called):
            het += 1
        elif len(alleles) == 1:
            hemi += 1
        else:
            hom += 1
    return het, hom, hemi


def oracle(path: Path, *, reference: Path | None = None, pass_only: bool = True, sites_only: bool = False):
    """(chrom, pos, ref, alt) -> (ac, an, het, hom, hemi) by bcftools view | norm -m -any | fill-tags."""
    view = ["view", "-Ou", str(path)] + (["-f", "PASS,."] if pass_only else [])
    filtered = path.parent / f"{path.name}.oracle.bcf"
    bcftools(*view, "-o", filtered)
    norm = ["norm", "-m", "-any", "-Ou", "-o", f"{filtered}.split.bcf", filtered]
    if reference is not None:
        norm += ["-f", str(reference)]
    bcftools(*norm)
    source = f"{filtered}.split.bcf"
    if not sites_only:
        bcftools("+fill-tags", source, "-Ou", "-o", f"{source}.tags.bcf", "--", "-t", "AC,AN")
        source = f"{source}.tags.bcf"
    fmt = "%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN" + ("" if sites_only else "[\t%GT]") + "\n"
    expected: dict[tuple[str, int, str, str], Counts] = defaultdict(lambda: (0, 0, 0, 0, 0))
    for line in bcftools("query", "-f", fmt, source).splitlines():
        chrom, pos, ref, alt, ac, an, *gts = line.split("\t")
        if alt in ("*", ".") or "[" in alt or "]" in alt:
            continue
        key = (_canonical(chrom), *minimal(int(pos), ref, alt))
        het, hom, hemi = (0, 0, 0) if sites_only else _gt_counts(gts)
        old = expected[key]
        expected[key] = (old[0] + int(ac), old[1] + int(an), old[2] + het, old[3] + hom, old[4] + hemi)
    return dict(expected)


def _rows(path: Path, **kwargs) -> tuple[list[VariantRow], object]:
    reader = read_variants(path, assembly=kwargs.pop("assembly", "GRCh38"), **kwargs)
    rows = [row for batch in reader for row in batch]
    return rows, reader.summary


def _observed(rows: list[VariantRow]) -> dict[tuple[str, int, str, str], Counts]:
    return {(r.chrom, r.pos, r.ref, r.alt): (r.ac, r.an, r.het, r.hom_alt, r.hemi_alt) for r in rows}


def _assert_sorted_unique(rows: list[VariantRow]) -> None:
    by_chrom: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for row in rows:
        by_chrom[row.chrom].append((row.pos, row.ref, row.alt))
    for keys in by_chrom.values():
        assert keys == sorted(set(keys))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    return write_reference_fasta(out / "ref.fa", ["chr1", "chr2", "chrX"], 60_000, seed=3)


@pytest.mark.parametrize(
    ("fmt", "chr_prefix", "phased", "seed"),
    [
        ("vcf.gz", True, False, 1),
        ("bcf", False, False, 2),
        ("vcf", True, True, 3),
    ],
)
def test_rows_match_bcftools(tmp_path: Path, fmt: str, chr_prefix: bool, phased: bool, seed: int) -> None:
    cohort = simulate_cohort(
        tmp_path / f"cohort.{fmt}",
        samples=40,
        variants_per_contig=800,
        contigs=("1", "2"),
        include_x=True,
        chr_prefix=chr_prefix,
        phased=phased,
        seed=seed,
        multiallelic_rate=0.1,
        indel_rate=0.15,
        sv_rate=0.02,
        missing_rate=0.05,
        fmt=fmt,
    )
    rows, summary = _rows(cohort.path)
    assert _observed(rows) == oracle(cohort.path)
    _assert_sorted_unique(rows)
    assert summary.records_read == cohort.records
    assert summary.records_skipped_filter > 0
    assert summary.records_read == summary.records_kept + summary.records_skipped_filter
    assert {r.variant_type for r in rows} >= {"SNV", "INS", "DEL"}
    assert any(r.hemi_alt for r in rows if r.chrom == "X")
    assert not any(r.hemi_alt for r in rows if r.chrom != "X")


def test_left_aligned_rows_match_bcftools_norm_with_reference(tmp_path: Path, reference: Path) -> None:
    cohort = simulate_cohort(
        tmp_path / "cohort.vcf.gz",
        samples=30,
        variants_per_contig=1500,
        contigs=("1", "2"),
        include_x=True,
        seed=4,
        indel_rate=0.3,
        multiallelic_rate=0.05,
        reference=reference,
    )
    rows, summary = _rows(cohort.path, reference=reference)
    expected = oracle(cohort.path, reference=reference)
    assert _observed(rows) == expected
    _assert_sorted_unique(rows)
    unaligned = _observed(_rows(cohort.path)[0])
    assert set(unaligned) != set(expected), "the cohort should hold indels that left-alignment moves"


def test_keeps_filtered_records_when_asked(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "c.vcf.gz", samples=20, variants_per_contig=500, seed=5, filtered_rate=0.2)
    rows, summary = _rows(cohort.path, pass_only=False)
    assert _observed(rows) == oracle(cohort.path, pass_only=False)
    assert summary.records_skipped_filter == 0


def test_sites_only_file_takes_info_ac_an(tmp_path: Path) -> None:
    cohort = simulate_cohort(
        tmp_path / "sites.vcf.gz",
        samples=30,
        variants_per_contig=800,
        seed=6,
        sites_only=True,
        multiallelic_rate=0.1,
        indel_rate=0.1,
    )
    rows, summary = _rows(cohort.path)
    assert summary.samples == []
    assert _observed(rows) == oracle(cohort.path, sites_only=True)
    assert all(r.groups == {} for r in rows)


def test_group_counts_sum_to_population_totals(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "g.vcf.gz", samples=60, variants_per_contig=300, seed=7, include_x=True)
    groups = {
        sample: [f"population:{pop}", f"sex:{sex}"]
        for sample, pop, sex in zip(cohort.samples, cohort.populations, cohort.sexes, strict=True)
    }
    rows, _ = _rows(cohort.path, sample_groups=groups)
    populations = {f"population:{p}" for p in cohort.populations}
    for row in rows:
        assert set(row.groups) == populations | {"sex:male", "sex:female"}
        for axis in (populations, {"sex:male", "sex:female"}):
            totals = [sum(row.groups[key][i] for key in axis) for i in range(4)]
            assert totals == [row.ac, row.an, row.het, row.hom_alt]


def test_region_reads_one_contig_through_the_index(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "r.vcf.gz", samples=10, variants_per_contig=300, contigs=("1", "2"), seed=8)
    whole, _ = _rows(cohort.path)
    part, summary = _rows(cohort.path, region="2")
    assert part == [row for row in whole if row.chrom == "2"]
    assert summary.contigs_seen == ["2"]
    window, _ = _rows(cohort.path, region="chr1:1-5000")
    assert window and all(row.chrom == "1" and row.pos <= 5000 + 20 for row in window)


@pytest.mark.parametrize(
    ("fmt", "region", "error", "message"),
    [
        ("vcf", "1", MalformedFile, r"c\.vcf: has no index \(\.tbi or \.csi\) to read region '1' from"),
        ("vcf.gz", "chrUn:1-5", WrongAssembly, r"c\.vcf\.gz: region 'chrUn:1-5' is not on a chromosome of GRCh38"),
        ("vcf.gz", "1:x-5", IngestInputError, r"c\.vcf\.gz: region '1:x-5' is not CHROM or CHROM:START-END"),
    ],
)
def test_bad_regions(tmp_path: Path, fmt: str, region: str, error: type[Exception], message: str) -> None:
    cohort = simulate_cohort(tmp_path / f"c.{fmt}", samples=3, variants_per_contig=20, seed=1, fmt=fmt)
    with pytest.raises(error, match=message):
        _rows(cohort.path, region=region)


def test_region_on_a_contig_without_records_is_empty(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "c.bcf", samples=3, variants_per_contig=20, seed=1, fmt="bcf")
    rows, summary = _rows(cohort.path, region="chr5")
    assert (rows, summary.records_read) == ([], 0)


def test_batches_are_bounded_and_rows_sorted(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "b.vcf.gz", samples=5, variants_per_contig=3000, seed=9, indel_rate=0.3)
    batches = list(read_variants(cohort.path, assembly="GRCh38", batch_size=250))
    assert len(batches) > 5
    assert all(len(batch) <= 2 * 250 + 10 for batch in batches)
    _assert_sorted_unique([row for batch in batches for row in batch])


HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1,length=248956422>\n"
    '##INFO=<ID=AC,Number=A,Type=Integer,Description="AC">\n'
    '##INFO=<ID=AN,Number=1,Type=Integer,Description="AN">\n'
    '##INFO=<ID=END,Number=1,Type=Integer,Description="END">\n'
    '##INFO=<ID=SVLEN,Number=A,Type=Integer,Description="SVLEN">\n'
    '##FILTER=<ID=LowQual,Description="low">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n"
)


def _write(tmp_path: Path, body: str, name: str = "hand.vcf", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path


def test_hand_written_edge_cases(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "chr1\t100\t.\tA\tC,G\t.\tPASS\t.\tGT\t0/1\t1/2\t./.\n"
        "chr1\t200\t.\tA\tC\t.\t.\t.\tGT\t1/.\t0/.\t1|1\n"
        "chr1\t300\t.\tA\t*,T\t.\tPASS\t.\tGT\t0/1\t2/2\t0/0\n"
        "chr1\t400\t.\tA\tA[chr1:500[\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n"
        "chr1\t500\t.\tC\t<DEL>\t.\tPASS\tEND=900;SVLEN=-400\tGT\t0/1\t0/0\t0/0\n"
        "chr1\t600\t.\tCAG\tCG,CAGAG\t.\tLowQual\t.\tGT\t0/1\t0/0\t0/0\n"
        "chr1\t700\t.\tC\tT\t.\tPASS\t.\tGT\t1/1/1\t0/1/.\t1\n",
    )
    rows, summary = _rows(path)
    observed = {(r.pos, r.ref, r.alt): (r.ac, r.an, r.het, r.hom_alt, r.hemi_alt) for r in rows}
    assert observed == {
        (100, "A", "C"): (2, 4, 2, 0, 0),
        (100, "A", "G"): (1, 4, 1, 0, 0),
        (200, "A", "C"): (3, 4, 0, 2, 0),
        (300, "A", "T"): (2, 6, 0, 1, 0),
        (500, "C", "<DEL>"): (1, 6, 1, 0, 0),
        (700, "C", "T"): (5, 6, 1, 1, 1),
    }
    sv = next(r for r in rows if r.alt == "<DEL>")
    assert (sv.variant_type, sv.length, sv.end) == ("DEL", 400, 900)
    assert summary.records_skipped_other == 1
    assert summary.alleles_skipped == 2
    assert summary.records_skipped_filter == 1


def test_records_collapsing_to_one_key_are_merged(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "chr1\t100\t.\tAC\tA\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n"
        "chr1\t100\t.\tACT\tAT\t.\tPASS\t.\tGT\t0/0\t1/1\t0/0\n",
    )
    rows, summary = _rows(path)
    assert [(r.pos, r.ref, r.alt, r.ac, r.an, r.het, r.hom_alt) for r in rows] == [(100, "AC", "A", 3, 12, 1, 1)]
    assert summary.rows_merged == 1


def test_checksums_match_hashlib_reference_values(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc" * 1000)
    size, md5, sha256 = file_checksums(path, chunk_size=7)
    assert size == 3000
    import hashlib

    assert md5 == hashlib.md5(b"abc" * 1000).hexdigest()
    assert sha256 == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_scan_header(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "h.bcf", samples=3, variants_per_contig=10, seed=1, fmt="bcf", include_x=True)
    info = scan_header(cohort.path)
    assert (info.format, info.samples, info.has_genotypes) == ("BCF", cohort.samples, True)
    assert info.contigs == {"chr1": 248956422, "chrX": 156040895}
    sites = simulate_cohort(tmp_path / "s.vcf.gz", samples=3, variants_per_contig=10, seed=1, sites_only=True)
    assert (scan_header(sites.path).format, scan_header(sites.path).has_genotypes) == ("VCF", False)


# Bad input: each error names the file and, where there is one, the record.


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ("chr1\t100\t.\tAXG\tA\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n", BadAllele,
         r"bad\.vcf: record 1 \(chr1:100\): REF 'AXG' has bases other than A,C,G,T,N"),
        ("chr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\nchr1\t100\t.\tA\tQ\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n",
         BadAllele, r"bad\.vcf: record 2 \(chr1:100\): ALT 'Q'"),
        ("chr1\t200\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\nchr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n",
         UnsortedRecords, r"bad\.vcf: record 2 \(chr1:100\): position goes backwards"),
        ("chr1\t200\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\nchr2\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n"
         "chr1\t300\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n",
         UnsortedRecords, r"record 3 \(chr1:300\): contig chr1 appears again"),
        ("chrUn_gl000220\t200\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n", WrongAssembly,
         r"record 1 \(chrUn_gl000220:200\): contig chrUn_gl000220 is not a chromosome of GRCh38"),
        ("chr1\t200\t.\tA\tC\t.\tPASS\t.\tGT\t0/3\t0/0\t0/0\n", GenotypeError,
         r"record 1 \(chr1:200\): a genotype refers to allele 3"),
    ],
)
def test_bad_records_name_file_and_record(tmp_path: Path, body: str, error: type[Exception], message: str) -> None:
    header = HEADER.replace("##contig=<ID=chr1,length=248956422>\n", "##contig=<ID=chr1,length=248956422>\n"
                            "##contig=<ID=chr2,length=242193529>\n")
    path = _write(tmp_path, body, "bad.vcf", header)
    with pytest.raises(error, match=message):
        _rows(path)


def test_a_region_numbers_its_records_after_the_records_before_it(tmp_path: Path) -> None:
    header = HEADER.replace("##contig=<ID=chr1,length=248956422>\n", "##contig=<ID=chr1,length=248956422>\n"
                            "##contig=<ID=chr2,length=242193529>\n")
    path = _write(tmp_path, "chr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n"
                            "chr1\t200\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n"
                            "chr2\t100\t.\tA\tQ\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n", "bad.vcf", header)
    indexed = pysam.tabix_index(str(path), preset="vcf", force=True)
    message = r"bad\.vcf\.gz: record 3 \(chr2:100\): ALT 'Q'"
    with pytest.raises(BadAllele, match=message):
        _rows(Path(indexed))
    with pytest.raises(BadAllele, match=message):
        _rows(Path(indexed), region="chr2", records_before=2)


def test_sites_only_without_ac_an_is_present_with_counts_unknown(tmp_path: Path) -> None:
    header = HEADER.replace("\tFORMAT\ta\tb\tc", "")
    path = _write(tmp_path, "chr1\t100\t.\tA\tC,G\t.\tPASS\tAN=10\nchr1\t200\t.\tA\tT\t.\tPASS\tAC=3;AN=10\n",
                  "sites.vcf", header)
    rows, _ = _rows(path)
    assert [(r.pos, r.alt, r.ac, r.an, r.het + r.hom_alt + r.hemi_alt) for r in rows] == [
        (100, "C", 1, 0, 0), (100, "G", 1, 0, 0), (200, "T", 3, 10, 0)]


def test_grch37_file_declared_as_grch38_is_wrong_assembly(tmp_path: Path) -> None:
    header = HEADER.replace("248956422", "249250621")
    path = _write(tmp_path, "chr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n", "old.vcf", header)
    with pytest.raises(WrongAssembly, match=r"old\.vcf: contig chr1 has length 249250621 .* is the file GRCh37\?"):
        _rows(path)
    rows, _ = _rows(path, assembly="GRCh37")
    assert len(rows) == 1


def test_truncated_gzip_is_malformed(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "t.vcf.gz", samples=50, variants_per_contig=2000, seed=1)
    data = cohort.path.read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MalformedFile, match=r"cut\.vcf\.gz: is truncated"):
        _rows(cut)
    with pytest.raises(MalformedFile, match=r"cut\.vcf\.gz: is truncated"):
        scan_header(cut)


def test_corrupt_block_is_malformed(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "t.vcf.gz", samples=50, variants_per_contig=2000, seed=1)
    data = bytearray(cohort.path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200] = bytes(200)
    bad = tmp_path / "corrupt.vcf.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(MalformedFile, match=r"corrupt\.vcf\.gz: cannot be parsed after record \d+"):
        _rows(bad)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"empty\.vcf: is empty"),
        ("chr1\t100\t.\tA\tC\t.\tPASS\t.\n", r"empty\.vcf: is not a VCF or BCF file"),
        ("##fileformat=VCFv4.2\n##contig=<ID=chr1>\n", r"empty\.vcf: has a malformed header"),
    ],
)
def test_malformed_headers(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "empty.vcf"
    path.write_text(content)
    with pytest.raises(MalformedFile, match=message):
        _rows(path)


def test_missing_file_is_malformed(tmp_path: Path) -> None:
    with pytest.raises(MalformedFile, match=r"nope\.vcf\.gz: cannot be read"):
        _rows(tmp_path / "nope.vcf.gz")


def test_not_gzip_data_with_gzip_magic(tmp_path: Path) -> None:
    path = tmp_path / "fake.vcf.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(MalformedFile, match=r"fake\.vcf\.gz: is gzip-compressed but not valid gzip data"):
        _rows(path)


def test_plain_gzip_is_read_like_bgzf(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "c.vcf", samples=3, variants_per_contig=20, seed=1, fmt="vcf")
    path = tmp_path / "plain.vcf.gz"
    path.write_bytes(gzip.compress(cohort.path.read_bytes()))
    assert scan_header(path).samples == scan_header(cohort.path).samples
    assert _rows(path)[0] == _rows(cohort.path)[0]


def test_reference_mismatch_names_the_record(tmp_path: Path, reference: Path) -> None:
    base = pysam.FastaFile(str(reference)).fetch("chr1", 99, 100)
    wrong = next(b for b in "ACGT" if b != base)
    alt = next(b for b in "ACGT" if b not in (base, wrong))
    path = _write(tmp_path, f"chr1\t100\t.\t{wrong}\t{alt}\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n", "mismatch.vcf")
    with pytest.raises(ReferenceMismatch, match=rf"mismatch\.vcf: record 1 \(chr1:100\): REF {wrong} differs"):
        _rows(path, reference=reference)
    other = _write(tmp_path, "chr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n", "nocontig.vcf")
    lonely = write_reference_fasta(tmp_path / "lonely.fa", ["chr5"], 1000, seed=1)
    message = r"nocontig\.vcf: record 1 \(chr1:100\): the reference .* has no contig 1"
    with pytest.raises(ReferenceMismatch, match=message):
        _rows(other, reference=lonely)


def test_gzip_helper_reads_what_generator_wrote(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "z.vcf.gz", samples=4, variants_per_contig=20, seed=2)
    with gzip.open(cohort.path, "rt") as handle:
        assert handle.readline().startswith("##fileformat=VCFv4.2")


@pytest.mark.parametrize("density", [0.002, 0.05, 0.6])
@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("n_alt", [2, 60])  # 60 ALTs of a triploid: too many genotypes to number densely
def test_counting_agrees_with_a_per_sample_loop(density: float, width: int, n_alt: int) -> None:
    from ingest.reader import _Counter

    rng = np.random.default_rng(int(density * 1000) + width + n_alt)
    n = 400
    alleles = np.where(rng.random((n, width)) < density, rng.integers(1, n_alt + 1, size=(n, width)), 0)
    alleles[rng.random((n, width)) < 0.05] = -1
    ploidy = rng.integers(1, width + 1, size=n)
    for j in range(width):
        alleles[ploidy <= j, j] = -2
    groups = {f"s{i}": [f"g:{i % 3}"] for i in range(n)}
    counted = _Counter([f"s{i}" for i in range(n)], groups).count(alleles.astype(np.int16), n_alt)
    assert len(counted) == n_alt
    for k, (ac, an, het, hom, hemi, group_counts) in enumerate(counted, start=1):
        expected = [0, 0, 0, 0, 0]
        per_group = np.zeros((3, 4))
        for i, row in enumerate(alleles.tolist()):
            cells = [a for a in row if a != -2]
            called = [a for a in cells if a >= 0]
            carried = called.count(k)
            kind = 2 if carried and carried < len(called) else 3 if carried and len(cells) > 1 else 4 if carried else -1
            expected[0] += carried
            expected[1] += len(called)
            if kind > 0:
                expected[kind] += 1
            per_group[i % 3] += [carried, len(called), kind == 2, kind == 3]
        assert [ac, an, het, hom, hemi] == expected
        assert group_counts is not None
        assert group_counts.T.tolist() == per_group.tolist()
