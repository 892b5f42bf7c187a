"""The normal form of the variant index's keys: allele validation, trimming, left-alignment, variant classes.

Ingest normalises records with it and the Beacon normalises queries with it, so both meet in one form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from catalogue.errors import InvalidInput

__all__ = [
    "InvalidAllele",
    "AlleleKind",
    "VariantType",
    "allele_kind",
    "classify",
    "skip_kind",
    "is_bases",
    "left_align",
    "normalise",
    "trim",
]


class InvalidAllele(InvalidInput):
    """An allele string is not bases (A, C, G, T, N) nor a symbolic `<...>` allele. Correct the allele."""


_BASES = re.compile(r"[ACGTN]+")
_SYMBOLIC = re.compile(r"<[A-Za-z0-9_:.*-]+>")
_SV_TYPES = {"DEL", "DUP", "INV", "CNV", "INS"}

# Bases fetched per step when left-aligning; long repeats fetch again.
_CHUNK = 64


class VariantType(StrEnum):
    """The variant classes a row can have; symbolic alleles map onto DEL, DUP, INV, CNV or INS."""

    SNV = "SNV"
    MNV = "MNV"
    INS = "INS"
    DEL = "DEL"
    INDEL = "INDEL"
    DUP = "DUP"
    INV = "INV"
    CNV = "CNV"


class AlleleKind(StrEnum):
    """How the reader treats an ALT allele: sequence and symbolic are kept, skip is counted."""

    SEQUENCE = "sequence"
    SYMBOLIC = "symbolic"
    SKIP = "skip"


def is_bases(allele: str) -> bool:
    """True when the allele is a non-empty string of A, C, G, T, N (upper case)."""
    return _BASES.fullmatch(allele) is not None


def allele_kind(allele: str) -> AlleleKind:
    """Classify an ALT allele string, raising InvalidAllele for anything that is neither bases nor a known form.

    Spanning deletions (`*`), breakends (`A[1:5[`, `.A`), missing ALTs (`.`), gVCF reference blocks (`<*>`,
    `<NON_REF>`) and symbolic alleles other than <DEL>, <DUP>, <INV>, <CNV>, <INS> (`<CGA_CNVWIN>`, `<*:DEL>`)
    are SKIP: the reader counts them per kind (`skip_kind`) instead of failing.
    """
    if _BASES.fullmatch(allele):
        return AlleleKind.SEQUENCE
    if allele in ("*", ".", "<*>", "<NON_REF>", "<X>"):
        return AlleleKind.SKIP
    if _SYMBOLIC.fullmatch(allele):
        if allele[1:-1].split(":", 1)[0].upper() in _SV_TYPES:
            return AlleleKind.SYMBOLIC
        return AlleleKind.SKIP
    if "[" in allele or "]" in allele or (len(allele) > 1 and (allele[0] == "." or allele[-1] == ".")):
        return AlleleKind.SKIP
    raise InvalidAllele(f"ALT {allele!r} has bases other than A,C,G,T,N")


def skip_kind(allele: str) -> str:
    """The kind a SKIP allele is counted under: "spanning deletion", "missing", "gVCF reference block",
    "breakend", or the symbolic allele itself (`<CGA_CNVWIN>`), which no variant class represents."""
    if allele == "*":
        return "spanning deletion"
    if allele == ".":
        return "missing"
    if allele in ("<*>", "<NON_REF>", "<X>"):
        return "gVCF reference block"
    if allele.startswith("<"):
        return allele
    return "breakend"


def trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal representation: strip the common suffix, then the common prefix, keeping one base each.

    Indels keep their left padding base, as in VCF. `pos` is the 1-based position of `ref`.
    """
    end = 0
    limit = min(len(ref), len(alt)) - 1
    while end < limit and ref[-1 - end] == alt[-1 - end]:
        end += 1
    if end:
        ref, alt = ref[:-end], alt[:-end]
    start = 0
    limit = min(len(ref), len(alt)) - 1
    while start < limit and ref[start] == alt[start]:
        start += 1
    if start:
        ref, alt, pos = ref[start:], alt[start:], pos + start
    return pos, ref, alt


def left_align(pos: int, ref: str, alt: str, fetch: Callable[[int, int], str]) -> tuple[int, str, str]:
    """Shift an indel to its leftmost equivalent position, as `bcftools norm -f` does, then trim.

    `fetch(start, end)` returns reference bases for the 0-based half-open interval. Substitutions are
    only trimmed. The allele never moves before position 1.
    """
    pos, ref, alt = trim(pos, ref, alt)
    if len(ref) == len(alt):
        return pos, ref, alt
    # Work on the alleles without the shared padding base; a repeat unit then rolls leftwards
    # one base at a time while the base before it equals the unit's last base.
    if ref[0] != alt[0]:
        return pos, ref, alt
    ref_body, alt_body = ref[1:], alt[1:]
    body = ref_body or alt_body
    start = pos  # 0-based start of body == 1-based position of the padding base
    window = ""
    window_start = start
    while start > 1:
        if start - 1 < window_start or not window:
            window_start = max(0, start - _CHUNK)
            window = fetch(window_start, start).upper()
        before = window[start - 1 - window_start]
        if before != body[-1]:
            break
        body = before + body[:-1]
        start -= 1
    if start == pos:
        return pos, ref, alt
    padding = fetch(start - 1, start).upper()
    if ref_body:
        return start, padding + body, padding
    return start, padding, padding + body


def normalise(
    pos: int, ref: str, alt: str, fetch: Callable[[int, int], str] | None = None
) -> tuple[int, str, str]:
    """Trim, and left-align too when a reference `fetch` is given."""
    if fetch is None:
        return trim(pos, ref, alt)
    return left_align(pos, ref, alt, fetch)


def classify(
    pos: int,
    ref: str,
    alt: str,
    *,
    end: int | None = None,
    svlen: int | None = None,
) -> tuple[VariantType, int, int]:
    """Return (variant type, length, 1-based inclusive end) of a trimmed allele pair.

    Length is 1 for an SNV, the allele length for an MNV, the size change for indels and the
    SVLEN (else END - POS) for symbolic alleles; symbolic alleles end at END (else POS + length).
    """
    if alt.startswith("<"):
        kind = alt[1:-1].split(":", 1)[0].upper()
        if kind not in _SV_TYPES:
            raise InvalidAllele(f"symbolic allele {alt!r} is not one of <DEL>, <DUP>, <INV>, <CNV>, <INS>")
        if svlen is not None:
            length = abs(svlen)
        elif end is not None:
            length = max(end - pos, 0)
        else:
            length = 0
        if end is None:
            end = pos if kind == "INS" else pos + length
        return VariantType(kind), length, end
    seq_end = pos + len(ref) - 1
    if len(ref) == len(alt):
        return (VariantType.SNV, 1, seq_end) if len(ref) == 1 else (VariantType.MNV, len(ref), seq_end)
    change = abs(len(alt) - len(ref))
    if ref[0] == alt[0] and len(ref) == 1:
        return VariantType.INS, change, seq_end
    if ref[0] == alt[0] and len(alt) == 1:
        return VariantType.DEL, change, seq_end
    return VariantType.INDEL, change, seq_end
