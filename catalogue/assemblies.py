"""Reference assemblies GRCh37 and GRCh38: contig names, lengths and RefSeq accessions."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ASSEMBLIES",
    "CHROMOSOMES",
    "SORT_ORDER",
    "accession",
    "canonical_contig",
    "check_contig_lengths",
    "contig_length",
    "contig_rank",
    "HG19_CHRM_LENGTH",
    "is_hg19_mitochondrion",
]

ASSEMBLIES: tuple[str, ...] = ("GRCh37", "GRCh38")

CHROMOSOMES: tuple[str, ...] = (*(str(n) for n in range(1, 23)), "X", "Y", "MT")

SORT_ORDER: dict[str, int] = {chrom: rank for rank, chrom in enumerate(CHROMOSOMES)}

# (length, RefSeq accession) per canonical chromosome, in CHROMOSOMES order.
_GRCH37 = (
    (249250621, "NC_000001.10"), (243199373, "NC_000002.11"), (198022430, "NC_000003.11"),
    (191154276, "NC_000004.11"), (180915260, "NC_000005.9"), (171115067, "NC_000006.11"),
    (159138663, "NC_000007.13"), (146364022, "NC_000008.10"), (141213431, "NC_000009.11"),
    (135534747, "NC_000010.10"), (135006516, "NC_000011.9"), (133851895, "NC_000012.11"),
    (115169878, "NC_000013.10"), (107349540, "NC_000014.8"), (102531392, "NC_000015.9"),
    (90354753, "NC_000016.9"), (81195210, "NC_000017.10"), (78077248, "NC_000018.9"),
    (59128983, "NC_000019.9"), (63025520, "NC_000020.10"), (48129895, "NC_000021.8"),
    (51304566, "NC_000022.10"), (155270560, "NC_000023.10"), (59373566, "NC_000024.9"),
    (16569, "NC_012920.1"),
)
_GRCH38 = (
    (248956422, "NC_000001.11"), (242193529, "NC_000002.12"), (198295559, "NC_000003.12"),
    (190214555, "NC_000004.12"), (181538259, "NC_000005.10"), (170805979, "NC_000006.12"),
    (159345973, "NC_000007.14"), (145138636, "NC_000008.11"), (138394717, "NC_000009.12"),
    (133797422, "NC_000010.11"), (135086622, "NC_000011.10"), (133275309, "NC_000012.12"),
    (114364328, "NC_000013.11"), (107043718, "NC_000014.9"), (101991189, "NC_000015.10"),
    (90338345, "NC_000016.10"), (83257441, "NC_000017.11"), (80373285, "NC_000018.10"),
    (58617616, "NC_000019.10"), (64444167, "NC_000020.11"), (46709983, "NC_000021.9"),
    (50818468, "NC_000022.11"), (156040895, "NC_000023.11"), (57227415, "NC_000024.10"),
    (16569, "NC_012920.1"),
)

# hg19 (UCSC) names GRCh37's chromosomes chr1..chrY with identical sequences, but its chrM is the older
# Yoruba mitochondrion (NC_001807, 16,571 bp), not GRCh37's rCRS MT (NC_012920.1, 16,569 bp): positions on
# the two differ, so records on hg19's chrM are never taken for GRCh37's MT (the reader skips them).
HG19_CHRM_LENGTH = 16571

_TABLES: dict[str, dict[str, tuple[int, str]]] = {
    "GRCh37": dict(zip(CHROMOSOMES, _GRCH37, strict=True)),
    "GRCh38": dict(zip(CHROMOSOMES, _GRCH38, strict=True)),
}


def _aliases(assembly: str) -> dict[str, str]:
    """Every accepted spelling (upper-cased) mapped to its canonical chromosome."""
    aliases: dict[str, str] = {}
    for chrom, (_length, acc) in _TABLES[assembly].items():
        for name in (chrom, f"CHR{chrom}", acc, acc.split(".")[0]):
            aliases[name.upper()] = chrom
    for name in ("M", "CHRM", "CHRMT"):
        aliases[name] = "MT"
    return aliases


_ALIASES: dict[str, dict[str, str]] = {assembly: _aliases(assembly) for assembly in ASSEMBLIES}


def _table(assembly: str) -> dict[str, tuple[int, str]]:
    try:
        return _TABLES[assembly]
    except KeyError:
        raise ValueError(f"unknown assembly {assembly!r}; use one of {', '.join(ASSEMBLIES)}") from None


def canonical_contig(name: str, assembly: str) -> str | None:
    """Return the canonical chromosome ("1".."22", "X", "Y", "MT") for a contig name, or None.

    Accepts "1", "chr1" (any case), "chrM"/"M"/"chrMT" and the assembly's own RefSeq accession with
    or without its version; another assembly's accession version is not accepted.
    """
    _table(assembly)
    return _ALIASES[assembly].get(name.strip().upper())


def contig_length(chrom: str, assembly: str) -> int:
    """Length in bases of a chromosome (any accepted spelling) in the assembly."""
    canonical = canonical_contig(chrom, assembly)
    if canonical is None:
        raise ValueError(f"contig {chrom!r} is not a chromosome of {assembly}")
    return _TABLES[assembly][canonical][0]


def accession(chrom: str, assembly: str) -> str:
    """RefSeq accession (with version) of a chromosome in the assembly."""
    canonical = canonical_contig(chrom, assembly)
    if canonical is None:
        raise ValueError(f"contig {chrom!r} is not a chromosome of {assembly}")
    return _TABLES[assembly][canonical][1]


def contig_rank(chrom: str) -> int:
    """Sort key of a canonical chromosome: 1..22, X, Y, MT; unknown names sort last."""
    return SORT_ORDER.get(chrom, len(SORT_ORDER))


def is_hg19_mitochondrion(name: str, length: int | None, assembly: str) -> bool:
    """Whether a contig of a GRCh37 file is hg19's chrM rather than GRCh37's MT: declared 16,571 bp long, or
    spelled the UCSC way (`chrM`, `M`) without a length (the rCRS is declared as 16,569 bp, or named MT)."""
    if assembly != "GRCh37" or canonical_contig(name, assembly) != "MT":
        return False
    if length is None:
        return name.strip().upper() in ("CHRM", "M")
    return length == HG19_CHRM_LENGTH


def _guess(length: int, chrom: str, assembly: str) -> str:
    for other in ASSEMBLIES:
        if other != assembly and _TABLES[other][chrom][0] == length:
            return f"; is the file {other}?"
    return ""


def check_contig_lengths(file_contigs: Mapping[str, int | None], assembly: str) -> list[str]:
    """One readable problem per contig whose declared length differs from the assembly's.

    Contigs that are not chromosomes of the assembly (decoys, alts, unplaced), contigs without a
    declared length and hg19's chrM in a GRCh37 file (`is_hg19_mitochondrion`: its records are skipped)
    are ignored.
    """
    table = _table(assembly)
    problems = []
    for name, length in file_contigs.items():
        chrom = canonical_contig(name, assembly)
        if chrom is None or length is None or is_hg19_mitochondrion(name, length, assembly):
            continue
        expected = table[chrom][0]
        if length != expected:
            problems.append(
                f"contig {name} has length {length} in the file but {expected} in {assembly}"
                + _guess(length, chrom, assembly)
            )
    return problems
