"""Datasets held here whose access a DAC at another node decides: the DAC, its node and its visa issuer."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from catalogue.models import Dataset, RemoteDac, RemoteDacPublic, RemoteDacSet, utcnow

__all__ = ["drop_remote_dac", "put_remote_dac", "remote_dac", "remote_dac_public", "remote_dacs"]


def remote_dac(session: Session, dataset_id: str) -> RemoteDac | None:
    """The remote DAC that decides access to the dataset, if one does."""
    return session.get(RemoteDac, dataset_id)


def remote_dacs(session: Session) -> dict[str, RemoteDac]:
    """Every dataset with a remote DAC, by dataset id (a small table: one row per such dataset)."""
    return {r.dataset_id: r for r in session.exec(select(RemoteDac).order_by(col(RemoteDac.dataset_id))).all()}


def put_remote_dac(session: Session, dataset: Dataset, data: RemoteDacSet, *, set_by: str) -> RemoteDac:
    """Record (or replace) the dataset's remote DAC, in the caller's transaction; the issuer and jku default to
    the DAC node's own."""
    row = session.get(RemoteDac, dataset.id) or RemoteDac(dataset_id=dataset.id, node_url="", dac_id="",
                                                          visa_issuer="", jku="", set_by=set_by)
    row.node_url, row.dac_id = data.node_url, data.dac_id
    row.visa_issuer = data.visa_issuer or data.node_url
    row.jku = data.jku or f"{data.node_url}/.well-known/jwks.json"
    row.set_by, row.set_at = set_by, utcnow()
    session.add(row)
    session.flush()
    return row


def drop_remote_dac(session: Session, dataset_id: str) -> bool:
    """Forget the dataset's remote DAC (in the caller's transaction); whether there was one."""
    gone = session.execute(delete(RemoteDac).where(col(RemoteDac.dataset_id) == dataset_id)).rowcount  # type: ignore[attr-defined]
    return bool(gone)


def remote_dac_public(row: RemoteDac) -> RemoteDacPublic:
    return RemoteDacPublic.model_validate(row, update={"dac_url": row.dac_url})
