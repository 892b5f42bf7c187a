"""Figures about a dataset's variants that its stored statistics do not hold: the allele-frequency spectrum."""

from __future__ import annotations

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from catalogue.models import Variant

__all__ = ["allele_frequency_spectrum"]


def allele_frequency_spectrum(session: Session, dataset_id: str, *, bins: int = 10) -> list[int]:
    """How many of a dataset's alleles fall in each of `bins` equal allele-frequency bins (AC/AN), lowest first.

    Alleles without called genotypes (AN 0) are left out; a frequency of exactly 1 counts in the top bin.
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    # Integer division truncates on SQLite and PostgreSQL alike, so the bin is computed in the database.
    raw = (col(Variant.ac) * bins) / col(Variant.an)
    bin_ = case((raw >= bins, bins - 1), else_=raw)
    rows = session.exec(select(bin_, func.count()).where(Variant.dataset_id == dataset_id, col(Variant.an) > 0)
                        .group_by(bin_)).all()
    counts = [0] * bins
    for index, n in rows:
        counts[int(index)] += int(n)
    return counts
