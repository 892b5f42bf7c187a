"""Ingestion on the job queue, end to end: asked for over HTTP (a steward's signed token), planned, staged in chunks
and published by separate `genomegate worker` processes, on the embedded queue and Redis, SQLite and PostgreSQL.

Oracle: bcftools (`norm -m -any`, `+fill-tags`, `query`) counts every allele of the same file. Workers and a
foreground `genomegate ingest` are SIGKILLed while chunks are being staged (frozen with SIGSTOP first, so that
what was running is read from the jobs table, then killed): the catalogue stays as it was until another worker
finishes the ingestion from the re-queued jobs, or fails it when attempts are used up; never stuck. Two
`genomegate serve` and two workers share one PostgreSQL database and one Redis broker.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, or_, select

from catalogue.identity import Caller
from catalogue.models import Role, SecurityLevel, Variant
from catalogue.runtime import Runtime
from catalogue.settings import Settings
from catalogue.tokens import LocalIssuer, TokenVerifier
from genomegate.app import create_app
from ingest.models import IngestionChunk, IngestionJob, StagedVariant
from ingest.models import JobState as IngestState
from ingest.services import run_job, start_ingestion
from ingest.synthetic import simulate_cohort
from ingest.tasks import CHUNK, PLAN, PUBLISH
from jobs.models import ENDED as JOBS_ENDED
from jobs.models import Job, JobState
from jobs.reaper import LAPSED
from tests.factories import grant, make_dataset, make_organisation
from tests.ingest._tools import Counts, Key, assert_counts_equal, bcftools, bcftools_counts, require
from tests.jobs.conftest import LEASE
from tests.serving import serving_process
from tests.workers import ROOT, WorkerProcess, Workers, settings_env, wait_for

T = TypeVar("T")
STEWARD = "steward@lab.example"
CHUNK_RECORDS = 100  # records per chunk: every contig of the files below is cut into several
ENDED = (IngestState.succeeded, IngestState.failed)


@dataclass(frozen=True)
class Cohort:
    """A bgzipped, CSI-indexed VCF with genotypes and what bcftools counts in it."""

    path: Path
    records: int
    oracle: dict[Key, Counts]


def _cohort(folder: Path, seed: int, variants_per_contig: int, samples: int) -> Cohort:
    """Written as plain VCF, compressed by bgzip and indexed by bcftools (CSI with small bins, so that the planner
    can cut each contig finely): 1, 2 and X (hemizygous males), indels, SVs, missing calls, filtered records."""
    folder.mkdir(parents=True)
    plain = folder / "cohort.vcf"
    made = simulate_cohort(plain, samples=samples, variants_per_contig=variants_per_contig, contigs=("1", "2"),
                           include_x=True, seed=seed, sv_rate=0.02, indel_rate=0.1, fmt="vcf")
    subprocess.run([require("bgzip"), "--force", str(plain)], check=True)
    path = folder / "cohort.vcf.gz"
    bcftools("index", "--csi", "--min-shift", "9", "--force", path)
    return Cohort(path=path, records=made.records, oracle=bcftools_counts(path, folder))


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Cohort]:
    """`small` and `other` (~1,200 records, ~10 chunks), `large` (~4,500 records, ~30 chunks: there is time to
    kill a worker mid-ingest) and `earlier` (what a dataset held before)."""
    root = tmp_path_factory.mktemp("cohorts")
    return {"small": _cohort(root / "small", 21, 400, 24), "other": _cohort(root / "other", 22, 400, 24),
            "large": _cohort(root / "large", 23, 1_500, 60), "earlier": _cohort(root / "earlier", 24, 200, 24)}


@dataclass
class Lab:
    """A steward's organisation with two public datasets on this test's node (exact counts; no privacy budget: the
    defence is tested in tests/beacon), its app in this process (its broker attached, as a server's is) and the
    steward's signed token."""

    node: Settings
    engine: Engine
    client: TestClient
    issuer: LocalIssuer
    datasets: tuple[str, str]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(STEWARD)}"}

    def place(self, cohort: Cohort, folder: str) -> str:
        """Copy the file (and its index) into the import directory; its path there, as the API takes it."""
        target = self.node.import_root / folder
        target.mkdir(parents=True, exist_ok=True)
        for source in (cohort.path, Path(f"{cohort.path}.csi")):
            shutil.copy(source, target / source.name)
        return f"{folder}/{cohort.path.name}"

    def request(self, dataset: str, relative: str) -> IngestionJob:
        r = self.client.post(f"/api/datasets/{dataset}/ingestions", json={"files": [relative]},
                             headers=self.headers())
        assert r.status_code == 202, r.text
        assert r.json()["state"] == "queued" and r.json()["job_id"] is not None
        return _ingestion(self.engine, r.json()["id"])


