"""Beacon variant parameters -> index searches: 0-based half-open coordinates to 1-based VCF, alleles normalised.

Beacon v2 counts from 0 with half-open intervals: a variant whose VCF POS is P and whose REF spans
P..E (1-based, inclusive) sits at [P-1, E). So a sequence query's `start` is POS - 1, and a range
[start, end) holds every variant with POS <= end and E >= start + 1.

Query alleles are normalised as ingest normalises records (catalogue.alleles): trimmed to their minimal
form, and left-aligned when the operator configured a reference FASTA for the assembly
(GENOMEGATE_REFERENCE_FASTA); without one, an indel given right-shifted inside a repeat is not moved.
Alleles with `N` (any base) are matched as given, without trimming.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from beacon.errors import InvalidParameter, UnsupportedParameter
from catalogue.alleles import normalise
from catalogue.annotations import gene_key, protein_change
from catalogue.assemblies import ASSEMBLIES, canonical_contig, contig_length
from catalogue.services.lookup import VariantSearch

__all__ = ["VARIANT_TYPES", "VariantQuery", "parse_variant_query", "search_for"]

_BASES = re.compile(r"[ACGTN]+")
_SYMBOLIC = re.compile(r"<(DEL|DUP|INV|CNV|INS)(:[A-Z0-9:]+)?>")
_HGVS_SNV = re.compile(r"^(?P<acc>[^:]+):g\.(?P<pos>\d+)(?P<ref>[ACGT])>(?P<alt>[ACGT])$", re.IGNORECASE)

# Beacon/VCF/SO spellings of variant types -> the index's classes.
VARIANT_TYPES: dict[str, tuple[str, ...]] = {
    "SNP": ("SNV",), "SNV": ("SNV",), "MNP": ("MNV",), "MNV": ("MNV",), "INS": ("INS",), "DEL": ("DEL",),
    "INDEL": ("INDEL", "INS", "DEL"), "DUP": ("DUP",), "INV": ("INV",), "CNV": ("CNV", "DUP", "DEL"),
    "SO:0001483": ("SNV",), "SO:0002007": ("MNV",), "SO:0000667": ("INS",), "SO:0000159": ("DEL",),
    "SO:1000032": ("INDEL",), "SO:1000035": ("DUP",), "SO:1000036": ("INV",), "SO:0001019": ("CNV", "DUP", "DEL"),
}


@dataclass(frozen=True, slots=True)
class VariantQuery:
    """A validated variant query: the reference name as given, per-assembly canonical chromosomes, the search.

    `chroms` maps each assembly the name belongs to onto its canonical chromosome; datasets of other
    assemblies cannot be asked and are excluded. `gene` (a symbol or id) is resolved per assembly later, and
    its `search` is then a template without chromosome and region; so is an `amino_acid` (protein change, one
    letter) asked without a region (shape "protein"), which only annotations answer.
    """

    reference_name: str | None
    chroms: dict[str, str]
    search: VariantSearch
    gene: str | None = None
    shape: str = "sequence"
    amino_acid: str | None = None


def _chroms(name: str, assembly_id: str | None) -> dict[str, str]:
    assemblies = [assembly_id] if assembly_id else list(ASSEMBLIES)
    found = {a: c for a in assemblies if (c := canonical_contig(name, a)) is not None}
    if not found:
        within = f" of {assembly_id}" if assembly_id else ""
        raise InvalidParameter("referenceName", f"{name!r} is not a chromosome{within} (use 1..22, X, Y, MT, "
                                                "chr1 or a RefSeq accession)")
    return found


def _bases(name: str, value: str) -> str:
    upper = value.strip().upper()
    if upper in ("", "-", "."):
        return ""
    if _BASES.fullmatch(upper) or _SYMBOLIC.fullmatch(upper):
        return upper
    raise InvalidParameter(name, f"{value!r} is not bases (A, C, G, T, N) nor <DEL>, <DUP>, <INV>, <CNV>, <INS>")


def _assembly(value: str | None) -> str | None:
    if value is None:
        return None
    for known in ASSEMBLIES:
        if value.strip().lower() in (known.lower(), {"GRCh37": "hg19", "GRCh38": "hg38"}[known]):
            return known
    raise InvalidParameter("assemblyId", f"{value!r} is not one of {', '.join(ASSEMBLIES)}")


def _length_bounds(params: dict[str, object]) -> tuple[int | None, int | None]:
    low = params.get("variantMinLength")
    high = params.get("variantMaxLength")
    if isinstance(low, int) and low < 0:
        raise InvalidParameter("variantMinLength", "must be 0 or more")
    if isinstance(high, int) and high < 0:
        raise InvalidParameter("variantMaxLength", "must be 0 or more")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise InvalidParameter("variantMinLength", f"{low} is more than variantMaxLength {high}")
    return (low if isinstance(low, int) else None), (high if isinstance(high, int) else None)


def _types(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    try:
        return VARIANT_TYPES[value.strip().upper()]
    except KeyError:
        raise InvalidParameter("variantType", f"{value!r} is not one of {', '.join(sorted(VARIANT_TYPES))}") from None


def _in_contig(chroms: dict[str, str], positions: list[int], field: str) -> dict[str, str]:
    """The assemblies (of those asked, or all when no assemblyId was given) whose chromosome holds every
    position: a position past the end of GRCh37's chromosome but within GRCh38's asks about GRCh38 only.
    InvalidParameter when a position is negative, or past the end in every assembly."""
    for value in positions:
        if value < 0:
            raise InvalidParameter(field, f"{value} is negative (coordinates are 0-based)")
    holding = {a: c for a, c in chroms.items() if all(v <= contig_length(c, a) for v in positions)}
    if not holding:
        assembly, chrom = max(chroms.items(), key=lambda item: contig_length(item[1], item[0]))
        raise InvalidParameter(field, f"{max(positions)} is beyond the end of chromosome {chrom} "
                                      f"({contig_length(chrom, assembly):,} bases in {assembly})")
    return holding


def parse_variant_query(params: dict[str, object],
                        fetcher: Callable[[dict[str, str]], Callable[[int, int], str] | None] | None = None,
                        ) -> VariantQuery | None:
    """Validate g_variants parameters into a query, or None when no variant parameter was given.

    `fetcher` gives a reference fetch for the query's chromosome (per assembly) when the operator configured
    one: sequence-query indels are then left-aligned as ingest left-aligns them.
    """
    assembly_id = _assembly(given if isinstance(given := params.get("assemblyId"), str) else None)
    if "mateName" in params:
        raise UnsupportedParameter("mateName", "is not supported by this Beacon")
    amino_acid = _amino_acid(params.get("aminoacidChange"))
    min_length, max_length = _length_bounds(params)
    types = _types(given if isinstance(given := params.get("variantType"), str) else None)
    allele = params.get("genomicAlleleShortForm")
    if isinstance(allele, str):
        params = _from_hgvs(allele, params)
    gene = params.get("geneId")
    name = params.get("referenceName")
    if not isinstance(name, str):
        for needed in ("start", "end", "referenceBases", "alternateBases"):
            if needed in params:
                raise InvalidParameter("referenceName", f"is needed with {needed}")
        if isinstance(gene, str) or amino_acid is not None:
            template = VariantSearch("", variant_types=types, min_length=min_length, max_length=max_length,
                                     amino_acid=amino_acid)
            return VariantQuery(None, {}, template, gene=gene if isinstance(gene, str) else None,
                                shape="gene" if isinstance(gene, str) else "protein", amino_acid=amino_acid)
        if types or min_length is not None or max_length is not None:
            raise InvalidParameter("referenceName", "is needed with variantType or variant lengths")
        return None
    if isinstance(gene, str):
        raise InvalidParameter("geneId", "cannot be combined with referenceName (the gene gives the region)")
    chroms = _chroms(name, assembly_id)
    starts = list(params.get("start") or [])  # type: ignore[call-overload]
    ends = list(params.get("end") or [])  # type: ignore[call-overload]
    ref = _bases("referenceBases", params["referenceBases"]) if "referenceBases" in params else None  # type: ignore[arg-type]
    alt = _bases("alternateBases", params["alternateBases"]) if "alternateBases" in params else None  # type: ignore[arg-type]
    if not starts:
        raise InvalidParameter("start", "is needed with referenceName")
    if len(starts) > 2 or len(ends) > 2:
        raise InvalidParameter("start" if len(starts) > 2 else "end", "takes one or two values")
    chroms = _in_contig(chroms, starts + ends, "start")
    chrom = next(iter(chroms.values()))
    common = {"variant_types": types, "min_length": min_length, "max_length": max_length, "amino_acid": amino_acid}
    if len(starts) == 2 or len(ends) == 2:
        if len(starts) != 2 or len(ends) != 2:
            raise InvalidParameter("end", "a bracket query gives two starts and two ends")
        if starts[0] > starts[1]:
            raise InvalidParameter("start", f"the bracket's first start {starts[0]} is after its second {starts[1]}")
        if ends[0] > ends[1]:
            raise InvalidParameter("end", f"the bracket's first end {ends[0]} is after its second {ends[1]}")
        if starts[0] > ends[1]:
            raise InvalidParameter("start", f"{starts[0]} is after the largest end {ends[1]}")
        search = VariantSearch(chrom, pos_min=starts[0] + 1, pos_max=starts[1] + 1, end_min=ends[0],
                               end_max=ends[1], ref=ref or None, alt=alt or None, **common)  # type: ignore[arg-type]
        return VariantQuery(name, chroms, search, shape="bracket")
    start = starts[0]
    if ends:
        end = ends[0]
        if start > end:
            raise InvalidParameter("start", f"{start} is after end {end}")
        if end == start:
            raise InvalidParameter("end", f"{end} equals start: a half-open range [start, end) must not be empty")
        if ref is None:
            search = VariantSearch(chrom, overlap=(start + 1, end), alt=alt or None, **common)  # type: ignore[arg-type]
            return VariantQuery(name, chroms, search, shape="range")
    if ref is None or alt is None:
        raise InvalidParameter("alternateBases" if ref is not None else "referenceBases",
                               "a sequence query needs start, referenceBases and alternateBases "
                               "(or give end for a range query)")
    if not ref:
        raise InvalidParameter("referenceBases", "is empty: give the base before an insertion, as in VCF")
    pos = start + 1
    if alt.startswith("<"):
        search = VariantSearch(chrom, pos_min=pos, pos_max=pos, ref=ref, alt=alt, **common)  # type: ignore[arg-type]
        return VariantQuery(name, chroms, search)
    if not alt:
        raise InvalidParameter("alternateBases", "is empty: give the padding base of a deletion, as in VCF")
    if "N" not in ref and "N" not in alt:
        pos, ref, alt = normalise(pos, ref, alt, fetcher(chroms) if fetcher else None)
    search = VariantSearch(chrom, pos_min=pos, pos_max=pos, ref=ref, alt=alt, **common)  # type: ignore[arg-type]
    return VariantQuery(name, chroms, search)


def _amino_acid(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    change = protein_change(value)
    if change is None:
        raise InvalidParameter("aminoacidChange", f"{value[:40]!r} is not a protein change (one-letter, e.g. V600E "
                                                  "or R97*; or HGVS, e.g. p.Val600Glu)")
    return change


def _from_hgvs(allele: str, params: dict[str, object]) -> dict[str, object]:
    match = _HGVS_SNV.match(allele.strip())
    if match is None:
        raise UnsupportedParameter("genomicAlleleShortForm",
                                   f"{allele!r}: only substitutions like NC_000017.11:g.7674220C>T are supported")
    clash = {"referenceName", "start", "referenceBases", "alternateBases"} & params.keys()
    if clash:
        raise InvalidParameter("genomicAlleleShortForm", f"cannot be combined with {', '.join(sorted(clash))}")
    return {**params, "referenceName": match["acc"], "start": [int(match["pos"]) - 1],
            "referenceBases": match["ref"].upper(), "alternateBases": match["alt"].upper()}


def search_for(query: VariantQuery, chrom: str, start: int | None = None, end: int | None = None) -> VariantSearch:
    """The query's search on another chromosome name or, for gene queries, over a gene's 1-based extent."""
    assert query.search is not None
    if query.shape == "gene":
        assert start is not None and end is not None
        return replace(query.search, chrom=chrom, overlap=(start, end), gene=gene_key(query.gene or ""),
                       gene_region=True)
    return query.search if chrom == query.search.chrom else replace(query.search, chrom=chrom)
