"""catalogue.services.opt_outs: requests, their undo, what is in effect and for which permits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from catalogue.errors import InvalidInput, NotFound
from catalogue.models import Sample
from catalogue.services import opt_outs
from catalogue.services.opt_outs import MAX_SAMPLES_PER_REQUEST, OptOutAction
from tests.factories import make_dataset, make_organisation

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _dataset(session: Session, samples: tuple[str, ...] = ("S1", "S2", "S3")) -> str:
    dataset = make_dataset(session, organisation_id=make_organisation(session).id)
    session.add_all(Sample(dataset_id=dataset.id, sample_id=s) for s in samples)
    session.commit()
    return dataset.id


def test_a_request_is_pending_until_the_job_records_it_applied(session: Session) -> None:
    ds = _dataset(session)
    opt_outs.request_opt_out(session, ds, ["S2"], at=T0)
    state, = opt_outs.opt_out_states(session, ds, ["S2"])
    assert (state.opted_out, state.in_effect, state.pending) == (True, False, True)
    assert state.requested_at == T0 and state.applied_at is None
    assert opt_outs.excluded_now(session, ds) == frozenset()
    assert opt_outs.pending_datasets(session) == [ds]
    assert opt_outs.wanted_exclusion(session, ds) == {"S2"}

    applied = T0 + timedelta(hours=3)
    opt_outs.record_applied(session, ds, frozenset({"S2"}), at=applied)
    session.commit()
    state, other = opt_outs.opt_out_states(session, ds, ["S2", "S1"])
    assert (state.opted_out, state.in_effect, state.pending, state.since) == (True, True, False, applied)
    assert state.applied_at == applied
    assert (other.opted_out, other.in_effect, other.pending, other.history) == (False, False, False, ())
    assert opt_outs.excluded_now(session, ds) == {"S2"}
    assert opt_outs.pending_datasets(session) == []


def test_permits_granted_before_the_opt_out_took_effect_are_unaffected(session: Session) -> None:
    ds = _dataset(session)
    opt_outs.request_opt_out(session, ds, ["S1"], at=T0)
    applied = T0 + timedelta(hours=2)
    opt_outs.record_applied(session, ds, frozenset({"S1"}), at=applied)
    session.commit()
    assert opt_outs.excluded_for_release(session, ds, applied - timedelta(seconds=1)) == frozenset()
    assert opt_outs.excluded_for_release(session, ds, applied) == {"S1"}
    assert opt_outs.excluded_for_release(session, ds, applied + timedelta(days=30)) == {"S1"}


def test_opting_back_in_restores_once_applied_and_keeps_the_history(session: Session) -> None:
    ds = _dataset(session)
    opt_outs.request_opt_out(session, ds, ["S1", "S3"], at=T0)
    opt_outs.record_applied(session, ds, frozenset({"S1", "S3"}), at=T0 + timedelta(hours=1))
    session.commit()
    opt_outs.request_opt_in(session, ds, ["S1"], at=T0 + timedelta(days=1))
    state, = opt_outs.opt_out_states(session, ds, ["S1"])
    assert (state.opted_out, state.in_effect, state.pending) == (False, True, True)
    assert opt_outs.excluded_now(session, ds) == {"S1", "S3"}  # still, until the job runs
    assert opt_outs.wanted_exclusion(session, ds) == {"S3"}
    opt_outs.record_applied(session, ds, frozenset({"S3"}), at=T0 + timedelta(days=1, hours=1))
    session.commit()
    state, = opt_outs.opt_out_states(session, ds, ["S1"])
    assert (state.opted_out, state.in_effect, state.pending, state.since) == (False, False, False, None)
    assert [(e.action, e.requested_at, e.applied_at) for e in state.history] == [
        (OptOutAction.opt_out, T0, T0 + timedelta(hours=1)),
        (OptOutAction.opt_in, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1))]
    assert opt_outs.excluded_now(session, ds) == {"S3"}
    assert opt_outs.excluded_for_release(session, ds, T0 + timedelta(days=5)) == {"S3"}


def test_requests_are_idempotent(session: Session) -> None:
    ds = _dataset(session)
    for hour in range(3):
        opt_outs.request_opt_out(session, ds, ["S1", "S1"], at=T0 + timedelta(hours=hour))
    opt_outs.request_opt_in(session, ds, ["S2"], at=T0)  # nothing to undo
    s1, s2 = opt_outs.opt_out_states(session, ds, ["S1", "S2"])
    assert len(s1.history) == 1 and s1.requested_at == T0
    assert s2.history == () and not s2.pending


def test_an_undo_before_the_job_leaves_nothing_to_do(session: Session) -> None:
    ds = _dataset(session)
    opt_outs.request_opt_out(session, ds, ["S1"], at=T0)
    opt_outs.request_opt_in(session, ds, ["S1"], at=T0 + timedelta(minutes=5))
    state, = opt_outs.opt_out_states(session, ds, ["S1"])
    assert (state.opted_out, state.in_effect, state.pending) == (False, False, False)
    assert len(state.history) == 2
    assert opt_outs.pending_datasets(session) == []


def test_a_request_made_while_the_job_recounted_stays_pending(session: Session) -> None:
    ds = _dataset(session)
    opt_outs.request_opt_out(session, ds, ["S1"], at=T0)
    planned = opt_outs.wanted_exclusion(session, ds)
    opt_outs.request_opt_in(session, ds, ["S1"], at=T0 + timedelta(minutes=1))  # while the recount runs
    opt_outs.request_opt_out(session, ds, ["S2"], at=T0 + timedelta(minutes=1))
    opt_outs.record_applied(session, ds, planned, at=T0 + timedelta(minutes=2))
    session.commit()
    s1, s2 = opt_outs.opt_out_states(session, ds, ["S1", "S2"])
    assert (s1.opted_out, s1.in_effect, s1.pending) == (False, True, True)
    assert (s2.opted_out, s2.in_effect, s2.pending) == (True, False, True)
    assert opt_outs.excluded_now(session, ds) == {"S1"}  # what the index was counted without
    assert opt_outs.pending_datasets(session) == [ds]


def test_unknown_datasets_and_samples_are_refused(session: Session) -> None:
    ds = _dataset(session)
    with pytest.raises(NotFound, match="dataset GGD999999 does not exist") as err:
        opt_outs.request_opt_out(session, "GGD999999", ["S1"], at=T0)
    assert err.value.field == "dataset_id"
    with pytest.raises(NotFound, match="has no sample 'NOPE'") as err:
        opt_outs.request_opt_out(session, ds, ["S1", "NOPE"], at=T0)
    assert err.value.field == "sample_ids"
    with pytest.raises(NotFound, match="has no sample"):
        opt_outs.opt_out_states(session, ds, ["NOPE"])
    with pytest.raises(InvalidInput, match="at most"):
        opt_outs.request_opt_in(session, ds, ["S1"] * (MAX_SAMPLES_PER_REQUEST + 1), at=T0)
    assert opt_outs.opt_out_states(session, ds, ["S1"])[0].history == ()  # the refused request recorded nothing
