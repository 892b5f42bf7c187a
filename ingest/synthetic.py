"""Seeded synthetic cohorts: a reference, a sorted indexed VCF/BCF of it and a matching sample sheet."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam
from pysam.libcbgzf import BGZFile

from catalogue.assemblies import canonical_contig, contig_length

__all__ = [
    "AF_FLOOR",
    "POPULATIONS",
    "SimulatedCohort",
    "contig_name",
    "reference_sequence",
    "simulate_cohort",
    "write_reference_fasta",
    "write_sample_sheet",
]

POPULATIONS: tuple[str, ...] = ("AFR", "AMR", "EAS", "EUR", "SAS")
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_PHENOTYPES = ("HP:0001250", "HP:0000717", "HP:0001631", "HP:0002099", "HP:0004322")
_DISEASES = ("MONDO:0005148", "MONDO:0004975", "MONDO:0008383", "MONDO:0005044")
_SV_KINDS = ("DEL", "DUP", "INV", "INS", "CNV")
# Balding-Nichols drift between populations; small, so frequencies stay related.
_FST = 0.03
# The lowest ancestral frequency drawn by default; real genomes carry many rarer (private) alleles, which
# simulations of membership inference need (simulate_cohort's af_floor).
AF_FLOOR = 0.002
_BLOCK = 512


@dataclass(frozen=True, slots=True)
class SimulatedCohort:
    """What simulate_cohort wrote: the variant file, its index, and who is in it."""

    path: Path
    index_path: Path | None
    assembly: str
    contigs: list[str]  # as spelled in the file
    samples: list[str]
    sexes: list[str]
    populations: list[str]
    records: int
    reference: Path | None = None


def contig_name(chrom: str, assembly: str, chr_prefix: bool) -> str:
    """Spell a chromosome the way the file will: "chr1"/"chrM" with the prefix, "1"/"MT" without."""
    canonical = canonical_contig(chrom, assembly)
    if canonical is None:
        raise ValueError(f"{chrom!r} is not a chromosome of {assembly}")
    if not chr_prefix:
        return canonical
    return "chrM" if canonical == "MT" else f"chr{canonical}"


def reference_sequence(length: int, seed: int, chrom: str) -> bytes:
    """A random sequence (41% GC) sprinkled with homopolymers and short tandem repeats.

    The repeats give indels room to shift, so left-alignment has work to do. The same
    (length, seed, chrom) always gives the same sequence.
    """
    rng = np.random.default_rng([seed, 0x5EF, *chrom.encode()])
    seq = _BASES[rng.choice(4, size=length, p=[0.295, 0.205, 0.205, 0.295])].copy()
    for start in rng.integers(0, max(length - 40, 1), size=length // 150):
        unit = _BASES[rng.integers(0, 4, size=int(rng.integers(1, 4)))]
        copies = int(rng.integers(3, 9))
        repeat = np.tile(unit, copies)[: length - start]
        seq[start : start + len(repeat)] = repeat
    return seq.tobytes()


def write_reference_fasta(
    path: str | os.PathLike[str], contigs: Sequence[str], length: int, seed: int = 0
) -> Path:
    """Write a synthetic reference FASTA (one sequence per contig, 60 columns) plus its .fai."""
    path = Path(path)
    with open(path, "w") as handle:
        for name in contigs:
            handle.write(f">{name}\n")
            seq = reference_sequence(length, seed, name.removeprefix("chr")).decode()
            for start in range(0, len(seq), 60):
                handle.write(seq[start : start + 60] + "\n")
    pysam.faidx(str(path))
    return path


def _gt_table(phased: bool) -> np.ndarray:
    """Genotype text for code (a1 + 1) * 6 + (a2 + 2); a2 == -2 marks a haploid call."""
    sep = "|" if phased else "/"
    table = np.empty(36, dtype=object)
    for a1 in range(-1, 5):
        for a2 in range(-2, 4):
            first = "." if a1 < 0 else str(a1)
            second = "." if a2 == -1 else str(a2)
            code = (a1 + 1) * 6 + (a2 + 2)
            if code < 36:
                table[code] = first if a2 == -2 else f"{first}{sep}{second}"
    return table


def _header(assembly: str, names: Sequence[str], samples: Sequence[str], seed: int, sites_only: bool) -> str:
    lines = [
        "##fileformat=VCFv4.2",
        f"##source=GenomeGate synthetic cohort (seed={seed})",
        f"##reference={assembly}",
        *(f"##contig=<ID={n},length={contig_length(n, assembly)},assembly={assembly}>" for n in names),
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Synthetic low-quality call">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes, per ALT allele">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Number of alleles in called genotypes">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of a structural variant">',
        '##INFO=<ID=SVLEN,Number=A,Type=Integer,Description="Length change of a structural variant">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        *(f'##ALT=<ID={kind},Description="{kind} (synthetic)">' for kind in _SV_KINDS),
    ]
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if not sites_only:
        lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        columns += ["FORMAT", *samples]
    return "\n".join(lines) + "\n" + "\t".join(columns) + "\n"


class _Sites:
    """Draws the sites of one contig: positions, alleles and INFO, from the reference bases."""

    def __init__(self, rng: np.random.Generator, seq: bytes, rates: dict[str, float]) -> None:
        self.rng, self.seq, self.rates = rng, seq, rates

    def _base(self, pos: int) -> str:
        return chr(self.seq[pos - 1])

    def _other(self, base: str, count: int) -> list[str]:
        # Transitions twice as likely as each transversion.
        transition = {"A": "G", "G": "A", "C": "T", "T": "C"}[base]
        others = [b for b in "ACGT" if b not in (base, transition)]
        choices = [transition, *others]
        picked = self.rng.choice(3, size=count, replace=False, p=[0.5, 0.25, 0.25])
        return [choices[i] for i in picked]

    def site(self, pos: int) -> tuple[str, list[str], str]:
        """(REF, ALTs, extra INFO) for a site at 1-based pos."""
        rng, seq, rates = self.rng, self.seq, self.rates
        draw = rng.random()
        multi = rng.random() < rates["multiallelic"]
        room = len(seq) - pos - 1
        if draw < rates["sv"] and room > 60:
            kind = _SV_KINDS[int(rng.integers(0, len(_SV_KINDS)))]
            length = min(int(rng.integers(50, 5000)), room)
            end = pos if kind == "INS" else pos + length
            svlen = -length if kind == "DEL" else length
            return self._base(pos), [f"<{kind}>"], f";SVTYPE={kind};END={end};SVLEN={svlen}"
        if draw < rates["sv"] + rates["indel"] and room > 25:
            length = int(min(rng.geometric(0.4), 10))
            if multi:
                ref = seq[pos - 1 : pos + 1].decode()
                return ref, [ref[0], self._other(ref[0], 1)[0] + ref[1]], ""
            if rng.random() < 0.5:
                ref = seq[pos - 1 : pos + length].decode()
                alt = ref[0]
                if rng.random() < 0.25:  # a non-minimal spelling, for trimming to undo
                    ref, alt = ref + self._base(pos + length + 1), alt + self._base(pos + length + 1)
                return ref, [alt], ""
            ref = self._base(pos)
            if rng.random() < 0.5 and pos > length:  # duplicate the bases before: left-alignable
                inserted = seq[pos - length : pos].decode()
            else:
                inserted = _BASES[rng.integers(0, 4, size=length)].tobytes().decode()
            return ref, [ref + inserted], ""
        ref = self._base(pos)
        return ref, self._other(ref, 2 if multi else 1), ""


def _frequencies(rng: np.random.Generator, n_alt: int, n_pop: int, af_floor: float = AF_FLOOR) -> np.ndarray:
    """Per population, per ALT frequency: beta-distributed, mostly rare, drifted per population."""
    base = np.clip(rng.beta(0.12, 1.6, size=n_alt), af_floor, 0.95)
    if base.sum() > 0.95:
        base *= 0.95 / base.sum()
    a = base * (1 - _FST) / _FST
    b = (1 - base) * (1 - _FST) / _FST
    freqs = rng.beta(a[None, :], b[None, :], size=(n_pop, n_alt))
    total = freqs.sum(axis=1, keepdims=True)
    return np.where(total > 0.98, freqs * 0.98 / np.maximum(total, 1e-9), freqs)


def _genotypes(
    rng: np.random.Generator,
    freqs: np.ndarray,
    pop_index: np.ndarray,
    haploid: np.ndarray,
    missing_rate: float,
) -> np.ndarray:
    """Allele indices (n, 2): -1 missing, -2 in the second column for a haploid sample."""
    n = len(pop_index)
    cumulative = np.cumsum(freqs, axis=1)[pop_index]  # (n, n_alt)
    u = rng.random((n, 2))
    alleles = (u[:, :, None] < cumulative[:, None, :]).sum(axis=2)
    # Alleles drawn as "below cumulative freq k" count down from n_alt; flip to 1..n_alt, 0 = REF.
    n_alt = freqs.shape[1]
    alleles = np.where(alleles > 0, n_alt + 1 - alleles, 0)
    if not (alleles > 0).any():
        alleles[rng.integers(0, n), 0] = 1  # every site has at least one carrier
    missing = rng.random(n) < missing_rate
    partial = missing & (rng.random(n) < 0.2) & ~haploid
    alleles[missing & ~partial] = -1
    alleles[partial, 1] = -1
    alleles[haploid, 1] = -2
    return alleles


def _unphase(alleles: np.ndarray) -> np.ndarray:
    """Write unphased diploid calls smaller allele first, as callers do."""
    swap = (alleles[:, 1] >= 0) & (alleles[:, 0] > alleles[:, 1])
    alleles[swap] = alleles[swap][:, ::-1]
    return alleles


def _records(
    rng: np.random.Generator,
    name: str,
    seq: bytes,
    n_sites: int,
    pop_index: np.ndarray,
    haploid: np.ndarray,
    rates: dict[str, float],
    table: np.ndarray,
    sites_only: bool,
    phased: bool,
    af_floor: float,
) -> Iterator[str]:
    span = len(seq) - 30
    positions = np.sort(rng.choice(np.arange(100, span), size=min(n_sites, span - 100), replace=False))
    sites = _Sites(rng, seq, rates)
    n_pop = int(pop_index.max()) + 1
    for pos in positions.tolist():
        ref, alts, extra = sites.site(pos)
        freqs = _frequencies(rng, len(alts), n_pop, af_floor)
        alleles = _genotypes(rng, freqs, pop_index, haploid, rates["missing"])
        if not phased:
            alleles = _unphase(alleles)
        acs = [int(np.count_nonzero(alleles == k)) for k in range(1, len(alts) + 1)]
        an = int(np.count_nonzero(alleles >= 0))
        draw = rng.random()
        flt = "LowQual" if draw < rates["filtered"] else ("." if draw > 0.9 else "PASS")
        info = f"AC={','.join(map(str, acs))};AN={an}{extra}"
        line = f"{name}\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\t{flt}\t{info}"
        if not sites_only:
            codes = (alleles[:, 0] + 1) * 6 + (alleles[:, 1] + 2)
            line += "\tGT\t" + "\t".join(table[codes].tolist())
        yield line + "\n"


def simulate_cohort(
    out_path: str | os.PathLike[str],
    *,
    samples: int,
    variants_per_contig: int,
    contigs: Sequence[str] = ("1",),
    assembly: str = "GRCh38",
    chr_prefix: bool = True,
    seed: int = 0,
    multiallelic_rate: float = 0.02,
    indel_rate: float = 0.05,
    sv_rate: float = 0.005,
    missing_rate: float = 0.01,
    filtered_rate: float = 0.02,
    include_x: bool = False,
    sites_only: bool = False,
    phased: bool = False,
    reference: str | os.PathLike[str] | None = None,
    fmt: str = "vcf.gz",
    af_floor: float = AF_FLOOR,
) -> SimulatedCohort:
    """Write a seeded synthetic cohort as VCF ("vcf"), bgzipped VCF ("vcf.gz", + .tbi) or BCF (+ .csi).

    REF bases come from `reference` (a FASTA from write_reference_fasta, contigs matched by
    canonical name) or, without one, from reference_sequence(...) with the same seed. Males are
    haploid on X (include_x adds it) and everyone is haploid on MT.

    Ancestral allele frequencies are drawn from beta(0.12, 1.6) and raised to at least `af_floor`; a floor
    far below 1 / (2 x samples), e.g. 1e-6, leaves many sites with a single carrier (every site has at least
    one), as real genomes have private alleles. The default keeps the files of earlier versions byte for byte.
    """
    if fmt not in ("vcf", "vcf.gz", "bcf"):
        raise ValueError(f"fmt must be 'vcf', 'vcf.gz' or 'bcf', not {fmt!r}")
    if not 0.0 < af_floor <= 0.5:
        raise ValueError(f"af_floor must be above 0 and at most 0.5, not {af_floor!r}")
    out = Path(out_path)
    if not out.parent.is_dir():  # BGZFile crashes the interpreter (SIGSEGV) on a missing directory
        raise FileNotFoundError(f"{out.parent} is not a directory; create it before simulating into it")
    rng = np.random.default_rng(seed)
    chroms = [canonical_contig(c, assembly) or c for c in contigs]
    if include_x and "X" not in chroms:
        chroms.append("X")
    names = [contig_name(c, assembly, chr_prefix) for c in chroms]
    sample_ids = [f"SIM{i + 1:05d}" for i in range(samples)]
    sexes = np.where(rng.random(samples) < 0.5, "female", "male")
    pop_index = rng.integers(0, len(POPULATIONS), size=samples)
    rates = {
        "multiallelic": multiallelic_rate,
        "indel": indel_rate,
        "sv": sv_rate,
        "missing": missing_rate,
        "filtered": filtered_rate,
    }
    fasta = pysam.FastaFile(str(reference)) if reference is not None else None
    table = _gt_table(phased)
    tmp_dir = None
    if fmt == "bcf":
        tmp_dir = tempfile.TemporaryDirectory()
        target = Path(tmp_dir.name) / "cohort.vcf.gz"
    else:
        target = out
    handle = open(target, "wb") if fmt == "vcf" else BGZFile(str(target), "wb", index=None)
    records = 0
    try:
        handle.write(_header(assembly, names, sample_ids, seed, sites_only).encode())
        for chrom, name in zip(chroms, names, strict=True):
            if fasta is not None:
                fasta_name = next(r for r in fasta.references if canonical_contig(r, assembly) == chrom)
                seq = fasta.fetch(fasta_name).upper().encode()
            else:
                seq = reference_sequence(variants_per_contig * 40 + 1000, seed, chrom)
            haploid = np.full(samples, chrom == "MT") | ((sexes == "male") & (chrom == "X"))
            chunk: list[str] = []
            lines = _records(
                rng, name, seq, variants_per_contig, pop_index, haploid, rates, table, sites_only, phased, af_floor
            )
            for line in lines:
                chunk.append(line)
                records += 1
                if len(chunk) >= _BLOCK:
                    handle.write("".join(chunk).encode())
                    chunk = []
            handle.write("".join(chunk).encode())
    finally:
        handle.close()
        if fasta is not None:
            fasta.close()
    index_path: Path | None = None
    if fmt == "vcf.gz":
        pysam.tabix_index(str(out), preset="vcf", force=True)
        index_path = Path(f"{out}.tbi")
    elif fmt == "bcf":
        import pysam.bcftools as bcftools

        bcftools.view("-Ob", "-o", str(out), str(target), catch_stdout=False)
        bcftools.index("-f", str(out))
        index_path = Path(f"{out}.csi")
        assert tmp_dir is not None
        tmp_dir.cleanup()
    return SimulatedCohort(
        path=out,
        index_path=index_path,
        assembly=assembly,
        contigs=names,
        samples=sample_ids,
        sexes=sexes.tolist(),
        populations=[POPULATIONS[i] for i in pop_index.tolist()],
        records=records,
        reference=Path(reference) if reference is not None else None,
    )


def write_sample_sheet(path: str | os.PathLike[str], cohort: SimulatedCohort, seed: int = 0) -> Path:
    """Write the cohort's sample sheet (TSV: sample_id, sex, population, phenotypes, diseases)."""
    rng = np.random.default_rng([seed, 0x5A4])
    path = Path(path)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["sample_id", "sex", "population", "phenotypes", "diseases"])
        for sample, sex, population in zip(cohort.samples, cohort.sexes, cohort.populations, strict=True):
            phenotypes = [p for p in _PHENOTYPES if rng.random() < 0.15]
            diseases = [d for d in _DISEASES if rng.random() < 0.05]
            writer.writerow([sample, sex, population, ";".join(phenotypes), ";".join(diseases)])
    return path
