"""Reference sequences per assembly (indexed FASTA), so that query indels are left-aligned like ingest's."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import pysam

from catalogue.assemblies import canonical_contig

__all__ = ["References"]


class References:
    """The operator's reference FASTA files, opened on first use and kept open for the process.

    A pysam handle must not be shared between threads, and queries run on the thread pool: each thread
    opens its own handles (a few per process; threads are reused).
    """

    def __init__(self, paths: Mapping[str, Path]) -> None:
        self._paths = dict(paths)
        self._local = threading.local()

    def _fasta(self, assembly: str) -> tuple[pysam.FastaFile, dict[str, str]] | None:
        if assembly not in self._paths:
            return None
        opened: dict[str, tuple[pysam.FastaFile, dict[str, str]]] = self._local.__dict__.setdefault("open", {})
        if assembly not in opened:
            fasta = pysam.FastaFile(str(self._paths[assembly]))
            names = {c: name for name in fasta.references if (c := canonical_contig(name, assembly))}
            opened[assembly] = (fasta, names)
        return opened[assembly]

    def fetcher(self, chroms: Mapping[str, str]) -> Callable[[int, int], str] | None:
        """A fetch(start, end) over the first of the query's assemblies that has a reference (0-based, half-open)."""
        for assembly, chrom in chroms.items():
            opened = self._fasta(assembly)
            if opened is None or chrom not in opened[1]:
                continue
            fasta, name = opened[0], opened[1][chrom]
            return lambda start, end: fasta.fetch(name, max(start, 0), end).upper()
        return None
