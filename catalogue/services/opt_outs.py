"""Opt-outs of samples from secondary use (EHDS Art. 71): requests, their undo, and what is in effect.

A participant (through the participants layer, which maps them to sample ids) or an operator asks for a
sample of a dataset to be left out, or back in. Nothing changes at once: the scheduled job
(`ingest.opt_outs`, every `GENOMEGATE_OPT_OUT_APPLY_EVERY_SECONDS`) recounts each dataset with pending
changes without its opted-out samples and, in the transaction that publishes the recount, records the
samples it left out (`record_applied`). From then on:

- the Beacon's counts are the recount's, and its record-level answers and `individuals` leave those samples
  out (`excluded_now`);
- releases under an entitlement granted after the opt-out took effect leave them out, those under one granted
  before are unchanged (`excluded_for_release`).

The API, for the participants layer and operators (every function takes the session; the two requests
commit, the readers do not write):

    request_opt_out(session, dataset_id, sample_ids, *, at) -> None
    request_opt_in(session, dataset_id, sample_ids, *, at) -> None
        Ask for the samples to be left out / let back in. Idempotent: asking for what is already asked for
        (or in effect with nothing pending) records nothing. A request that undoes a still-pending one
        is recorded too (the history keeps both) and the job applies whichever is the latest.
        NotFound (field dataset_id / sample_ids) for an unknown dataset or sample; InvalidInput for more
        than MAX_SAMPLES_PER_REQUEST ids.
    opt_out_states(session, dataset_id, sample_ids) -> list[OptOutState]
        Per sample, in the order given: what was asked last, what is in effect and since when, whether a
        change is pending, and the full history (OptOutEvent: action, requested_at, applied_at).
    excluded_now(session, dataset_id) -> frozenset[str]
        The samples whose opt-out is in effect (the Beacon leaves them out).
    excluded_for_release(session, dataset_id, granted_at) -> frozenset[str]
        Of those, the samples whose opt-out took effect at or before `granted_at`: a release under an
        entitlement granted then leaves them out; one granted earlier is unaffected.

    requested_samples(session, dataset_id) -> list[str]
        The samples with any request (what `genomegate opt-outs status` lists).

For the job (ingest.opt_outs): `pending_datasets`, `wanted_exclusion` and `record_applied`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete
from sqlmodel import Session, col, select

from catalogue.errors import InvalidInput, NotFound
from catalogue.models import Dataset, Sample, SampleExclusion, SampleOptOut, as_utc

__all__ = [
    "MAX_SAMPLES_PER_REQUEST", "OptOutAction", "OptOutEvent", "OptOutState", "excluded_for_release",
    "excluded_now", "opt_out_states", "pending_datasets", "record_applied", "request_opt_in", "request_opt_out",
    "requested_samples", "wanted_exclusion",
]

MAX_SAMPLES_PER_REQUEST = 10_000


class OptOutAction(StrEnum):
    opt_out = "opt_out"
    opt_in = "opt_in"


@dataclass(frozen=True, slots=True)
class OptOutEvent:
    """One request of a sample's history; `applied_at` None while pending, or when overtaken before applied."""

    action: OptOutAction
    requested_at: datetime
    applied_at: datetime | None


@dataclass(frozen=True, slots=True)
class OptOutState:
    """Where a sample of a dataset stands.

    `opted_out`: the latest request is an opt-out (what the participant asked for). `in_effect`: the job has
    applied an opt-out and no undo since (counts and later releases leave the sample out), `since` when.
    `pending`: what was asked differs from what is in effect; the next run of the job applies it.
    `requested_at`/`applied_at`: of the latest request. `history`: every request, oldest first.
    """

    dataset_id: str
    sample_id: str
    opted_out: bool
    in_effect: bool
    pending: bool
    since: datetime | None
    requested_at: datetime | None
    applied_at: datetime | None
    history: tuple[OptOutEvent, ...]


def _check(session: Session, dataset_id: str, sample_ids: Sequence[str]) -> list[str]:
    if len(sample_ids) > MAX_SAMPLES_PER_REQUEST:
        raise InvalidInput(f"at most {MAX_SAMPLES_PER_REQUEST} samples per request", field="sample_ids")
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(f"dataset {dataset_id} does not exist", field="dataset_id")
    wanted = list(dict.fromkeys(sample_ids))
    known: set[str] = set()
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        known.update(session.exec(select(Sample.sample_id).where(
            Sample.dataset_id == dataset_id, col(Sample.sample_id).in_(part))).all())
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise NotFound(f"dataset {dataset_id} has no sample {unknown[0][:100]!r}"
                       + (f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""),
                       field="sample_ids")
    return wanted


def _events(session: Session, dataset_id: str, sample_ids: Sequence[str] | None = None,
            ) -> dict[str, list[SampleOptOut]]:
    query = select(SampleOptOut).where(SampleOptOut.dataset_id == dataset_id)
    if sample_ids is not None:
        query = query.where(col(SampleOptOut.sample_id).in_(list(sample_ids)))
    events: dict[str, list[SampleOptOut]] = {}
    for event in session.exec(query.order_by(col(SampleOptOut.id))).all():
        events.setdefault(event.sample_id, []).append(event)
    return events


