"""The public reference panel's allele frequencies, replaced as a whole per assembly when a panel is loaded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session, col

from catalogue.frequencies import lower_bounds
from catalogue.identity import Caller
from catalogue.models import Assembly, ReferenceAllele, ReferenceSpan
from catalogue.services.roles import require_admin

__all__ = ["panel_summary", "replace_reference_alleles"]

_BATCH = 20_000


def replace_reference_alleles(session: Session, caller: Caller, assembly: Assembly,
                              batches: Iterable[list[Mapping[str, Any]]]) -> int:
    """Replace the assembly's panel with the alleles of `batches` in one transaction (admins and the operator).

    Each allele is a mapping with chrom, pos, ref, alt, end, variant_type, length, ac and an; its frequency's
    lower bound is computed here. Alleles stated twice (the same normalised key) have their counts summed.
    """
    require_admin(caller)
    table = ReferenceAllele.__table__  # type: ignore[attr-defined]
    session.execute(delete(ReferenceAllele).where(col(ReferenceAllele.assembly) == assembly.value))
    session.execute(delete(ReferenceSpan).where(col(ReferenceSpan.assembly) == assembly.value))
    spans: dict[str, int] = {}
    count = 0
    for batch in batches:
        merged: dict[tuple[str, int, str, str], dict[str, Any]] = {}
        for row in batch:
            key = (row["chrom"], int(row["pos"]), row["ref"], row["alt"])
            seen = merged.get(key)
            if seen is None:
                merged[key] = {**{k: row[k] for k in ("chrom", "pos", "ref", "alt", "end", "variant_type",
                                                      "length", "ac", "an")}, "assembly": assembly.value}
            else:
                seen["ac"] += row["ac"]
                seen["an"] = max(seen["an"], row["an"])
        rows = list(merged.values())
        bounds = lower_bounds([r["ac"] for r in rows], [r["an"] for r in rows])
        for row, bound in zip(rows, bounds.tolist(), strict=True):
            row["af_lower"] = bound
            spans[row["chrom"]] = max(spans.get(row["chrom"], 0), int(row["end"]) - int(row["pos"]))
        for start in range(0, len(rows), _BATCH):
            session.execute(insert(table), rows[start:start + _BATCH])
        count += len(rows)
    session.add_all(ReferenceSpan(assembly=assembly.value, chrom=c, max_span=n) for c, n in spans.items())
    session.commit()
    return count


def panel_summary(session: Session) -> dict[str, int]:
    """How many reference alleles each assembly's panel holds."""
    rows = session.execute(select(ReferenceAllele.assembly, func.count())  # type: ignore[call-overload]
                           .group_by(ReferenceAllele.assembly)).all()
    return {assembly: int(n) for assembly, n in rows}
