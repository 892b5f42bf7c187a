"""Datasets: register, update, publish, retire, read; who may see and change each one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from catalogue.accessions import DATASET, next_accession
from catalogue.duo import validate_conditions
from catalogue.errors import Conflict, Forbidden, InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import (
    Dataset,
    DatasetCondition,
    DatasetCreate,
    DatasetFile,
    DatasetFilePublic,
    DatasetPublic,
    DatasetStatus,
    DatasetUpdate,
    Organisation,
    Sample,
    SecurityLevel,
    utcnow,
)
from catalogue.services.registry import get_dac, get_organisation
from catalogue.services.roles import require_authenticated

__all__ = [
    "can_see", "create_dataset", "dataset_files", "datasets_of_dacs", "dataset_public", "dataset_samples",
    "get_dataset",
    "get_dataset_for_update", "public_catalogue", "publish_dataset", "retire_dataset", "update_dataset",
]


def can_see(caller: Caller, dataset: Dataset) -> bool:
    """Published and retired metadata is public; a draft only to its organisation's stewards and admins."""
    return dataset.status != DatasetStatus.draft or caller.stewards(dataset.organisation_id)


def get_dataset(session: Session, caller: Caller, dataset_id: str) -> Dataset:
    """The dataset, or NotFound when it does not exist or the caller may not know of it."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not can_see(caller, dataset):
        raise NotFound(f"dataset {dataset_id} does not exist", field="dataset_id")
    return dataset


def get_dataset_for_update(session: Session, caller: Caller, dataset_id: str) -> Dataset:
    """The dataset, if the caller stewards its organisation (Forbidden otherwise)."""
    require_authenticated(caller)
    dataset = get_dataset(session, caller, dataset_id)
    if not caller.stewards(dataset.organisation_id):
        raise Forbidden(f"only stewards of {dataset.organisation_id} may change dataset {dataset_id}")
    return dataset


def _check_rules(session: Session, security: SecurityLevel, dac_id: str | None,
                 duo: list[str], diseases: list[str]) -> list[str]:
    if dac_id is not None:
        get_dac(session, dac_id)
    if security is SecurityLevel.CONTROLLED and dac_id is None:
        raise InvalidInput("a CONTROLLED dataset needs a data access committee (dac_id)", field="dac_id")
    return validate_conditions(duo, diseases)


def _set_conditions(session: Session, dataset: Dataset) -> None:
    session.execute(delete(DatasetCondition).where(col(DatasetCondition.dataset_id) == dataset.id))
    session.add_all(DatasetCondition(dataset_id=dataset.id, term=t) for t in dataset.duo)


def create_dataset(session: Session, caller: Caller, data: DatasetCreate) -> Dataset:
    """Register a draft dataset for an organisation the caller stewards; its accession is assigned."""
    require_authenticated(caller)
    get_organisation(session, data.organisation_id)
    if not caller.stewards(data.organisation_id):
        raise Forbidden(f"only stewards of {data.organisation_id} may register its datasets")
    duo = _check_rules(session, data.security, data.dac_id, data.duo, data.disease_terms)
    clash = session.exec(select(Dataset.id).where(
        Dataset.organisation_id == data.organisation_id, Dataset.title == data.title)).first()
    if clash:
        raise Conflict(f"{data.organisation_id} already has a dataset titled {data.title!r} ({clash})",
                       field="title")
    dataset = Dataset(id=next_accession(session, DATASET),
                      **data.model_dump(exclude={"duo", "contact_email"}),
                      contact_email=str(data.contact_email) if data.contact_email else None, duo=duo)
    session.add(dataset)
    session.flush()
    _set_conditions(session, dataset)
    session.commit()
    return dataset


def update_dataset(session: Session, caller: Caller, dataset_id: str, data: DatasetUpdate) -> Dataset:
    """Change a dataset's metadata; a change to a published dataset raises its version."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    if dataset.status == DatasetStatus.retired:
        raise Conflict(f"dataset {dataset_id} is retired; its record can no longer change")
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    security = SecurityLevel(changes.get("security", dataset.security))
    dac_id = changes.get("dac_id", dataset.dac_id)
    duo = _check_rules(session, security, dac_id, changes.get("duo", dataset.duo),
                       changes.get("disease_terms", dataset.disease_terms))
    changes["duo"] = duo
    if "contact_email" in changes and changes["contact_email"] is not None:
        changes["contact_email"] = str(changes["contact_email"])
    for name, value in changes.items():
        setattr(dataset, name, value)
    if dataset.status == DatasetStatus.published:
        dataset.version += 1
    dataset.updated_at = utcnow()
    session.add(dataset)
    _set_conditions(session, dataset)
    session.commit()
    return dataset


