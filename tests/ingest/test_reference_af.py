"""Loading a public reference panel: the allele table equals what bcftools says of the same sites file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from catalogue.errors import Forbidden
from catalogue.frequencies import lower_bound
from catalogue.identity import Caller, Principal
from catalogue.models import Assembly, ReferenceAllele
from ingest.errors import IngestInputError
from ingest.reference_af import load_reference_af
from ingest.synthetic import simulate_cohort
from tests.ingest._tools import bcftools

OPERATOR = Caller.cli_operator()


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sites-only panel (INFO AC/AN) with multi-allelics and indels, without the chr prefix."""
    folder = tmp_path_factory.mktemp("panel")
    return simulate_cohort(folder / "panel.vcf.gz", samples=60, variants_per_contig=400, contigs=("1", "2"),
                           seed=5, chr_prefix=False, multiallelic_rate=0.1, indel_rate=0.2, sv_rate=0.0,
                           sites_only=True).path


def _oracle(path: Path) -> dict[tuple[str, int, str, str], tuple[int, int]]:
    """(chrom, pos, ref, alt) -> (AC, AN) from bcftools: PASS records, split, trimmed (norm without a reference
    only splits; the generator's padded indels are trimmed here as ingest trims them)."""
    out: dict[tuple[str, int, str, str], tuple[int, int]] = {}
    split = bcftools("norm", "-m", "-any", path)
    for line in split.splitlines():
        if line.startswith("#"):
            continue
        chrom, pos, _id, ref, alt, _q, flt, info = line.split("\t")[:8]
        if flt not in ("PASS", "."):
            continue
        fields = dict(kv.split("=", 1) for kv in info.split(";") if "=" in kv)
        p = int(pos)
        while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
        while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
            ref, alt, p = ref[1:], alt[1:], p + 1
        ac, an = out.get((chrom, p, ref, alt), (0, 0))  # two records may state one allele: counts add up
        out[(chrom, p, ref, alt)] = (ac + int(fields["AC"]), an + int(fields["AN"]))
    return out


def test_the_panel_equals_bcftools(session: Session, sites: Path) -> None:
    count = load_reference_af(session, OPERATOR, sites, assembly=Assembly.GRCh38)
    rows = session.exec(select(ReferenceAllele)).all()
    assert count == len(rows)
    loaded = {(r.chrom, r.pos, r.ref, r.alt): (r.ac, r.an) for r in rows}
    assert loaded == _oracle(sites)
    for r in rows:
        assert r.assembly == "GRCh38" and r.af_lower == pytest.approx(lower_bound(r.ac, r.an))
        assert 0.0 <= r.af_lower <= r.ac / r.an


def test_loading_again_replaces_the_panel(session: Session, sites: Path, tmp_path: Path) -> None:
    load_reference_af(session, OPERATOR, sites, assembly=Assembly.GRCh38)
    smaller = simulate_cohort(tmp_path / "small.vcf.gz", samples=10, variants_per_contig=20, contigs=("1",),
                              seed=9, chr_prefix=False, sites_only=True).path
    count = load_reference_af(session, OPERATOR, smaller, assembly=Assembly.GRCh38)
    assert len(session.exec(select(ReferenceAllele)).all()) == count <= 22


def test_a_bad_panel_changes_nothing(session: Session, sites: Path, tmp_path: Path) -> None:
    load_reference_af(session, OPERATOR, sites, assembly=Assembly.GRCh38)
    before = len(session.exec(select(ReferenceAllele)).all())
    broken = tmp_path / "broken.vcf.gz"
    broken.write_bytes(sites.read_bytes()[:5_000])
    with pytest.raises(IngestInputError, match="broken.vcf.gz"):
        load_reference_af(session, OPERATOR, broken, assembly=Assembly.GRCh38)
    assert len(session.exec(select(ReferenceAllele)).all()) == before


def test_only_admins_load_a_panel(session: Session, sites: Path) -> None:
    researcher = Caller(principal=Principal(subject="someone", issuer="test"))
    with pytest.raises(Forbidden, match="admin"):
        load_reference_af(session, researcher, sites, assembly=Assembly.GRCh38)


def test_the_panel_keeps_each_chromosomes_longest_allele(session: Session, sites: Path) -> None:
    from catalogue.models import ReferenceSpan

    load_reference_af(session, OPERATOR, sites, assembly=Assembly.GRCh38)
    alleles = session.exec(select(ReferenceAllele)).all()
    longest: dict[str, int] = {}
    for a in alleles:
        longest[a.chrom] = max(longest.get(a.chrom, 0), a.end - a.pos)
    spans = {s.chrom: s.max_span for s in session.exec(select(ReferenceSpan)).all()}
    assert spans == longest and max(spans.values()) > 0
