"""Case-level data read from a dataset's VCF/BCF: who carries an allele, and with which zygosity (GENO terms)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pysam
from sqlmodel import Session

from beacon.errors import InvalidParameter
from beacon.filters import Selection
from catalogue.alleles import trim
from catalogue.assemblies import canonical_contig
from catalogue.services.lookup import (
    PublishedDataset,
    VariantHit,
    VariantSearch,
    dataset_file,
    find_variants,
    samples_of,
)
from catalogue.services.opt_outs import excluded_now

__all__ = [
    "COPIES", "Carrier", "MAX_SCANNED", "MAX_STREAMED", "ZYGOSITY", "AlleleKey", "VariantFiles", "carriers_of",
    "file_carriers", "open_files", "sample_alleles", "selected_carriers",
]

MAX_SCANNED = 10_000  # index rows of one query whose genotypes are read to answer it
MAX_STREAMED = 100_000  # index rows of a dataset whose files are read through for one individual's variants
COPIES = {"het": 1, "hom": 2, "hemi": 1}  # alternate alleles a carrier of each zygosity has

ZYGOSITY: dict[str, dict[str, str]] = {
    "het": {"id": "GENO:0000458", "label": "simple heterozygous"},
    "hom": {"id": "GENO:0000136", "label": "homozygous"},
    "hemi": {"id": "GENO:0000134", "label": "hemizygous"},
}


@dataclass(frozen=True, slots=True)
class Carrier:
    sample_id: str
    zygosity: str  # a key of ZYGOSITY


AlleleKey = tuple[str, int, str, str]  # (canonical chrom, pos, ref, alt) as the index keys a variant


def _key(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    return (pos, ref, alt) if alt.startswith("<") else trim(pos, ref, alt)


def _zygosity(gt: Sequence[int | None], index: int) -> str | None:
    called = [a for a in gt if a is not None]
    copies = sum(1 for a in called if a == index)
    if not copies:
        return None
    return "hemi" if len(called) == 1 else "hom" if copies == len(called) else "het"


class VariantFiles:
    """Open variant files, one handle per path for the length of one answer."""

    def __init__(self, assembly: str) -> None:
        self.assembly = assembly
        self._open: dict[str, tuple[pysam.VariantFile, dict[str, str]]] = {}

    def _handle(self, path: str) -> tuple[pysam.VariantFile, dict[str, str]]:
        if path not in self._open:
            handle = pysam.VariantFile(path)
            contigs = {c: str(name) for name in handle.header.contigs
                       if (c := canonical_contig(str(name), self.assembly)) is not None}
            self._open[path] = (handle, contigs)
        return self._open[path]

    def carriers(self, path: str, chrom: str, pos: int, ref: str, alt: str, end: int) -> list[Carrier]:
        """Carriers of (chrom, pos, ref, alt) in the file, matched after trimming each record's alleles."""
        handle, contigs = self._handle(path)
        contig = contigs.get(chrom)
        if contig is None:
            return []
        wanted = (pos, ref, alt)
        out: list[Carrier] = []
        # Trimming keeps an allele inside its record's REF, so the record overlaps base `pos`.
        for record in handle.fetch(contig, pos - 1, pos):
            for index, allele in enumerate(record.alts or (), start=1):
                if _key(record.pos, record.ref or "", allele) != wanted:
                    continue
                for sample_id, call in record.samples.items():
                    zygosity = _zygosity(call.get("GT") or (), index)
                    if zygosity is not None:
                        out.append(Carrier(str(sample_id), zygosity))
        return out

    def sample_alleles(self, path: str, sample_id: str) -> Iterator[tuple[AlleleKey, Carrier]]:
        """Every allele `sample_id` carries in the file, read through from start to end with only that
        sample's genotypes decoded, keyed as the index keys variants."""
        with pysam.VariantFile(path) as handle:
            if sample_id not in handle.header.samples:
                return
            handle.subset_samples([sample_id])
            names: dict[str, str | None] = {}
            for record in handle:
                chrom = names.get(record.chrom, "")
                if chrom == "":
                    chrom = names[record.chrom] = canonical_contig(record.chrom, self.assembly)
                if chrom is None:
                    continue
                gt = record.samples[0].get("GT") or ()
                for index, allele in enumerate(record.alts or (), start=1):
                    zygosity = _zygosity(gt, index)
                    if zygosity is not None:
                        yield (chrom, *_key(record.pos, record.ref or "", allele)), Carrier(sample_id, zygosity)

    def close(self) -> None:
        for handle, _ in self._open.values():
            handle.close()
        self._open.clear()


@contextmanager
def open_files(assembly: str) -> Iterator[VariantFiles]:
    files = VariantFiles(assembly)
    try:
        yield files
    finally:
        files.close()


def file_carriers(session: Session, dataset: PublishedDataset,
                  hits: Sequence[VariantHit]) -> Iterator[tuple[int, VariantHit, list[Carrier]]]:
    """(index in `hits`, hit, its carriers) for each of the dataset's files in turn, then each hit; samples whose
    opt-out is in effect are never carriers (catalogue.services.opt_outs)."""
    left_out = excluded_now(session, dataset.id)
    with open_files(dataset.assembly) as reader:
        for f in dataset_file(session, dataset.id):
            for i, hit in enumerate(hits):
                found = reader.carriers(f.uri, hit.chrom, hit.pos, hit.ref, hit.alt, hit.end)
                yield i, hit, [c for c in found if c.sample_id not in left_out] if left_out else found


def sample_alleles(session: Session, dataset: PublishedDataset,
                   sample_id: str) -> Iterator[tuple[AlleleKey, Carrier]]:
    """Every allele one sample carries in the dataset's files (each file read through once); none for a sample
    whose opt-out is in effect."""
    if sample_id in excluded_now(session, dataset.id):
        return
    with open_files(dataset.assembly) as reader:
        for f in dataset_file(session, dataset.id):
            yield from reader.sample_alleles(f.uri, sample_id)


def carriers_of(session: Session, dataset: PublishedDataset, hits: Sequence[VariantHit]) -> list[tuple[Carrier, ...]]:
    """Each hit's carriers, over all the dataset's files."""
    found: list[list[Carrier]] = [[] for _ in hits]
    for i, _hit, carriers in file_carriers(session, dataset, hits):
        found[i] += carriers
    return [tuple(c) for c in found]


def selected_carriers(session: Session, dataset: PublishedDataset, search: VariantSearch,
                      selection: Selection) -> list[tuple[VariantHit, tuple[Carrier, ...]]]:
    """The matching variants carried by the selected individuals, with those carriers, from the files."""
    hits = find_variants(session, [dataset], search, limit=MAX_SCANNED + 1)
    if len(hits) > MAX_SCANNED:
        raise InvalidParameter("filters", f"these filters are answered from the genotypes, and the query reaches "
                                          f"more than {MAX_SCANNED:,} variants of {dataset.id}: narrow it")
    selected = {s.sample_id for s in samples_of(session, [dataset.id])
                if selection.matches(s.sex, s.population, s.diseases)}
    if not selected:
        return []
    out = []
    for _i, hit, carriers in file_carriers(session, dataset, hits):
        chosen = tuple(c for c in carriers if c.sample_id in selected)
        if chosen:
            out.append((hit, chosen))
    return out