def _lab_node(node: Settings, **changes: Any) -> Settings:
    return node.model_copy(update={"ingest_chunk_records": CHUNK_RECORDS, **changes})


@pytest.fixture
def lab(node: Settings, engine: Engine, session: Session, request: pytest.FixtureRequest) -> Iterator[Lab]:
    settings = _lab_node(node, **getattr(request, "param", {}))
    org = make_organisation(session)
    grant(session, STEWARD, Role.steward, org=org.id)
    a, b = (make_dataset(session, organisation_id=org.id, publish=True, title=f"Cohort {n}",
                         security=SecurityLevel.PUBLIC, count_threshold=0, privacy_p=0.0).id for n in ("A", "B"))
    issuer = LocalIssuer(settings.data_dir / "keys" / "signing-key.json", issuer=settings.issuer_url,
                         audience=settings.token_audience)
    runtime = Runtime(settings=settings, engine=engine, issuer=issuer, verifier=TokenVerifier(settings, issuer))
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield Lab(node=settings, engine=engine, client=client, issuer=issuer, datasets=(a, b))


# --- what the database says --------------------------------------------------------------------------------

def _ingestion(engine: Engine, ingestion_id: str) -> IngestionJob:
    with Session(engine) as s:
        job = s.get(IngestionJob, ingestion_id)
        assert job is not None
        return job


def _ended(engine: Engine, ingestion_id: str) -> IngestionJob | None:
    job = _ingestion(engine, ingestion_id)
    return job if job.state in ENDED else None


def _tree(engine: Engine, plan_job: int) -> list[Job]:
    """An ingestion's jobs: its plan, the chunks it submitted and the publish job."""
    with Session(engine) as s:
        return list(s.exec(select(Job).where(or_(col(Job.id) == plan_job, col(Job.parent_id) == plan_job))
                           .order_by(col(Job.id))).all())


def _index(engine: Engine, dataset_id: str) -> dict[Key, Counts]:
    with Session(engine) as s:
        return {(v.chrom, v.pos, v.ref, v.alt): (v.ac, v.an, v.het, v.hom_alt, v.hemi_alt)
                for v in s.exec(select(Variant).where(Variant.dataset_id == dataset_id))}


def _snapshot(engine: Engine, dataset_id: str) -> list[tuple[Any, ...]]:
    """A dataset's variants as the catalogue shows them (with the file each came from)."""
    columns = [col(c) for c in (Variant.file_id, Variant.chrom, Variant.pos, Variant.ref, Variant.alt, Variant.ac,
                                Variant.an, Variant.het, Variant.hom_alt, Variant.hemi_alt)]
    with Session(engine) as s:
        return sorted(tuple(r) for r in s.execute(sa_select(*columns).where(col(Variant.dataset_id) == dataset_id)))


def _leftovers(engine: Engine, ingestion_id: str) -> tuple[int, int]:
    """(staged rows, planned chunks) an ingestion still has: none once it ended."""
    with Session(engine) as s:
        staged = s.exec(select(func.count()).select_from(StagedVariant)
                        .where(StagedVariant.ingestion_id == ingestion_id)).one()
        planned = s.exec(select(func.count()).select_from(IngestionChunk)
                         .where(IngestionChunk.ingestion_id == ingestion_id)).one()
    return staged, planned


