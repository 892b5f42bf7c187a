"""Gene annotations (GFF3 or BED) read into gene extents for the Beacon's geneId queries."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from catalogue.assemblies import canonical_contig
from catalogue.models import Gene
from ingest.errors import MalformedFile

__all__ = ["read_genes"]


def _open(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if compressed else path.open()


def read_genes(path: Path, assembly: str) -> Iterator[Gene]:
    """Genes of a GFF3 (features of type gene, named by Name/gene_name) or a BED file (0-based starts).

    Contigs outside the assembly's chromosomes are skipped; malformed lines are errors naming the line.
    """
    gff = ".gff" in path.name.lower()
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                gene = _gff_gene(fields, assembly) if gff else _bed_gene(fields, assembly)
            except (ValueError, IndexError):
                raise MalformedFile(str(path), "not a valid " + ("GFF3" if gff else "BED") + " line",
                                    line=number) from None
            if gene is not None:
                yield gene


def _gff_gene(fields: list[str], assembly: str) -> Gene | None:
    if len(fields) != 9:
        raise ValueError("GFF3 has nine columns")
    if fields[2] != "gene":
        return None
    chrom = canonical_contig(fields[0], assembly)
    attributes = dict(a.split("=", 1) for a in fields[8].strip(";").split(";") if "=" in a)
    symbol = unquote(attributes.get("Name") or attributes.get("gene_name") or "")
    if chrom is None or not symbol:
        return None
    gene_id = unquote(attributes.get("gene_id") or attributes.get("ID", "")).removeprefix("gene:") or None
    start, end = int(fields[3]), int(fields[4])  # GFF3: 1-based, inclusive
    if start < 1 or end < start:
        raise ValueError("bad extent")
    return Gene(assembly=assembly, symbol=symbol, chrom=chrom, start=start, end=end, gene_id=gene_id)


def _bed_gene(fields: list[str], assembly: str) -> Gene | None:
    if len(fields) < 4:
        raise ValueError("BED needs chrom, start, end and name")
    chrom = canonical_contig(fields[0], assembly)
    if chrom is None:
        return None
    start, end = int(fields[1]) + 1, int(fields[2])  # BED: 0-based, half-open
    if start < 1 or end < start:
        raise ValueError("bad extent")
    return Gene(assembly=assembly, symbol=fields[3], chrom=chrom, start=start, end=end)