def _in_effect(session: Session, dataset_id: str) -> dict[str, datetime]:
    return {row.sample_id: as_utc(row.since) for row in session.exec(
        select(SampleExclusion).where(SampleExclusion.dataset_id == dataset_id)).all()}


def _wants_out(events: list[SampleOptOut]) -> bool:
    return bool(events) and events[-1].action == OptOutAction.opt_out


def _request(session: Session, dataset_id: str, sample_ids: Sequence[str], action: OptOutAction,
             at: datetime) -> None:
    wanted = _check(session, dataset_id, sample_ids)
    history: dict[str, list[SampleOptOut]] = {}
    for start in range(0, len(wanted), 500):
        history.update(_events(session, dataset_id, wanted[start:start + 500]))
    out = action == OptOutAction.opt_out
    for sample_id in wanted:
        if _wants_out(history.get(sample_id, [])) == out:
            continue
        session.add(SampleOptOut(dataset_id=dataset_id, sample_id=sample_id, action=action.value,
                                 requested_at=at))
    session.commit()


def request_opt_out(session: Session, dataset_id: str, sample_ids: Sequence[str], *, at: datetime) -> None:
    """Ask for the samples to be left out of the dataset's secondary use from the job's next run (idempotent)."""
    _request(session, dataset_id, sample_ids, OptOutAction.opt_out, at)


def request_opt_in(session: Session, dataset_id: str, sample_ids: Sequence[str], *, at: datetime) -> None:
    """Undo an opt-out: the samples count again from the job's next run (idempotent; nothing to undo is fine)."""
    _request(session, dataset_id, sample_ids, OptOutAction.opt_in, at)


def opt_out_states(session: Session, dataset_id: str, sample_ids: Sequence[str]) -> list[OptOutState]:
    """Each sample's state, in the order given (NotFound for an unknown dataset or sample)."""
    wanted = _check(session, dataset_id, sample_ids)
    history: dict[str, list[SampleOptOut]] = {}
    for start in range(0, len(wanted), 500):
        history.update(_events(session, dataset_id, wanted[start:start + 500]))
    effect = _in_effect(session, dataset_id)
    states: list[OptOutState] = []
    for sample_id in wanted:
        events = history.get(sample_id, [])
        out = _wants_out(events)
        last = events[-1] if events else None
        states.append(OptOutState(
            dataset_id=dataset_id, sample_id=sample_id, opted_out=out, in_effect=sample_id in effect,
            pending=out != (sample_id in effect), since=effect.get(sample_id),
            requested_at=as_utc(last.requested_at) if last else None,
            applied_at=as_utc(last.applied_at) if last and last.applied_at else None,
            history=tuple(OptOutEvent(OptOutAction(e.action), as_utc(e.requested_at),
                                      as_utc(e.applied_at) if e.applied_at else None) for e in events)))
    return states


def requested_samples(session: Session, dataset_id: str) -> list[str]:
    """The dataset's samples with any opt-out or opt-in request, in id order."""
    return sorted(_events(session, dataset_id))


def excluded_now(session: Session, dataset_id: str) -> frozenset[str]:
    """The samples whose opt-out the job has applied and not undone: the Beacon leaves them out."""
    return frozenset(_in_effect(session, dataset_id))


def excluded_for_release(session: Session, dataset_id: str, granted_at: datetime) -> frozenset[str]:
    """The samples a release under an entitlement granted at `granted_at` leaves out: those whose opt-out is in
    effect and took effect at or before that time (permits issued before an opt-out are unaffected)."""
    granted = as_utc(granted_at)
    return frozenset(s for s, since in _in_effect(session, dataset_id).items() if since <= granted)


def wanted_exclusion(session: Session, dataset_id: str) -> frozenset[str]:
    """The samples the dataset should be counted without once every request so far is applied."""
    return frozenset(s for s, events in _events(session, dataset_id).items() if _wants_out(events))


def pending_datasets(session: Session) -> list[str]:
    """Datasets where what was asked differs from what is in effect (the job's work), in id order."""
    ids = session.exec(select(SampleOptOut.dataset_id).distinct()).all()
    return sorted(d for d in ids if wanted_exclusion(session, d) != excluded_now(session, d))


def record_applied(session: Session, dataset_id: str, excluded: frozenset[str], *, at: datetime) -> None:
    """Record that the dataset's index is now counted without exactly `excluded` (called by the job in the
    transaction that publishes the recount; does not commit). Requests the recount reflects are marked
    applied; a request made since it was planned stays pending for the next run."""
    effect = _in_effect(session, dataset_id)
    gone = [s for s in effect if s not in excluded]
    if gone:
        session.execute(delete(SampleExclusion).where(
            col(SampleExclusion.dataset_id) == dataset_id, col(SampleExclusion.sample_id).in_(gone)))
    session.add_all(SampleExclusion(dataset_id=dataset_id, sample_id=s, since=at)
                    for s in sorted(excluded) if s not in effect)
    for sample_id, events in _events(session, dataset_id).items():
        last = events[-1]
        if last.applied_at is None and (last.action == OptOutAction.opt_out) == (sample_id in excluded):
            last.applied_at = at
            session.add(last)
    session.flush()