def _ended_unchanged(engine: Engine, ingestion_id: str, dataset_id: str,
                     before: list[tuple[Any, ...]]) -> Callable[[], IngestionJob | None]:
    """A probe of wait_for: the ingestion once it ended; until then the dataset's variants must be `before`.
    (The variants are read first: publishing commits them with the `succeeded` state, so variants read while the
    state read after them is unfinished are what the catalogue showed.)"""

    def probe() -> IngestionJob | None:
        seen = _snapshot(engine, dataset_id)
        job = _ingestion(engine, ingestion_id)
        if job.state in ENDED:
            return job
        assert seen == before, f"{ingestion_id} is {job.state}, yet the catalogue changed"
        return None

    return probe


def _assert_tree_succeeded(engine: Engine, ingestion: IngestionJob) -> list[Job]:
    """The ingestion's plan, one job per chunk and one publish job, every one succeeded. (The publish job commits
    the ingestion's end inside its handler; the worker records the job's own end just after, so wait for that.)"""
    assert ingestion.job_id is not None
    plan_job = ingestion.job_id

    def settled() -> list[Job] | None:
        jobs = _tree(engine, plan_job)
        return jobs if all(j.state in JOBS_ENDED for j in jobs) else None

    tree = wait_for("the ingestion's jobs end", 30, settled)
    kinds = [j.kind for j in tree]
    assert kinds[0] == PLAN and kinds.count(PUBLISH) == 1
    chunks = [j for j in tree if j.kind == CHUNK]
    assert len(chunks) == ingestion.counts["chunks"] == len(tree) - 2
    assert {j.payload["chunk"] for j in chunks} == set(range(len(chunks)))
    assert all(j.state == JobState.succeeded and j.lease_owner is None for j in tree), \
        [(j.id, j.kind, j.state, j.error) for j in tree]
    return tree


def _assert_retried_only_for_load(tree: list[Job], logs: str) -> None:
    """Every job ran once, or its retry was what a loaded machine causes and the design absorbs (jobs are
    idempotent): a worker logged the database busy with another write, or a lease lost or not renewed in time."""
    for job in (j for j in tree if j.attempts > 1):
        lines = [line for line in logs.splitlines() if re.search(rf"\bjob {job.id}\b", line)]
        # the job's own lines first (pytest shortens a long message from the middle), then the logs around them
        assert any("busy" in line or "lease" in line for line in lines), "\n".join(
            [f"job {job.id} ({job.kind}) ran {job.attempts} times:", *lines, "--- logs:", logs[-6000:]])


def _assert_exact(lab: Lab, ingestion: IngestionJob, cohort: Cohort) -> None:
    assert ingestion.state == IngestState.succeeded, ingestion.error
    assert_counts_equal(_index(lab.engine, ingestion.dataset_id), cohort.oracle)
    assert ingestion.counts["records_read"] == ingestion.records_done == cohort.records
    assert ingestion.counts["dataset_variants"] == len(cohort.oracle)
    assert _leftovers(lab.engine, ingestion.id) == (0, 0)


def _ingest_here(lab: Lab, dataset: str, cohort: Cohort, folder: str) -> list[tuple[Any, ...]]:
    """Ingest `cohort` in this process, in the foreground (what the dataset held before); its variants."""
    path = lab.node.import_root / lab.place(cohort, folder)
    with Session(lab.engine, expire_on_commit=False) as s:
        job = start_ingestion(s, Caller.cli_operator(), dataset, files=[path])
    done = run_job(lab.engine, job.id, store_root=lab.node.store_root, chunk_records=CHUNK_RECORDS)
    assert done.state == IngestState.succeeded
    before = _snapshot(lab.engine, dataset)
    assert len(before) == len(cohort.oracle)
    return before


