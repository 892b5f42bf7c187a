"""The opt-out job: a dataset counted again without its opted-out samples equals a fresh count of the file
without them (bcftools `view -s ^S` then `+fill-tags`), per allele and per group; undone, the original.

Real files made by the simulator and bcftools, the job run by the worker's own runner. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from access.models import AuditEvent
from catalogue.identity import Caller
from catalogue.models import Dataset, Sample, Variant, WithdrawnAllele, utcnow
from catalogue.runtime import Runtime
from catalogue.services import opt_outs
from catalogue.settings import Settings
from genomegate.kinds import register_all
from ingest.models import IngestionJob, JobState
from ingest.opt_outs import APPLY, start_recounts
from ingest.services import start_ingestion
from ingest.synthetic import SimulatedCohort, simulate_cohort, write_sample_sheet
from jobs.registry import periodics
from tests.factories import make_dataset, make_organisation
from tests.ingest._tools import Counts, Key, assert_counts_equal, bcftools, bcftools_counts
from tests.workers import run_queued

OPERATOR = Caller.cli_operator()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> SimulatedCohort:
    folder = tmp_path_factory.mktemp("opt_out_cohort")
    return simulate_cohort(folder / "cohort.vcf.gz", samples=16, variants_per_contig=250, contigs=("1",),
                           seed=7, include_x=True, indel_rate=0.1, sv_rate=0.01)


@pytest.fixture(scope="module")
def sheet(cohort: SimulatedCohort, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_sheet(tmp_path_factory.mktemp("opt_out_sheet") / "samples.tsv", cohort)


def _without(cohort: SimulatedCohort, folder: Path, left_out: tuple[str, ...]) -> Path:
    out = folder / f"without-{'-'.join(left_out)}.vcf.gz"
    bcftools("view", "-s", "^" + ",".join(left_out), "-O", "z", "-o", out, cohort.path)
    return out


def _only(cohort: SimulatedCohort, folder: Path, members: list[str], name: str) -> Path:
    out = folder / f"only-{name.replace(':', '_')}.vcf.gz"
    bcftools("view", "-s", ",".join(members), "-O", "z", "-o", out, cohort.path)
    return out


def _index(runtime: Runtime, dataset_id: str) -> dict[Key, Counts]:
    with Session(runtime.engine) as s:
        return {(v.chrom, v.pos, v.ref, v.alt): (v.ac, v.an, v.het, v.hom_alt, v.hemi_alt)
                for v in s.exec(select(Variant).where(Variant.dataset_id == dataset_id))}


def _groups(runtime: Runtime, dataset_id: str) -> dict[str, dict[Key, tuple[int, int, int]]]:
    found: dict[str, dict[Key, tuple[int, int, int]]] = {}
    with Session(runtime.engine) as s:
        for v in s.exec(select(Variant).where(Variant.dataset_id == dataset_id)):
            for group, (ac, an, het, _hom) in (v.groups or {}).items():
                found.setdefault(group, {})[(v.chrom, v.pos, v.ref, v.alt)] = (ac, an, het)
    return found


def _members(cohort: SimulatedCohort, left_out: tuple[str, ...]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for sample, sex, population in zip(cohort.samples, cohort.sexes, cohort.populations, strict=True):
        if sample in left_out:
            continue
        groups.setdefault(f"population:{population}", []).append(sample)
        if sex in ("male", "female"):
            groups.setdefault(f"sex:{sex}", []).append(sample)
    return groups


def _assert_like_bcftools(runtime: Runtime, dataset_id: str, cohort: SimulatedCohort, folder: Path,
                          left_out: tuple[str, ...]) -> None:
    source = _without(cohort, folder, left_out) if left_out else cohort.path
    assert_counts_equal(_index(runtime, dataset_id), bcftools_counts(source, folder))
    stored = _groups(runtime, dataset_id)
    members = _members(cohort, left_out)
    assert set(stored) == set(members)
    for group, names in members.items():
        oracle = bcftools_counts(_only(cohort, folder, names, group), folder)
        assert stored[group] == {k: (ac, an, het) for k, (ac, an, het, _h, _m) in oracle.items()}, group


def left_out(cohort: SimulatedCohort) -> tuple[str, str]:
    """Two of the cohort's samples: a woman and a man (X is counted on two and on one haplotype)."""
    sexes = dict(zip(cohort.samples, cohort.sexes, strict=True))
    return (next(s for s in cohort.samples[3:] if sexes[s] == "female"),
            next(s for s in cohort.samples[3:] if sexes[s] == "male"))


@pytest.fixture
def ingested(runtime: Runtime, session: Session, cohort: SimulatedCohort, sheet: Path) -> str:
    dataset = make_dataset(session, organisation_id=make_organisation(session).id, publish=True)
    start_ingestion(session, OPERATOR, dataset.id, files=[cohort.path], samples=sheet)
    run_queued(runtime.engine, runtime.settings)
    return dataset.id


