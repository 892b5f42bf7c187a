"""Ingestion in chunks staged by separate worker processes, in any order, then published in one transaction.

Oracles: bcftools (`norm -m -any` then `+fill-tags -t AC,AN,AC_Het,AC_Hom,AC_Hemi`) on the same file, and the
single reader of the whole file. Real processes stage the chunks (and one is SIGKILLed); real failures happen
inside publishing. SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, text
from sqlmodel import Session, col, func, select

from catalogue.errors import Conflict, InvalidInput
from catalogue.identity import Caller
from catalogue.models import Dataset, DatasetFile, Sample, Variant
from catalogue.runtime import Runtime
from catalogue.services import index
from ingest import chunks
from ingest.models import IngestionChunk, IngestionJob, JobState, StagedVariant
from ingest.reader import read_variants
from ingest.services import start_ingestion
from ingest.synthetic import SimulatedCohort, simulate_cohort
from tests.factories import make_dataset, make_organisation
from tests.ingest._tools import Counts, Key, assert_counts_equal, bcftools, bcftools_counts

OPERATOR = Caller.cli_operator()
CHUNK_RECORDS = 150  # ~30 chunks for the cohort below: every contig cut into several

_WORKER = """
import sys
from catalogue.database import make_engine
from ingest.chunks import stage
engine = make_engine(sys.argv[1])
for number in sys.argv[3:]:
    stage(engine, sys.argv[2], int(number))
    print(number, flush=True)
"""


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> SimulatedCohort:
    """Two autosomes and X (hemizygous males), with many indels and symbolic SVs (deletions spanning chunk
    edges), missing genotypes and filtered records; indexed as CSI with 512 b bins so that the planner can
    cut each contig finely."""
    folder = tmp_path_factory.mktemp("chunks")
    made = simulate_cohort(folder / "cohort.vcf.gz", samples=40, variants_per_contig=1_500, contigs=("1", "2"),
                           seed=11, include_x=True, sv_rate=0.02, indel_rate=0.1)
    assert made.index_path is not None
    made.index_path.unlink()
    bcftools("index", "--csi", "--min-shift", "9", "--force", made.path)
    return made


@pytest.fixture(scope="module")
def oracle(cohort: SimulatedCohort, tmp_path_factory: pytest.TempPathFactory) -> dict[Key, Counts]:
    """bcftools' counts of every PASS allele: split, counted from the genotypes, keyed as the index keys them."""
    return bcftools_counts(cohort.path, tmp_path_factory.mktemp("oracle"))


@pytest.fixture(scope="module")
def single_reader(cohort: SimulatedCohort) -> dict[Key, Counts]:
    """What one reader of the whole file computes (the single-process ingest's rows)."""
    return {(r.chrom, r.pos, r.ref, r.alt): (r.ac, r.an, r.het, r.hom_alt, r.hemi_alt)
            for batch in read_variants(cohort.path, assembly="GRCh38") for r in batch}


@pytest.fixture
def dataset(session: Session) -> Dataset:
    return make_dataset(session, organisation_id=make_organisation(session).id, publish=True)


def _planned(runtime: Runtime, dataset_id: str, *files: Path) -> list[chunks.Chunk]:
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, OPERATOR, dataset_id, files=list(files))
    return chunks.plan(runtime.engine, job.id, store_root=runtime.settings.store_root, chunk_records=CHUNK_RECORDS)