def _kill_when(pid: int, what: str, seconds: float, probe: Callable[[], T | None]) -> T:
    """Freeze the process (SIGSTOP), ask `probe` about the frozen state; SIGKILL it once `probe` answers, else let
    it go on (SIGCONT) and look again. What the probe saw is what the process was doing when it died."""
    deadline = time.monotonic() + seconds
    while True:
        os.kill(pid, signal.SIGSTOP)
        try:
            found = probe()
        except BaseException:
            os.kill(pid, signal.SIGCONT)
            raise
        if found:
            os.kill(pid, signal.SIGKILL)
            return found
        os.kill(pid, signal.SIGCONT)
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.02)


def _start(workers: Workers, lab: Lab, *args: str) -> WorkerProcess:
    """A `genomegate worker` of the lab's node, cutting ingestions into chunks of CHUNK_RECORDS."""
    return workers.start(lab.node, *args, ingest_chunk_records=CHUNK_RECORDS)


def _all_listening(workers: Workers) -> None:
    """Wait until every worker started says it takes jobs (so that each has its share of the chunks)."""
    wait_for("the workers listen", 60, lambda: all("worker: " in w.output() for w in workers.started), workers.logs)


@contextmanager
def _frozen(workers: Workers) -> Iterator[None]:
    """Every worker stopped (SIGSTOP) for the block, then let go on together."""
    for worker in workers.started:
        os.kill(worker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for worker in workers.started:
            os.kill(worker.pid, signal.SIGCONT)


def _chunk_workers(workers: Workers) -> set[int]:
    """The workers whose logs say they ran an ingest.chunk job."""
    ran = re.compile(rf"job \d+ \({re.escape(CHUNK)}\) succeeded")
    return {w.pid for w in workers.started if ran.search(w.output())}


# --- 1. one file, 1, 2 and 3 workers, every broker and database -------------------------------------------

RUNS = [("postgres", "redis", 1), ("postgres", "redis", 2), ("postgres", "redis", 3),
        ("sqlite", "redis", 2), ("sqlite", "embedded", 3), ("postgres", "embedded", 2)]


@pytest.mark.parametrize(("db_backend", "queue", "count"), RUNS, indirect=["db_backend", "queue"])
def test_an_ingestion_asked_for_over_http_and_run_by_separate_workers_equals_bcftools(
        lab: Lab, cohorts: dict[str, Cohort], workers: Workers, count: int) -> None:
    for _ in range(count):
        _start(workers, lab, "--concurrency", "1")
    _all_listening(workers)
    ingestion = lab.request(lab.datasets[0], lab.place(cohorts["small"], "in"))
    done = wait_for("the ingestion ends", 120, lambda: _ended(lab.engine, ingestion.id), workers.logs)
    _assert_exact(lab, done, cohorts["small"])
    assert done.counts["chunks"] >= 3 * 3  # three contigs of 400 records, each cut into several
    tree = _assert_tree_succeeded(lab.engine, done)
    _assert_retried_only_for_load(tree, workers.logs())
    if lab.node.queue_url.startswith("redis://"):
        # Redis hands a job at once to a worker waiting on the queue: each worker staged some of it. (The
        # embedded queue is polled, every 0.5 s when idle: a small ingestion may be over before a worker looks.)
        assert len(_chunk_workers(workers)) == count, workers.logs()
    assert "Traceback" not in workers.logs()  # e.g. a message from the server a worker could not read
    # the other dataset was not touched
    assert _index(lab.engine, lab.datasets[1]) == {}


# --- 2. a worker SIGKILLed mid-ingest ----------------------------------------------------------------------

@pytest.mark.parametrize(("db_backend", "queue", "lab", "outcome"), [
    pytest.param("postgres", "redis", {}, "finished", id="postgres-redis-retried"),
    pytest.param("sqlite", "embedded", {}, "finished", id="sqlite-embedded-retried"),
    pytest.param("sqlite", "redis", {"job_max_attempts": 1}, "failed", id="sqlite-redis-attempts_used_up"),
    pytest.param("postgres", "embedded", {"job_max_attempts": 1}, "failed", id="postgres-embedded-attempts_used_up"),
], indirect=["db_backend", "queue", "lab"])
def test_a_worker_killed_mid_ingest_changes_nothing_until_another_finishes_or_fails_it(
        lab: Lab, cohorts: dict[str, Cohort], workers: Workers, outcome: str) -> None:
    dataset = lab.datasets[0]
    before = _ingest_here(lab, dataset, cohorts["earlier"], "earlier")  # the same file name: replaced by the next
    first = _start(workers, lab, "--concurrency", "2")
    ingestion = lab.request(dataset, lab.place(cohorts["large"], "in"))
    assert ingestion.job_id is not None
    plan_job = ingestion.job_id

    def chunks_running() -> list[Job] | None:
        """The worker's running chunk jobs, once its plan job ended and another chunk was staged, while none of
        them has staged its chunk yet (killed later, a chunk's rows are there for the others to publish)."""
        tree = _tree(lab.engine, plan_job)
        staged = [j for j in tree if j.kind == CHUNK and j.state == JobState.succeeded]
        mine = [j for j in tree if j.kind == CHUNK and j.state == JobState.running
                and f":{first.pid}:" in (j.lease_owner or "")]
        if tree[0].state != JobState.succeeded or not staged or not mine:
            return None
        with Session(lab.engine) as s:
            done = set(s.exec(select(IngestionChunk.number).where(
                IngestionChunk.ingestion_id == ingestion.id, col(IngestionChunk.staged_at).is_not(None))).all())
        return mine if all(j.payload["chunk"] not in done for j in mine) else None

    killed = _kill_when(first.pid, "a chunk job runs after another was staged", 60, chunks_running)
    first.kill()
    assert _ingestion(lab.engine, ingestion.id).state == IngestState.running
    assert _leftovers(lab.engine, ingestion.id)[0] > 0  # what the staged chunks wrote, invisible
    assert _snapshot(lab.engine, dataset) == before
    time.sleep(LEASE + 0.5)  # the lease lapses; nobody is there to notice, and nothing changes
    assert _snapshot(lab.engine, dataset) == before
    assert {j.id: j.state for j in _tree(lab.engine, plan_job) if j.id in {k.id for k in killed}} == \
        {k.id: JobState.running for k in killed}

    _start(workers, lab)  # its reaper finds the lapsed leases
    done = wait_for("the ingestion ends", 90, _ended_unchanged(lab.engine, ingestion.id, dataset, before),
                    workers.logs)
    killed_ids = {k.id for k in killed}
    if outcome == "finished":
        _assert_exact(lab, done, cohorts["large"])
        tree = _assert_tree_succeeded(lab.engine, done)
        assert {j.id: j.attempts for j in tree if j.id in killed_ids} == {i: 2 for i in killed_ids}
        assert all(j.attempts == 1 for j in tree if j.id not in killed_ids)
        return
    # attempts used up: failed with one line, nothing staged left, the dataset as it was
    assert done.state == IngestState.failed
    assert done.error is not None and LAPSED in done.error and "\n" not in done.error
    assert _leftovers(lab.engine, ingestion.id) == (0, 0)
    assert _snapshot(lab.engine, dataset) == before
    # and no job of it is left queued or running: the others found the ingestion ended
    def all_ended() -> list[Job] | None:
        tree = _tree(lab.engine, plan_job)
        return tree if all(j.state in (JobState.succeeded, JobState.failed) for j in tree) else None

    tree = wait_for("every job of the ingestion ends", 30, all_ended, workers.logs)
    assert {j.id for j in tree if j.state == JobState.failed} == killed_ids, \
        ([(j.id, j.kind, j.payload, j.error) for j in tree if j.state == JobState.failed], workers.logs())
    assert all(j.error is not None and LAPSED in j.error for j in tree if j.id in killed_ids)
    assert not [j for j in tree if j.kind == PUBLISH]
    time.sleep(1)
    assert _snapshot(lab.engine, dataset) == before
    assert _ingestion(lab.engine, ingestion.id).state == IngestState.failed


# --- 3. a foreground `genomegate ingest` SIGKILLed ---------------------------------------------------------

@pytest.mark.parametrize(("db_backend", "queue"), [("sqlite", "embedded"), ("postgres", "redis")],
                         indirect=True)
def test_a_foreground_ingest_killed_mid_run_is_finished_by_a_worker(
        lab: Lab, cohorts: dict[str, Cohort], workers: Workers, tmp_path: Path) -> None:
    dataset = lab.datasets[0]
    before = _ingest_here(lab, dataset, cohorts["earlier"], "earlier")
    path = lab.node.import_root / lab.place(cohorts["large"], "in")
    with (tmp_path / "ingest.log").open("wb") as log:
        cli = subprocess.Popen([sys.executable, "-m", "genomegate", "ingest", str(path), "--dataset", dataset],
                               env=settings_env(lab.node, ingest_chunk_records=CHUNK_RECORDS), cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        def staging() -> IngestionJob | None:
            with Session(lab.engine) as s:
                job = s.exec(select(IngestionJob).where(IngestionJob.dataset_id == dataset)
                             .order_by(col(IngestionJob.created_at).desc())).first()
                held = s.get(Job, job.job_id) if job is not None and job.job_id is not None else None
            staged = job is not None and job.state == IngestState.running and job.records_done > 0
            return job if staged and held is not None and f":{cli.pid}:" in (held.lease_owner or "") else None

        ingestion = _kill_when(cli.pid, "the foreground ingest stages its chunks", 60, staging)
        assert cli.wait(timeout=30) == -signal.SIGKILL
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert ingestion.job_id is not None
    assert ingestion.records_done < cohorts["large"].records
    assert _snapshot(lab.engine, dataset) == before
    with Session(lab.engine) as s:
        held = s.get(Job, ingestion.job_id)
        assert held is not None and held.state == JobState.running and held.attempts == 1

    _start(workers, lab)  # its reaper finds the plan job's lapsed lease and queues it again
    done = wait_for("a worker finishes the ingestion", 90,
                    _ended_unchanged(lab.engine, ingestion.id, dataset, before), workers.logs)
    _assert_exact(lab, done, cohorts["large"])
    tree = _assert_tree_succeeded(lab.engine, done)
    assert tree[0].attempts == 2 and tree[0].error is None


# --- 4. two servers, two workers, one PostgreSQL database, one Redis broker --------------------------------

def _beacon(base: str, dataset: str, key: Key, headers: dict[str, str]) -> dict[str, Any]:
    chrom, pos, ref, alt = key
    r = httpx.get(f"{base}/beacon/v2/g_variants", headers=headers, timeout=30, params={
        "referenceName": chrom, "start": pos - 1, "referenceBases": ref, "alternateBases": alt,
        "datasetIds": dataset, "requestedGranularity": "count"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _snv(cohort: Cohort, chrom: str) -> tuple[Key, Counts]:
    """A biallelic-looking SNV of `chrom` with carriers, from bcftools' counts."""
    return next((k, c) for k, c in sorted(cohort.oracle.items())
                if k[0] == chrom and len(k[2]) == len(k[3]) == 1 and k[3] != "*" and c[0] > 0)


@pytest.mark.parametrize(("db_backend", "queue"), [("postgres", "redis")], indirect=True)
def test_two_servers_and_two_workers_on_one_database_and_broker_run_concurrent_ingestions(
        lab: Lab, cohorts: dict[str, Cohort], workers: Workers) -> None:
    node = lab.node
    env = {k: v for k, v in settings_env(node).items() if k.startswith("GENOMEGATE_")}
    env["GENOMEGATE_PUBLIC_BASE_URL"] = node.public_base_url  # one node behind a balancer: one token issuer
    runtime = Runtime(settings=node, engine=lab.engine, issuer=lab.issuer,
                      verifier=TokenVerifier(node, lab.issuer))
    for _ in range(2):
        _start(workers, lab, "--concurrency", "2")
    _all_listening(workers)
    files = {lab.datasets[0]: cohorts["small"], lab.datasets[1]: cohorts["other"]}
    probes = {d: _snv(c, "1") for d, c in files.items()}
    with ExitStack() as servers:
        bases = [servers.enter_context(serving_process(runtime, env)) for _ in range(2)]
        headers = lab.headers()
        started: dict[str, tuple[str, str]] = {}  # ingestion -> (dataset, the server asked)
        seen: dict[str, set[str]] = {}

        def read_both() -> int:
            """Each ingestion's state and a Beacon answer of its dataset, from both servers."""
            for ingestion, (dataset, _) in started.items():
                for base in bases:
                    r = httpx.get(f"{base}/api/ingestions/{ingestion}", headers=headers, timeout=30)
                    assert r.status_code == 200, r.text
                    seen.setdefault(ingestion, set()).add(r.json()["state"])
                    body = _beacon(base, dataset, probes[dataset][0], headers)
                    if body["responseSummary"]["exists"]:  # published: all of it, never part
                        assert body["response"]["resultSets"][0]["info"]["alleleCount"] == probes[dataset][1][0]
            return 2 * len(started) * len(bases)

        with _frozen(workers):  # both asked for before either worker moves: the two run side by side
            for (dataset, cohort), base in zip(files.items(), bases, strict=True):
                relative = lab.place(cohort, dataset)
                r = httpx.post(f"{base}/api/datasets/{dataset}/ingestions", json={"files": [relative]},
                               headers=headers, timeout=30)
                assert r.status_code == 202, r.text
                started[r.json()["id"]] = (dataset, base)
            reads = read_both()
        assert all(seen[i] == {"queued"} for i in started)
        while True:  # reads on both servers while the workers ingest
            states = {i: _ingestion(lab.engine, i).state for i in started}
            if all(s in ENDED for s in states.values()):
                break
            reads += read_both()
            assert reads < 4_000, "the ingestions did not end"
        assert all(s == IngestState.succeeded for s in states.values()), \
            [(i, _ingestion(lab.engine, i).error) for i in started]

        a, b = (_ingestion(lab.engine, i) for i in started)
        assert a.started_at and b.started_at and a.finished_at and b.finished_at
        jobs = [j for x in (a, b) for j in _assert_tree_succeeded(lab.engine, x)]
        _assert_retried_only_for_load(jobs, workers.logs())
        if all(j.attempts == 1 for j in jobs):  # a job retried for load may start its ingestion after the other's end
            assert a.started_at < b.finished_at and b.started_at < a.finished_at, (  # they ran at the same time
                [(j.id, j.kind, j.attempts) for j in jobs], workers.logs()[-8000:])

        for ingestion, (dataset, asked) in started.items():
            done = _ingestion(lab.engine, ingestion)
            _assert_exact(lab, done, files[dataset])
            key, counts = probes[dataset]
            for base in bases:  # the server not asked shows it as the one asked does
                r = httpx.get(f"{base}/api/ingestions/{ingestion}", headers=headers, timeout=30)
                assert r.status_code == 200 and r.json()["state"] == "succeeded", r.text
                assert r.json()["counts"]["dataset_variants"] == len(files[dataset].oracle)
                body = _beacon(base, dataset, key, headers)
                assert body["responseSummary"]["exists"] is True, (base == asked, body)
                assert body["response"]["resultSets"][0]["info"]["alleleCount"] == counts[0]
                listed = httpx.get(f"{base}/api/datasets/{dataset}/ingestions", headers=headers, timeout=30)
                assert listed.status_code == 200 and [j["id"] for j in listed.json()] == [ingestion]
        assert len(_chunk_workers(workers)) == 2, workers.logs()
        assert "Traceback" not in workers.logs()