def test_the_job_recounts_without_the_opted_out_samples_exactly_as_bcftools_and_opting_in_restores(
        runtime: Runtime, session: Session, cohort: SimulatedCohort, ingested: str, tmp_path: Path) -> None:
    out = left_out(cohort)
    original = _index(runtime, ingested)
    original_groups = _groups(runtime, ingested)
    _assert_like_bcftools(runtime, ingested, cohort, tmp_path, ())
    statistics = session.get(Dataset, ingested).statistics  # type: ignore[union-attr]

    opt_outs.request_opt_out(session, ingested, list(out), at=utcnow())
    run_queued(runtime.engine, runtime.settings)  # nothing scheduled it yet: pending, nothing changed
    assert _index(runtime, ingested) == original
    assert opt_outs.excluded_now(session, ingested) == frozenset()

    assert len(start_recounts(session)) == 1
    assert start_recounts(session) == []  # one recount per dataset at a time
    run_queued(runtime.engine, runtime.settings)
    _assert_like_bcftools(runtime, ingested, cohort, tmp_path, out)
    assert opt_outs.excluded_now(session, ingested) == set(out)
    assert all(not s.pending and s.in_effect for s in opt_outs.opt_out_states(session, ingested, list(out)))
    # an allele only the opted-out samples carried is kept at AC 0, as a fresh ingest of the file keeps it
    now = _index(runtime, ingested)
    vanished = {k for k, c in now.items() if c[0] == 0 and original[k][0] > 0}
    assert vanished
    # ... and remembered as withdrawn, with each group it left (budgeted yes/no answers keep saying yes for them)
    left_groups = {(k, g) for g, counts in _groups(runtime, ingested).items() for k, c in counts.items()
                   if c[0] == 0 and original_groups[g][k][0] > 0}
    assert left_groups
    with Session(runtime.engine) as s:
        withdrawn = s.exec(select(WithdrawnAllele).where(WithdrawnAllele.dataset_id == ingested)).all()
    assert {(w.chrom, w.pos, w.ref, w.alt) for w in withdrawn} == vanished | {k for k, _ in left_groups}
    assert {((w.chrom, w.pos, w.ref, w.alt), g) for w in withdrawn for g in (w.groups or {})} == left_groups
    with Session(runtime.engine) as s:  # the catalogue's samples stay (they may opt back in)
        assert len(s.exec(select(Sample).where(Sample.dataset_id == ingested)).all()) == len(cohort.samples)
        recount = s.exec(select(IngestionJob).where(IngestionJob.requested_by == "opt-out job")).one()
        assert recount.state == JobState.succeeded
    assert start_recounts(session) == []  # nothing pending any more
    with Session(runtime.engine) as s:  # audited, without naming anyone
        line = s.exec(select(AuditEvent).where(AuditEvent.action == "dataset.opt_outs_applied")).one()
    assert (line.dataset_id, line.details["samples_left_out"]) == (ingested, 2)

    opt_outs.request_opt_in(session, ingested, list(out), at=utcnow() + timedelta(seconds=1))
    assert start_recounts(session)
    run_queued(runtime.engine, runtime.settings)
    assert _index(runtime, ingested) == original
    assert opt_outs.excluded_now(session, ingested) == frozenset()
    session.expire_all()
    assert session.get(Dataset, ingested).statistics == statistics  # type: ignore[union-attr]


def test_a_file_ingested_after_an_opt_out_took_effect_is_counted_without_the_sample(
        runtime: Runtime, session: Session, cohort: SimulatedCohort, ingested: str, tmp_path: Path) -> None:
    out = left_out(cohort)[:1]
    opt_outs.request_opt_out(session, ingested, list(out), at=utcnow())
    start_recounts(session)
    run_queued(runtime.engine, runtime.settings)
    more = simulate_cohort(tmp_path / "chr2.vcf.gz", samples=16, variants_per_contig=150, contigs=("2",), seed=8)
    assert more.samples == cohort.samples
    start_ingestion(session, OPERATOR, ingested, files=[more.path])
    run_queued(runtime.engine, runtime.settings)
    on_chr2 = {k: c for k, c in _index(runtime, ingested).items() if k[0] == "2"}
    assert_counts_equal(on_chr2, bcftools_counts(_without(more, tmp_path, out), tmp_path))


def test_the_job_is_scheduled_by_the_setting_which_keeps_it_within_a_day() -> None:
    register_all()
    scheduled = {p.name: p for p in periodics()}[APPLY]
    assert scheduled.every(Settings()) == 4 * 3600
    assert scheduled.every(Settings(opt_out_apply_every_seconds=600)) == 600
    with pytest.raises(ValidationError, match="less than or equal to 43200"):
        Settings(opt_out_apply_every_seconds=86_400)
