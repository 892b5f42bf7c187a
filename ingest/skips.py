"""What an ingestion skipped, per kind, in the words its warnings give."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["skip_warnings"]

# Kinds skipped as a matter of course (their information is elsewhere in the file, or nowhere): counted, no warning.
_ROUTINE = {"spanning deletion", "missing", "gVCF reference block", "breakend"}


def skip_warnings(skipped: Mapping[str, int]) -> list[str]:
    """One warning per kind of skipped data that loses something the person may want: records on hg19's
    chrM, and symbolic alleles no variant class represents. `skipped` maps a kind to its count."""
    warnings = []
    chrm = skipped.get("hg19 chrM", 0)
    if chrm:
        warnings.append(f"{chrm:,} record(s) on chrM skipped: hg19's mitochondrion (16,571 bp) is not GRCh37's MT "
                        "(rCRS, 16,569 bp) and its positions differ; lift them over to the rCRS to keep them "
                        "(or declare the contig as MT, 16,569 bp, if they were called against the rCRS)")
    symbolic = {kind: n for kind, n in skipped.items() if kind.startswith("<") or kind == "other symbolic"}
    if symbolic:
        listed = ", ".join(f"{kind} ({n:,})" for kind, n in sorted(symbolic.items()))
        warnings.append(f"ALT alleles skipped that no variant class represents (only <DEL>, <DUP>, <INV>, <CNV>, "
                        f"<INS> are kept): {listed}")
    return warnings
