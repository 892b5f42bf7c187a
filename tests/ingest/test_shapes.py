"""Files as labs have them, each made to its shape by real tools (gzip, bgzip, bcftools), ingested on SQLite and
PostgreSQL: the index holds what bcftools counts in the same file after the same skips, or the ingestion fails with
one line naming the record and leaves the catalogue as it was."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from catalogue.identity import Caller
from catalogue.models import Dataset, DatasetFile, Variant
from catalogue.runtime import Runtime
from ingest.errors import MalformedFile, WrongAssembly
from ingest.models import IngestionJob, JobState
from ingest.services import run_job, start_ingestion
from ingest.synthetic import simulate_cohort
from tests.factories import make_dataset, make_organisation
from tests.ingest._tools import bcftools, minimal, require

OPERATOR = Caller.cli_operator()
Key = tuple[str, int, str, str]

# What the reader skips, in bcftools' terms (one ALT per record once split): spanning deletions, gVCF reference
# blocks, breakends and symbolic alleles other than <DEL>, <DUP>, <INV>, <CNV>, <INS>.
SKIPPED = ('ALT="*" || ALT="." || ALT="<*>" || ALT="<NON_REF>" || ALT~"\\[" || ALT~"\\]" || (ALT~"^<" && '
           + " && ".join(f'ALT!~"^<{kind}[:>]"' for kind in ("DEL", "DUP", "INV", "CNV", "INS")) + ")")

GRCH37_CONTIGS = ("##contig=<ID=chr1,length=249250621>\n##contig=<ID=chr2,length=243199373>\n"
                  "##contig=<ID=chrX,length=155270560>\n")
GRCH38_CONTIGS = "##contig=<ID=chr1,length=248956422>\n##contig=<ID=chr2,length=242193529>\n"


def _header(contigs: str = GRCH38_CONTIGS, samples: tuple[str, ...] = ("a", "b", "c"), extra: str = "") -> str:
    columns = "\t".join(("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", *(
        ("FORMAT", *samples) if samples else ())))
    return ("##fileformat=VCFv4.2\n" + contigs + extra
            + '##INFO=<ID=END,Number=1,Type=Integer,Description="End">\n'
            + '##INFO=<ID=SVLEN,Number=A,Type=Integer,Description="Length">\n'
            + '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">\n'
            + '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">\n'
            + '##FILTER=<ID=LowQual,Description="Low quality">\n'
            + '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
            + '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
            + '##ALT=<ID=NON_REF,Description="Any other allele">\n' + columns + "\n")


def _bgzip(path: Path) -> Path:
    """The file compressed by bgzip itself, and indexed by bcftools (as a lab would hand it over)."""
    subprocess.run([require("bgzip"), "-f", str(path)], check=True)
    out = Path(f"{path}.gz")
    bcftools("index", "--csi", "--force", out)
    return out


def _vcf(tmp_path: Path, name: str, body: str, header: str | None = None, *, compress: bool = True) -> Path:
    path = tmp_path / name
    path.write_text((header if header is not None else _header()) + body)
    return _bgzip(path) if compress else path


@pytest.fixture
def dataset(session: Session) -> Dataset:
    return make_dataset(session, organisation_id=make_organisation(session).id, publish=True)


@pytest.fixture
def grch37(session: Session) -> Dataset:
    return make_dataset(session, organisation_id=make_organisation(session, suffix="hg19").id, publish=True,
                        assembly="GRCh37")


def _ingest(runtime: Runtime, dataset_id: str, *files: Path) -> IngestionJob:
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, OPERATOR, dataset_id, files=list(files))
    done: IngestionJob = run_job(runtime.engine, job.id, store_root=runtime.settings.store_root)
    assert done.state == JobState.succeeded
    return done


def _index(engine: Any, dataset_id: str) -> dict[Key, tuple[int, int]]:
    with Session(engine) as s:
        return {(v.chrom, v.pos, v.ref, v.alt): (v.ac, v.an)
                for v in s.exec(select(Variant).where(Variant.dataset_id == dataset_id))}


def _oracle(tmp_path: Path, path: Path, *, skip_contigs: str | None = None, counts: bool = True) -> dict[Key, Any]:
    """What bcftools holds in `path`: split, sorted, the reader's skips dropped, FILTER PASS, AC/AN recounted
    from the genotypes (or as INFO gives them); keys trimmed and chromosomes spelled as the index spells them."""
    scratch = tmp_path / f"oracle-{path.name}"
    scratch.mkdir()
    sorted_ = scratch / "sorted.vcf.gz"
    bcftools("sort", "-O", "z", "-o", sorted_, "-T", scratch / "t", path)
    split = scratch / "split.vcf.gz"
    bcftools("norm", "-m", "-any", "-O", "z", "-o", split, sorted_)
    kept = scratch / "kept.vcf.gz"
    args: list[str | Path] = ["view", "-e", SKIPPED, "-f", "PASS,.", "-O", "z", "-o", kept]
    if skip_contigs:
        args += ["-t", f"^{skip_contigs}"]
    bcftools(*args, split)
    if counts and "\tFORMAT\t" in bcftools("view", "-h", kept):
        filled = scratch / "filled.vcf.gz"
        bcftools("+fill-tags", kept, "-O", "z", "-o", filled, "--", "-t", "AC,AN")
        kept = filled
    fields = "%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN\n" if counts else "%CHROM\t%POS\t%REF\t%ALT\n"
    out: dict[Key, Any] = {}
    for line in bcftools("query", "-f", fields, kept).splitlines():
        chrom, pos, ref, alt, *rest = line.split("\t")
        key_pos, key_ref, key_alt = minimal(int(pos), ref, alt)
        chrom = chrom.removeprefix("chr")
        key = ("MT" if chrom == "M" else chrom, key_pos, key_ref, key_alt)
        value = (int(rest[0]), int(rest[1])) if counts else None
        if counts and int(rest[0]) == 0:
            continue  # not carried by anyone: the index keeps it, the Beacon never finds it
        out[key] = value
    return out


def _carried(index: dict[Key, tuple[int, int]]) -> dict[Key, tuple[int, int]]:
    return {k: v for k, v in index.items() if v[0] > 0}


def test_plain_gzip_is_stored_as_bgzf_and_ingested_as_bcftools_reads_it(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "cohort.vcf", samples=12, variants_per_contig=150, contigs=("1", "2"),
                             seed=5, fmt="vcf")
    subprocess.run([require("gzip"), "-k", str(cohort.path)], check=True)
    gz = Path(f"{cohort.path}.gz")
    assert gz.read_bytes()[:4] != b"\x1f\x8b\x08\x04"  # gzip, not BGZF
    job = _ingest(runtime, dataset.id, gz)
    assert _carried(_index(runtime.engine, dataset.id)) == _oracle(tmp_path, gz)
    with Session(runtime.engine) as s:
        [stored] = s.exec(select(DatasetFile)).all()
    assert Path(stored.uri).read_bytes()[:4] == b"\x1f\x8b\x08\x04"
    assert int(bcftools("index", "--nrecords", stored.uri).strip()) == cohort.records
    assert job.warnings == []


def test_an_unsorted_file_is_stored_sorted_with_a_warning(runtime: Runtime, session: Session, dataset: Dataset,
                                                          tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "cohort.vcf", samples=12, variants_per_contig=150, contigs=("1", "2"),
                             seed=6, fmt="vcf")
    lines = cohort.path.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    shuffled = body[150:] + body[:150]  # chromosome 2 first, then 1
    shuffled[10], shuffled[40] = shuffled[40], shuffled[10]  # and positions backwards within it
    for name, compress in (("unsorted.vcf", False), ("unsorted-bgzf.vcf", True)):
        path = tmp_path / name
        path.write_text("".join(header + shuffled))
        if compress:
            subprocess.run([require("bgzip"), "-f", str(path)], check=True)
            path = Path(f"{path}.gz")
        fresh = make_dataset(session, organisation_id=dataset.organisation_id, publish=True, title=name)
        job = _ingest(runtime, fresh.id, path)
        assert any("not sorted" in w and path.name in w for w in job.warnings), job.warnings
        assert _carried(_index(runtime.engine, fresh.id)) == _oracle(tmp_path, path)
        with Session(runtime.engine) as s:
            stored = s.exec(select(DatasetFile).where(DatasetFile.dataset_id == fresh.id)).one()
        assert int(bcftools("index", "--nrecords", stored.uri).strip()) == cohort.records


SYMBOLIC_BODY = (
    "chr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1\n"
    "chr1\t200\t.\tG\t<CGA_CNVWIN>\t.\tPASS\tEND=2000\tGT\t0/1\t0/0\t0/0\n"
    "chr1\t300\t.\tT\t<CGA_NOCALL>\t.\tPASS\tEND=400\tGT\t./.\t0/1\t0/0\n"
    "chr1\t500\t.\tC\tT,<*:DEL>\t.\tPASS\t.\tGT\t1/2\t0/1\t0/0\n"
    "chr1\t600\t.\tA\tA[chr2:500[\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n"
    "chr1\t700\t.\tA\t*,G\t.\tPASS\t.\tGT\t1/2\t0/2\t0/0\n"
    "chr1\t800\t.\tC\t<DEL>\t.\tPASS\tEND=900;SVLEN=-100\tGT\t0/1\t0/0\t0/0\n"
    "chr1\t1000\t.\tG\t<CGA_CNVWIN>,A\t.\tPASS\tEND=1500\tGT\t0/2\t1/2\t0/0\n"
    "chr2\t100\t.\tA\tAT\t.\tPASS\t.\tGT\t0/1\t0/1\t0/0\n"
)


def test_unsupported_alleles_are_skipped_and_counted_per_kind(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    path = _vcf(tmp_path, "cga.vcf", SYMBOLIC_BODY)
    job = _ingest(runtime, dataset.id, path)
    assert _carried(_index(runtime.engine, dataset.id)) == _oracle(tmp_path, path)
    # Per kind, as bcftools lists the split file's ALTs.
    split = bcftools("norm", "-m", "-any", path)
    alts = [line.split("\t")[4] for line in split.splitlines() if not line.startswith("#")]
    assert job.counts["skipped"] == {
        "<CGA_CNVWIN>": alts.count("<CGA_CNVWIN>"), "<CGA_NOCALL>": alts.count("<CGA_NOCALL>"),
        "<*:DEL>": alts.count("<*:DEL>"), "breakend": 1, "spanning deletion": alts.count("*")}
    assert job.counts["alleles_skipped"] == sum(job.counts["skipped"].values()) == 6
    assert job.counts["records_skipped_other"] == 3  # every ALT of these records skipped
    assert any("<CGA_CNVWIN> (2)" in w and "<*:DEL> (1)" in w for w in job.warnings), job.warnings


GVCF_BODY = (
    "chr1\t1\t.\tN\t<NON_REF>\t.\t.\tEND=99\tGT:DP\t0/0:10\t0/0:12\t0/0:9\n"
    "chr1\t100\t.\tA\tC,<NON_REF>\t50\t.\t.\tGT:DP\t0/1:10\t0/0:12\t1/1:9\n"
    "chr1\t101\t.\tC\t<NON_REF>\t.\t.\tEND=199\tGT:DP\t0/0:10\t0/0:12\t0/0:9\n"
    "chr1\t200\t.\tGT\tG,<NON_REF>\t50\t.\t.\tGT:DP\t0/1:10\t0/1:12\t0/0:9\n"
    "chr1\t201\t.\tT\t<*>\t.\t.\tEND=300\tGT:DP\t0/0:10\t0/0:12\t0/0:9\n"
    "chr1\t301\t.\tA\tG,T,<*>\t40\t.\t.\tGT:DP\t1/2:10\t0/1:12\t0/0:9\n"
    "chr2\t1\t.\tC\t<NON_REF>\t.\t.\tEND=5000\tGT:DP\t0/0:10\t0/0:12\t0/0:9\n"
)


def test_a_gvcf_keeps_its_variant_alleles_and_skips_its_reference_blocks(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    path = _vcf(tmp_path, "sample.g.vcf", GVCF_BODY)
    job = _ingest(runtime, dataset.id, path)
    index = _index(runtime.engine, dataset.id)
    assert _carried(index) == _oracle(tmp_path, path)
    assert set(index) == {("1", 100, "A", "C"), ("1", 200, "GT", "G"), ("1", 301, "A", "G"), ("1", 301, "A", "T")}
    assert job.counts["skipped"] == {"gVCF reference block": 7}
    assert job.counts["records_skipped_other"] == 4
    assert job.warnings == []  # reference blocks are what a gVCF is made of: counted, not warned about


HG19_BODY = ("chr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1\n"
             "chr2\t200\t.\tG\tT\t.\tPASS\t.\tGT\t0/1\t0/1\t0/0\n")
CHRM_BODY = ("chrM\t73\t.\tA\tG\t.\tPASS\t.\tGT\t1/1\t1/1\t0/0\n"
             "chrM\t16571\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n")


@pytest.mark.parametrize("with_chrm_records", [False, True])
def test_hg19_is_grch37_with_ucsc_names_and_its_chrm_records_are_skipped_with_a_warning(
        runtime: Runtime, grch37: Dataset, tmp_path: Path, with_chrm_records: bool) -> None:
    header = _header(GRCH37_CONTIGS + "##contig=<ID=chrM,length=16571>\n", extra="##reference=hg19\n")
    path = _vcf(tmp_path, "hg19.vcf", HG19_BODY + (CHRM_BODY if with_chrm_records else ""), header)
    job = _ingest(runtime, grch37.id, path)
    index = _index(runtime.engine, grch37.id)
    assert index == _oracle(tmp_path, path, skip_contigs="chrM")
    assert not any(key[0] == "MT" for key in index)
    if with_chrm_records:
        assert job.counts["skipped"] == {"hg19 chrM": 2}
        assert any("2 record(s) on chrM skipped" in w and "16,571" in w for w in job.warnings), job.warnings
    else:
        assert job.counts["skipped"] == {}
        assert job.warnings == []


@pytest.mark.parametrize(("contigs", "message"), [
    # hg18's chromosome 1, and a mouse genome's: refused as before, whatever their mitochondrion.
    ("##contig=<ID=chr1,length=247249719>\n##contig=<ID=chrM,length=16571>\n",
     r"hg18\.vcf\.gz: contig chr1 has length 247249719 in the file but 249250621 in GRCh37$"),
    ("##contig=<ID=chr1,length=195471971>\n##contig=<ID=chrM,length=16299>\n",
     r"hg18\.vcf\.gz: contig chr1 has length 195471971 in the file but 249250621 in GRCh37; "
     r"contig chrM has length 16299 in the file but 16569 in GRCh37$"),
])
def test_a_file_of_another_assembly_is_still_refused(
        runtime: Runtime, grch37: Dataset, tmp_path: Path, contigs: str, message: str) -> None:
    path = _vcf(tmp_path, "hg18.vcf", HG19_BODY.replace("chr2", "chr1").replace("200", "300"), _header(contigs))
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, OPERATOR, grch37.id, files=[path])
    with pytest.raises(WrongAssembly, match=message):
        run_job(runtime.engine, job.id, store_root=runtime.settings.store_root)
    assert _index(runtime.engine, grch37.id) == {}


SITES_BODY = ("chr1\t100\t.\tA\tC,G\t.\tPASS\t.\n"
              "chr1\t150\t.\tA\tT\t.\tLowQual\t.\n"
              "chr1\t200\t.\tAT\tA\t.\tPASS\t.\n"
              "chr2\t300\t.\tG\t<DEL>\t.\tPASS\tEND=400;SVLEN=-100\n")


def test_a_sites_only_file_without_counts_is_ingested_as_presence_only(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    path = _vcf(tmp_path, "sites.vcf", SITES_BODY, _header(samples=()))
    job = _ingest(runtime, dataset.id, path)
    index = _index(runtime.engine, dataset.id)
    assert set(index) == set(_oracle(tmp_path, path, counts=False))
    assert set(index.values()) == {(1, 0)}  # present (AC > 0), allele number unknown
    assert job.counts["variants_written"] == 4
    with Session(runtime.engine) as s:
        stats = s.get(Dataset, dataset.id).statistics  # type: ignore[union-attr]
    assert stats["variants_without_counts"] == 4
    assert stats["variants_without_carriers"] == 4


UNDECODABLE_BODY = ("chr1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1\n"
                    "chr1\t200\t.\tA\tC\t.\tPASS\t.\tDP\t5\t6\t7\n"
                    "chr1\t300\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\t0/0\n")
UNDECODABLE = (r"^nogt\.vcf\.gz: record 2 \(chr1:200\): cannot be decoded \(couldn't get genotypes for variant\); "
               r"check the record with `bcftools view`$")


def test_a_record_cyvcf2_cannot_decode_fails_in_one_line_and_changes_nothing(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    path = _vcf(tmp_path, "nogt.vcf", UNDECODABLE_BODY)
    assert len(bcftools("view", "-H", path).splitlines()) == 3  # bcftools reads it without complaint
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, OPERATOR, dataset.id, files=[path])
    with pytest.raises(MalformedFile, match=UNDECODABLE):
        run_job(runtime.engine, job.id, store_root=runtime.settings.store_root)
    with Session(runtime.engine) as s:
        failed = s.get(IngestionJob, job.id)
        assert failed is not None and failed.state == JobState.failed
        assert failed.error is not None and "\n" not in failed.error and "Traceback" not in failed.error
        assert s.exec(select(DatasetFile)).all() == []
    assert _index(runtime.engine, dataset.id) == {}


def test_the_cli_says_the_same_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from genomegate.cli import app

    path = _vcf(tmp_path, "nogt.vcf", UNDECODABLE_BODY)
    env = {"GENOMEGATE_DATA_DIR": str(tmp_path / "data"), "GENOMEGATE_DATABASE_URL": ""}
    cli = CliRunner()

    def run(*args: str) -> Any:
        return cli.invoke(app, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    org = run("org", "create", "--name", "Lab").stdout.strip()
    dataset = run("dataset", "create", "--title", "T", "--assembly", "GRCh38", "--security", "PUBLIC",
                  "--org", org).stdout.strip()
    result = run("ingest", str(path), "--dataset", dataset)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if "nogt.vcf.gz" in line]
    assert len(errors) == 1 and "record 2 (chr1:200): cannot be decoded" in errors[0], result.stderr
    shutil.rmtree(tmp_path / "data")