def _workers(runtime: Runtime, ingestion_id: str, shares: Sequence[Sequence[int]]) -> list[subprocess.Popen[str]]:
    url = runtime.engine.url.render_as_string(hide_password=False)
    return [subprocess.Popen([sys.executable, "-c", _WORKER, url, ingestion_id, *map(str, share)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for share in shares]


def _index(engine: Engine, dataset_id: str) -> dict[Key, Counts]:
    with Session(engine) as s:
        return {(v.chrom, v.pos, v.ref, v.alt): (v.ac, v.an, v.het, v.hom_alt, v.hemi_alt)
                for v in s.exec(select(Variant).where(Variant.dataset_id == dataset_id))}


def _assert_exact(stored: dict[Key, Counts], oracle: dict[Key, Counts], single_reader: dict[Key, Counts]) -> None:
    assert_counts_equal(stored, oracle)
    assert stored == single_reader  # each split equals the single reader


def _snapshot(engine: Engine, dataset_id: str) -> dict[str, Any]:
    with Session(engine) as s:
        return {"variants": sorted(tuple(v.model_dump().values()) for v in s.exec(
                    select(Variant).where(Variant.dataset_id == dataset_id))),
                "files": sorted((f.id, f.sha256) for f in s.exec(select(DatasetFile))),
                "samples": sorted(x.sample_id for x in s.exec(select(Sample))),
                "statistics": s.get(Dataset, dataset_id).statistics}  # type: ignore[union-attr]


def _staged_rows(engine: Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(StagedVariant)).one()


def _spanning_deletions(cohort: SimulatedCohort, planned: Sequence[chunks.Chunk]) -> int:
    """Deletions (and other records) of the file that begin in one chunk and reach into the next."""
    edges: dict[str, list[int]] = {}
    for part in planned:
        if part.end is not None and part.contig is not None:
            edges.setdefault(part.contig, []).append(part.end)
    spanning = 0
    for line in bcftools("query", "-i", 'TYPE="indel" || ALT~"<DEL>"', "-f", "%CHROM\t%POS\t%END\n",
                         cohort.path).splitlines():
        chrom, pos, end = line.split("\t")
        spanning += any(int(pos) <= edge < int(end) for edge in edges.get(chrom, []))
    return spanning


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_chunks_staged_by_separate_processes_in_any_order_publish_exactly_what_bcftools_counts(
        runtime: Runtime, dataset: Dataset, cohort: SimulatedCohort, oracle: dict[Key, Counts],
        single_reader: dict[Key, Counts], processes: int) -> None:
    planned = _planned(runtime, dataset.id, cohort.path)
    assert len(planned) >= 3 * len(cohort.contigs)  # every contig cut in several
    assert sum(c.records for c in planned) == cohort.records
    assert _spanning_deletions(cohort, planned) > 0
    numbers = [c.number for c in planned]
    random.Random(processes).shuffle(numbers)
    shares = [numbers[k::processes] for k in range(processes)]
    workers = _workers(runtime, planned[0].ingestion_id, shares)  # all at once, side by side
    for worker, share in zip(workers, shares, strict=True):
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert out.split() == [str(n) for n in share]
    job = chunks.publish(runtime.engine, planned[0].ingestion_id)
    assert job.state == JobState.succeeded
    _assert_exact(_index(runtime.engine, dataset.id), oracle, single_reader)
    assert job.counts["records_read"] == job.records_done == cohort.records
    assert job.counts["variants_written"] == job.counts["dataset_variants"] == len(oracle)
    assert job.counts["chunks"] == len(planned)
    assert _staged_rows(runtime.engine) == 0
    with Session(runtime.engine) as s:
        assert s.exec(select(func.count()).select_from(IngestionChunk)).one() == 0
        assert s.get(Dataset, dataset.id).statistics["variants"] == len(oracle)  # type: ignore[union-attr]


def test_a_chunk_staged_twice_counts_once(
        runtime: Runtime, dataset: Dataset, cohort: SimulatedCohort, oracle: dict[Key, Counts],
        single_reader: dict[Key, Counts]) -> None:
    planned = _planned(runtime, dataset.id, cohort.path)
    ingestion = planned[0].ingestion_id
    summaries = {c.number: chunks.stage(runtime.engine, ingestion, c.number) for c in planned}
    again = max(planned, key=lambda c: c.records).number
    repeated = chunks.stage(runtime.engine, ingestion, again)
    assert (repeated.rows, repeated.records_read) == (summaries[again].rows, summaries[again].records_read)
    (worker,) = _workers(runtime, ingestion, [[again, planned[0].number]])  # and once more, in another process
    assert worker.wait(timeout=120) == 0
    assert _staged_rows(runtime.engine) == sum(s.rows for s in summaries.values())
    with Session(runtime.engine) as s:
        assert s.get(IngestionJob, ingestion).records_done == cohort.records  # type: ignore[union-attr]
    job = chunks.publish(runtime.engine, ingestion)
    _assert_exact(_index(runtime.engine, dataset.id), oracle, single_reader)
    assert job.counts["records_read"] == cohort.records


def test_a_worker_killed_mid_stage_changes_nothing_and_its_chunks_are_simply_staged_again(
        runtime: Runtime, dataset: Dataset, cohort: SimulatedCohort, tmp_path: Path, oracle: dict[Key, Counts],
        single_reader: dict[Key, Counts]) -> None:
    (tmp_path / "earlier").mkdir()
    earlier = simulate_cohort(tmp_path / "earlier" / cohort.path.name, samples=40, variants_per_contig=300,
                              contigs=("1",), seed=5)
    first = _planned(runtime, dataset.id, earlier.path)
    for part in first:
        chunks.stage(runtime.engine, part.ingestion_id, part.number)
    chunks.publish(runtime.engine, first[0].ingestion_id)
    before = _snapshot(runtime.engine, dataset.id)

    planned = _planned(runtime, dataset.id, cohort.path)  # the same file name: it replaces the earlier one
    ingestion = planned[0].ingestion_id
    (worker,) = _workers(runtime, ingestion, [[c.number for c in planned]])
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == str(planned[0].number)  # one chunk staged, the next being read
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    staged = _staged_rows(runtime.engine)
    assert 0 < staged
    assert _snapshot(runtime.engine, dataset.id) == before
    with pytest.raises(Conflict, match="are not staged"):
        chunks.publish(runtime.engine, ingestion)
    assert _snapshot(runtime.engine, dataset.id) == before

    for part in reversed(planned):  # every chunk again, the staged one included: replaced, not added
        chunks.stage(runtime.engine, ingestion, part.number)
    job = chunks.publish(runtime.engine, ingestion)
    _assert_exact(_index(runtime.engine, dataset.id), oracle, single_reader)
    assert job.counts["files_ingested"] == 1
    with Session(runtime.engine) as s:
        assert len(s.exec(select(DatasetFile).where(DatasetFile.dataset_id == dataset.id)).all()) == 1


def test_a_failed_ingestion_drops_what_its_chunks_staged_and_stages_no_more(
        runtime: Runtime, dataset: Dataset, cohort: SimulatedCohort) -> None:
    before = _snapshot(runtime.engine, dataset.id)
    planned = _planned(runtime, dataset.id, cohort.path)
    ingestion = planned[0].ingestion_id
    chunks.stage(runtime.engine, ingestion, planned[0].number)
    assert _staged_rows(runtime.engine) > 0
    assert chunks.fail(runtime.engine, ingestion, "a worker gave up\nafter three attempts")
    assert not chunks.fail(runtime.engine, ingestion, "again")  # it ended already
    assert _staged_rows(runtime.engine) == 0
    with Session(runtime.engine) as s:
        job = s.get(IngestionJob, ingestion)
        assert job is not None and (job.state, job.error) == (JobState.failed, "a worker gave up")
    with pytest.raises(Conflict, match=f"ingestion {ingestion} is failed"):
        chunks.stage(runtime.engine, ingestion, planned[1].number)
    with pytest.raises(Conflict, match=f"ingestion {ingestion} is failed"):
        chunks.publish(runtime.engine, ingestion)
    assert _staged_rows(runtime.engine) == 0
    assert _snapshot(runtime.engine, dataset.id) == before


def _same_records_other_bytes(cohort: SimulatedCohort, path: Path) -> Path:
    """The cohort's records under another name, with one more header line (so another checksum)."""
    text = bcftools("view", cohort.path)
    head, _, body = text.partition("#CHROM")
    path.write_text(head + "##comment=another export of the same calls\n#CHROM" + body)
    return path


def test_publishing_is_all_or_nothing(
        runtime: Runtime, dataset: Dataset, cohort: SimulatedCohort, tmp_path: Path) -> None:
    first = _planned(runtime, dataset.id, cohort.path)
    for part in first:
        chunks.stage(runtime.engine, part.ingestion_id, part.number)
    chunks.publish(runtime.engine, first[0].ingestion_id)
    before = _snapshot(runtime.engine, dataset.id)

    # A changed copy of the file (replacing its variants) and a second file holding the same calls: publishing
    # deletes the old variants and writes the first file's, then fails on the second's; nothing of it shows.
    (tmp_path / "changed").mkdir()
    changed = simulate_cohort(tmp_path / "changed" / cohort.path.name, samples=40, variants_per_contig=200,
                              contigs=("1",), seed=99)
    twin = _same_records_other_bytes(changed, tmp_path / "twin.vcf")
    planned = _planned(runtime, dataset.id, changed.path, twin)
    ingestion = planned[0].ingestion_id
    for part in planned:
        chunks.stage(runtime.engine, ingestion, part.number)
    staged = _staged_rows(runtime.engine)
    with pytest.raises(InvalidInput, match=r"twin\.vcf: holds variants that another file .* holds too"):
        chunks.publish(runtime.engine, ingestion)
    assert _snapshot(runtime.engine, dataset.id) == before
    assert _staged_rows(runtime.engine) == staged  # the failed publish undid its merging and deleting too

    # Staged rows that went missing (PostgreSQL emptying the unlogged table after a crash) are noticed.
    with Session(runtime.engine) as s:
        s.exec(delete(StagedVariant).where(col(StagedVariant.chunk) == planned[-1].number))  # type: ignore[call-overload]
        s.commit()
    with pytest.raises(Conflict, match=r"staged row\(s\) were lost"):
        chunks.publish(runtime.engine, ingestion)
    assert _snapshot(runtime.engine, dataset.id) == before
    chunks.fail(runtime.engine, ingestion, "publishing failed")
    assert _staged_rows(runtime.engine) == 0


def test_contigs_are_cut_into_contiguous_ranges_whose_estimates_add_up(
        runtime: Runtime, dataset: Dataset, cohort: SimulatedCohort) -> None:
    planned = _planned(runtime, dataset.id, cohort.path)
    by_contig: dict[str | None, list[chunks.Chunk]] = {}
    for part in planned:
        by_contig.setdefault(part.contig, []).append(part)
    for contig, parts in by_contig.items():
        assert parts[0].start == 1 and parts[-1].end is None
        assert all(a.end is not None and a.end + 1 == b.start for a, b in zip(parts, parts[1:], strict=False))
        actual = [int(bcftools("view", "-H", "-t", f"{contig}:{p.start}-{p.end or ''}", cohort.path).count("\n"))
                  for p in parts]
        assert sum(actual) == sum(p.records for p in parts)
        # Roughly the target: the index's resolution bounds it (a long SV pins later windows to its offset).
        assert len(parts) >= 4 and max(actual) <= sum(actual) / 2, (contig, actual)


def test_a_chunk_read_while_its_ingestion_fails_stages_nothing_and_says_so(
        runtime: Runtime, dataset: Dataset, cohort: SimulatedCohort) -> None:
    planned = _planned(runtime, dataset.id, cohort.path)
    ingestion, number = planned[0].ingestion_id, planned[1].number

    def another_chunk_fails(done: int, total: int | None) -> None:  # called as the chunk is read
        chunks.fail(runtime.engine, ingestion, "another chunk failed")

    with pytest.raises(Conflict, match=f"ingestion {ingestion} stopped while chunk {number} was read"):
        chunks.stage(runtime.engine, ingestion, number, progress=another_chunk_fails)
    assert _staged_rows(runtime.engine) == 0
    with Session(runtime.engine) as s:
        job = s.get(IngestionJob, ingestion)
        assert job is not None and (job.state, job.error) == (JobState.failed, "another chunk failed")


def test_two_ingestions_published_at_once_both_succeed(
        runtime: Runtime, session: Session, cohort: SimulatedCohort, oracle: dict[Key, Counts],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each publish holds its load open until the other has begun its own (or 3 s passed): on PostgreSQL a publish
    that began its load (a read lock on the variant index) and then waited for the id counter's row, held by the
    other publish waiting to swap its partition in, deadlocked (the two-servers test's retried publish)."""
    organisation = make_organisation(session).id
    datasets = [make_dataset(session, organisation_id=organisation, publish=True, title=f"Cohort {n}").id
                for n in (1, 2)]
    ingestions = []
    for dataset_id in datasets:
        planned = _planned(runtime, dataset_id, cohort.path)
        for part in planned:
            chunks.stage(runtime.engine, part.ingestion_id, part.number)
        ingestions.append(planned[0].ingestion_id)
    both = threading.Barrier(2, timeout=3)
    begin = index.begin_variant_load

    def begin_then_wait(*args: Any, **kwargs: Any) -> index.VariantLoad:
        load = begin(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other may be waiting for a lock we hold
            both.wait()
        return load

    monkeypatch.setattr(index, "begin_variant_load", begin_then_wait)
    with ThreadPoolExecutor(2) as pool:
        published = list(pool.map(lambda i: chunks.publish(runtime.engine, i), ingestions))
    assert [job.state for job in published] == [JobState.succeeded] * 2
    for dataset_id in datasets:
        assert_counts_equal(_index(runtime.engine, dataset_id), oracle)


def test_the_space_of_a_published_ingestions_staged_rows_is_reused_by_the_next(
        runtime: Runtime, session: Session, cohort: SimulatedCohort) -> None:
    """PostgreSQL: publishing vacuums the staging table (its rows just deleted), so the next ingestion's rows take
    their space: the table holds no more than one ingestion's rows after two (it grew by each, autovacuum off)."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite reuses freed pages itself")
    organisation = make_organisation(session).id
    sizes = []
    for n in (1, 2):
        dataset_id = make_dataset(session, organisation_id=organisation, publish=True, title=f"Cohort {n}").id
        planned = _planned(runtime, dataset_id, cohort.path)
        for part in planned:
            chunks.stage(runtime.engine, part.ingestion_id, part.number)
        sizes.append(_staging_bytes(runtime.engine))
        assert chunks.publish(runtime.engine, planned[0].ingestion_id).state == "succeeded"
    assert _staged_rows(runtime.engine) == 0
    assert sizes[1] <= sizes[0] > 0, sizes


def _staging_bytes(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_table_size('ingest_staged_variant')")).scalar_one())
