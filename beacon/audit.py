"""The audit of record-level Beacon answers: one line per dataset whose records a caller saw, then the commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import Session

from access import audit as access_audit
from beacon.answers import VariantAnswer, VariantRecord
from beacon.granularity import Granularity
from beacon.present import query_info
from catalogue.identity import Caller
from catalogue.sample_tags import sample_tag

__all__ = ["audit_records", "audit_variant_answer", "shown_samples", "tag_samples"]


def audit_records(session: Session, caller: Caller, lines: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Note each (dataset, details) whose records the caller saw (with the visa that allowed it), and commit."""
    if not lines or caller.subject is None:
        return
    for dataset_id, details in lines:
        access_audit.append(session, actor=caller.subject, action="beacon.record_query", dataset_id=dataset_id,
                            visa_jti=caller.visa_grants.get(dataset_id), details=details)
    session.commit()


def audit_variant_answer(session: Session, caller: Caller, answer: VariantAnswer, *, sample_key: str) -> None:
    """Audit each dataset of a variant answer that returned records: the query, how many records, and the tags of
    the samples whose genotypes they showed (keyed with `sample_key`, catalogue/sample_tags.py)."""
    if caller.subject is None:  # anonymous callers never see records
        return
    shown = [r for r in answer.results if r.listed and r.granularity is Granularity.RECORD]
    query = query_info(answer.plan)
    request = answer.request
    audit_records(session, caller, [
        (r.dataset.id, {"query": query, "records": len(r.records), "skip": request.skip, "limit": request.limit,
                        "samples": shown_samples(r.dataset.id, r.records, sample_key)})
        for r in shown])


def shown_samples(dataset_id: str, records: Sequence[VariantRecord], sample_key: str) -> list[str]:
    """The tags of the samples whose genotypes (case-level data) a page of records showed: their participants'
    pages find the line by them, and its proof names nobody else's sample."""
    return tag_samples(dataset_id, {c.sample_id for record in records for c in record.carriers}, sample_key)


def tag_samples(dataset_id: str, samples: Iterable[str], sample_key: str) -> list[str]:
    return sorted(sample_tag(sample_key, dataset_id, s) for s in samples)
