"""Stable accessions (GGD000001, GGO000001, ...) handed out from a counter row per prefix."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from catalogue.models import IdCounter

__all__ = ["DAC", "DATASET", "FILE", "ORGANISATION", "next_accession"]

DATASET, ORGANISATION, DAC, FILE = "GGD", "GGO", "GGC", "GGF"


def next_accession(session: Session, prefix: str) -> str:
    """The next accession with `prefix`; the counter row is locked until the caller's transaction ends."""
    statement = (
        update(IdCounter).where(IdCounter.prefix == prefix)  # type: ignore[arg-type]
        .values(value=IdCounter.value + 1).returning(col(IdCounter.value))
    )
    value = session.execute(statement).scalar_one_or_none()
    if value is None:  # a prefix added after the migration that seeded the others
        session.add(IdCounter(prefix=prefix, value=1))
        session.flush()
        value = 1
    return f"{prefix}{value:06d}"
