"""The gene table: gene extents per assembly, replaced as a whole when an annotation is loaded."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, col

from catalogue.identity import Caller
from catalogue.models import Assembly, Gene
from catalogue.services.roles import require_admin

__all__ = ["replace_genes"]


def replace_genes(session: Session, caller: Caller, assembly: Assembly, genes: Iterable[Gene]) -> int:
    """Replace the assembly's genes with `genes` in one transaction (admins and the operator)."""
    require_admin(caller)
    session.execute(delete(Gene).where(col(Gene.assembly) == assembly.value))
    count = 0
    seen: set[str] = set()
    for gene in genes:
        if gene.symbol in seen:  # a symbol on several contigs (PAR genes): keep the first extent
            continue
        seen.add(gene.symbol)
        session.add(gene)
        count += 1
    session.commit()
    return count