def publish_dataset(session: Session, caller: Caller, dataset_id: str) -> Dataset:
    """Make a draft's metadata public in the catalogue."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    if dataset.status != DatasetStatus.draft:
        raise Conflict(f"dataset {dataset_id} is {dataset.status}; only a draft can be published")
    if dataset.security == SecurityLevel.CONTROLLED and not dataset.dua_text:
        raise InvalidInput("a CONTROLLED dataset needs its data access agreement text before publishing",
                           field="dua_text")
    dataset.status = DatasetStatus.published
    dataset.published_at = dataset.updated_at = utcnow()
    session.add(dataset)
    session.commit()
    return dataset


def retire_dataset(session: Session, caller: Caller, dataset_id: str) -> Dataset:
    """Withdraw a dataset: its record stays resolvable (status retired), it leaves search results."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    if dataset.status == DatasetStatus.retired:
        raise Conflict(f"dataset {dataset_id} is already retired")
    dataset.status = DatasetStatus.retired
    dataset.updated_at = utcnow()
    session.add(dataset)
    session.commit()
    return dataset


def datasets_of_dacs(session: Session, dac_ids: Iterable[str]) -> list[str]:
    """Ids of the datasets that the given DACs govern."""
    ids = list(dac_ids)
    if not ids:
        return []
    return list(session.exec(select(Dataset.id).where(col(Dataset.dac_id).in_(ids)).order_by(col(Dataset.id))).all())


def dataset_files(session: Session, dataset_id: str) -> list[DatasetFile]:
    return list(session.exec(
        select(DatasetFile).where(DatasetFile.dataset_id == dataset_id).order_by(col(DatasetFile.id))).all())


def dataset_samples(session: Session, caller: Caller, dataset_id: str) -> list[Sample]:
    """Sample metadata of a dataset: stewards only (individual-level data is not public metadata)."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    return list(session.exec(
        select(Sample).where(Sample.dataset_id == dataset.id).order_by(col(Sample.sample_id))).all())


def dataset_public(dataset: Dataset, files: list[DatasetFile], base_url: str) -> DatasetPublic:
    """The public record of a dataset, with its files' descriptions (never their storage paths)."""
    return DatasetPublic.model_validate(dataset, update={
        "files": [DatasetFilePublic.model_validate(f, update={"has_index": f.index_uri is not None})
                  for f in files],
        "url": f"{base_url}/api/datasets/{dataset.id}",
    })


def public_catalogue(session: Session) -> list[tuple[Dataset, list[DatasetFile], Organisation]]:
    """Every published dataset with its files and organisation, in accession order (for harvesting)."""
    rows = session.exec(select(Dataset, Organisation)
                        .join(Organisation, col(Organisation.id) == col(Dataset.organisation_id))
                        .where(Dataset.status == DatasetStatus.published.value).order_by(col(Dataset.id))).all()
    files: dict[str, list[DatasetFile]] = {}
    for f in session.exec(select(DatasetFile).order_by(col(DatasetFile.id))).all():
        files.setdefault(f.dataset_id, []).append(f)
    return [(d, files.get(d.id, []), o) for d, o in rows]
