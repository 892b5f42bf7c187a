"""A dataset held here whose access a DAC at another node decides: set and clear it (stewards, operators)."""

from __future__ import annotations

from sqlmodel import Session

from access import audit
from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import RemoteDac, RemoteDacSet, SecurityLevel
from catalogue.services.datasets import get_dataset, get_dataset_for_update
from catalogue.services.remote_dacs import drop_remote_dac, put_remote_dac, remote_dac

__all__ = ["clear_remote_dac", "get_remote_dac", "set_remote_dac"]


def set_remote_dac(session: Session, caller: Caller, dataset_id: str, data: RemoteDacSet) -> RemoteDac:
    """Name the DAC at another node that decides access to a CONTROLLED dataset held here (its organisation's
    stewards, admins). From then on its visas are accepted for this dataset only from that DAC's issuer and jku,
    and access requests for it are made at that node, not here."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    if dataset.security != SecurityLevel.CONTROLLED:
        raise InvalidInput(f"dataset {dataset.id} is {dataset.security}: only a CONTROLLED dataset has a DAC",
                           field="dataset_id")
    row = put_remote_dac(session, dataset, data, set_by=caller.subject or "operator")
    audit.append(session, actor=row.set_by, action="dataset.remote_dac.set", dataset_id=dataset.id,
                 details={"node_url": row.node_url, "dac_id": row.dac_id, "visa_issuer": row.visa_issuer,
                          "jku": row.jku})
    session.commit()
    return row


def clear_remote_dac(session: Session, caller: Caller, dataset_id: str) -> None:
    """The dataset's access is decided here again (by its own DAC); the remote DAC's visas stop granting it."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    if not drop_remote_dac(session, dataset.id):
        raise NotFound(f"dataset {dataset.id} names no DAC at another node", field="dataset_id")
    audit.append(session, actor=caller.subject or "operator", action="dataset.remote_dac.clear", dataset_id=dataset.id)
    session.commit()


def get_remote_dac(session: Session, caller: Caller, dataset_id: str) -> RemoteDac:
    """The remote DAC of a dataset the caller may see (NotFound when it has none)."""
    dataset = get_dataset(session, caller, dataset_id)
    row = remote_dac(session, dataset.id)
    if row is None:
        raise NotFound(f"dataset {dataset.id} names no DAC at another node", field="dataset_id")
    return row
