"""Catalogue search: free text, filters, stable order, total count and facet counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ColumnElement, String, and_, cast, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from catalogue.duo import duo_term
from catalogue.errors import InvalidInput
from catalogue.identity import Caller
from catalogue.limits import MAX_TERMS
from catalogue.models import Assembly, Dataset, DatasetCondition, DatasetStatus, SecurityLevel

__all__ = ["DatasetQuery", "SearchResult", "listed_enums", "listed_values", "search_datasets"]

MAX_QUERY_WORDS = 20
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class DatasetQuery:
    q: str = ""
    assembly: Sequence[Assembly] = ()
    security: Sequence[SecurityLevel] = ()
    duo: Sequence[str] = ()
    organisation: Sequence[str] = ()
    status: Sequence[DatasetStatus] = ()
    limit: int = 20
    offset: int = 0


@dataclass(slots=True)
class SearchResult:
    datasets: list[Dataset]
    count: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def listed_values(values: Sequence[str] | None, field: str) -> list[str]:
    """A query parameter's values, repeated or comma-joined, at most MAX_TERMS of them (InvalidInput otherwise)."""
    terms = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"{field} has {len(terms):,} values; give at most {MAX_TERMS}", field=field)
    return terms


def listed_enums(enum: type[E], values: Sequence[str] | None, field: str) -> list[E]:
    """As listed_values, each one a member of `enum`."""
    try:
        return [enum(v) for v in listed_values(values, field)]
    except ValueError:
        raise InvalidInput(f"{field} must be one of {', '.join(e.value for e in enum)}", field=field) from None


def _visible(caller: Caller, statuses: Sequence[DatasetStatus]) -> object:
    wanted = list(statuses) or [DatasetStatus.published, DatasetStatus.draft]
    public = [s.value for s in wanted if s != DatasetStatus.draft]
    clauses: list[ColumnElement[bool]] = [col(Dataset.status).in_(public)] if public else []
    if DatasetStatus.draft in wanted:
        if caller.is_admin:
            clauses.append(col(Dataset.status) == DatasetStatus.draft.value)
        elif caller.roles.steward_of:
            clauses.append(and_(col(Dataset.status) == DatasetStatus.draft.value,
                                col(Dataset.organisation_id).in_(caller.roles.steward_of)))
    return or_(*clauses) if clauses else col(Dataset.id).is_(None)


def _filtered(caller: Caller, query: DatasetQuery) -> SelectOfScalar[str]:
    ids = select(Dataset.id).where(_visible(caller, query.status))  # type: ignore[arg-type]
    words = query.q.lower().split()
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"the search text has more than {MAX_QUERY_WORDS} words", field="q")
    haystack = (func.lower(Dataset.title) + " " + func.lower(Dataset.description) + " "
                + func.lower(cast(Dataset.keywords, String)) + " " + func.lower(Dataset.id))
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        ids = ids.where(haystack.like(f"%{escaped}%", escape="\\"))
    if query.assembly:
        ids = ids.where(col(Dataset.assembly).in_([a.value for a in query.assembly]))
    if query.security:
        ids = ids.where(col(Dataset.security).in_([s.value for s in query.security]))
    if query.organisation:
        ids = ids.where(col(Dataset.organisation_id).in_(list(query.organisation)))
    for term in query.duo:
        curie = duo_term(term).id
        ids = ids.where(col(Dataset.id).in_(
            select(DatasetCondition.dataset_id).where(DatasetCondition.term == curie)))
    return ids


def search_datasets(session: Session, caller: Caller, query: DatasetQuery) -> SearchResult:
    """Datasets the caller may see that match `query`, ordered by accession, with facet counts."""
    ids = _filtered(caller, query).subquery()
    in_result = col(Dataset.id).in_(select(ids.c.id))
    count = session.exec(select(func.count()).select_from(ids)).one()
    page = session.exec(select(Dataset).where(in_result).order_by(col(Dataset.id))
                        .limit(query.limit).offset(query.offset)).all()
    facets: dict[str, dict[str, int]] = {}
    for name, column in (("assembly", Dataset.assembly), ("security", Dataset.security),
                         ("organisation", Dataset.organisation_id)):
        rows = session.exec(select(column, func.count()).where(in_result).group_by(column)).all()
        facets[name] = {str(value): n for value, n in sorted(rows, key=lambda r: str(r[0]))}
    duo_rows = session.exec(
        select(DatasetCondition.term, func.count())
        .where(col(DatasetCondition.dataset_id).in_(select(ids.c.id)))
        .group_by(DatasetCondition.term)).all()
    facets["duo"] = {term: n for term, n in sorted(duo_rows)}
    return SearchResult(datasets=list(page), count=count, facets=facets)
