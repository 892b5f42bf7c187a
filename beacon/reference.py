"""Reference sequences per assembly (indexed FASTA), so that query indels are left-aligned like ingest's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pysam

from catalogue.assemblies import canonical_contig

__all__ = ["References"]


class References:
    """The operator's reference FASTA files, opened on first use and kept open for the process.

    Used from the event loop's thread only (the Beacon's query endpoints are async), so one handle each
    is enough.
    """

    def __init__(self, paths: Mapping[str, Path]) -> None:
        self._paths = dict(paths)
        self._open: dict[str, tuple[pysam.FastaFile, dict[str, str]]] = {}

    def _fasta(self, assembly: str) -> tuple[pysam.FastaFile, dict[str, str]] | None:
        if assembly not in self._paths:
            return None
        if assembly not in self._open:
            fasta = pysam.FastaFile(str(self._paths[assembly]))
            names = {c: name for name in fasta.references if (c := canonical_contig(name, assembly))}
            self._open[assembly] = (fasta, names)
        return self._open[assembly]

    def fetcher(self, chroms: Mapping[str, str]) -> Callable[[int, int], str] | None:
        """A fetch(start, end) over the first of the query's assemblies that has a reference (0-based, half-open)."""
        for assembly, chrom in chroms.items():
            opened = self._fasta(assembly)
            if opened is None or chrom not in opened[1]:
                continue
            fasta, name = opened[0], opened[1][chrom]
            return lambda start, end: fasta.fetch(name, max(start, 0), end).upper()
        return None
