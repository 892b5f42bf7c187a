"""Case-level data read from a dataset's VCF/BCF: who carries an allele, and with which zygosity (GENO terms)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pysam

from catalogue.alleles import trim
from catalogue.assemblies import canonical_contig

__all__ = ["Carrier", "ZYGOSITY", "VariantFiles", "open_files"]

ZYGOSITY: dict[str, dict[str, str]] = {
    "het": {"id": "GENO:0000458", "label": "simple heterozygous"},
    "hom": {"id": "GENO:0000136", "label": "homozygous"},
    "hemi": {"id": "GENO:0000134", "label": "hemizygous"},
}


@dataclass(frozen=True, slots=True)
class Carrier:
    sample_id: str
    zygosity: str  # a key of ZYGOSITY


def _key(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    return (pos, ref, alt) if alt.startswith("<") else trim(pos, ref, alt)


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
                    gt = [a for a in (call.get("GT") or ()) if a is not None]
                    copies = sum(1 for a in gt if a == index)
                    if not copies:
                        continue
                    zygosity = "hemi" if len(gt) == 1 else "hom" if copies == len(gt) else "het"
                    out.append(Carrier(str(sample_id), zygosity))
        return out

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
