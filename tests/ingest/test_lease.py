"""Work that dies is seen: a killed ingestion's job is failed by whoever looks, and its workers die with it.

Real processes on a real file: `genomegate ingest --jobs 2` and `genomegate serve` as subprocesses, killed with
SIGKILL mid-ingest, on SQLite (lease = a file lock) and PostgreSQL (lease = heartbeat rows). The lease is 2 s
here (GENOMEGATE_INGEST_LEASE_SECONDS) so that the tests take seconds, not minutes.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pysam
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from catalogue.models import Dataset, Role
from catalogue.runtime import Runtime
from ingest.lease import ABANDONED, reap
from ingest.models import IngestionChunk, IngestionJob, StagedVariant
from ingest.synthetic import simulate_cohort
from tests.factories import client_with, grant, make_dataset, make_organisation
from tests.serving import free_port

LEASE = 2  # seconds
T = TypeVar("T")


COPIES, SHIFT = 12, 2_500_000  # the synthetic cohort's sites lie below 2.5 Mb


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cohort that takes 10+ s to ingest here with --jobs 2: a synthetic one (two chromosomes), its sites
    repeated COPIES times further along each chromosome (simulating that many takes minutes)."""
    folder = tmp_path_factory.mktemp("big")
    seed = simulate_cohort(folder / "seed.vcf.gz", samples=50, variants_per_contig=30_000, contigs=("1", "2"),
                           seed=3).path
    header, records = [], {}  # contig -> its record lines (sorted)
    with gzip.open(seed, "rt") as source:
        for line in source:
            if line.startswith("#"):
                header.append(line)
            else:
                records.setdefault(line.split("\t", 1)[0], []).append(line)
    out = folder / "big.vcf.gz"
    with pysam.BGZFile(str(out), "wb") as sink:
        sink.write("".join(header).encode())
        for lines in records.values():
            for k in range(COPIES):
                sink.write("".join(_shifted(line, k * SHIFT) for line in lines).encode())
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def _shifted(line: str, by: int) -> str:
    chrom, pos, rest = line.split("\t", 2)
    return f"{chrom}\t{int(pos) + by}\t{rest}"


@pytest.fixture
def dataset(session: Session) -> Dataset:
    return make_dataset(session, organisation_id=make_organisation(session).id, publish=True)


def _env(runtime: Runtime) -> dict[str, str]:
    settings = runtime.settings
    return {**os.environ, "GENOMEGATE_DATA_DIR": str(settings.data_dir), "GENOMEGATE_DATABASE_URL":
            settings.database_url, "GENOMEGATE_IMPORT_DIR": str(settings.import_root),
            "GENOMEGATE_PUBLIC_BASE_URL": settings.public_base_url, "GENOMEGATE_INGEST_LEASE_SECONDS": str(LEASE)}


def _wait(what: str, seconds: float, probe: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {seconds} s")


def _job(runtime: Runtime, dataset_id: str) -> IngestionJob | None:
    with Session(runtime.engine) as session:
        return session.exec(select(IngestionJob).where(IngestionJob.dataset_id == dataset_id)
                            .order_by(col(IngestionJob.created_at).desc())).first()


def _running(runtime: Runtime, dataset_id: str) -> IngestionJob | None:
    job = _job(runtime, dataset_id)
    return job if job is not None and job.state == "running" else None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...), or None if there is no such
    process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"  # a zombie runs nothing; its parent (now init) reaps it


def _still_running_after_lease(runtime: Runtime, dataset_id: str, process: subprocess.Popen[bytes]) -> str:
    """A live holder keeps its job through two lease lengths of sweeps; the job's id."""
    job = _wait("the ingestion started", 60, lambda: _running(runtime, dataset_id))
    for _ in range(4):
        time.sleep(LEASE / 2)
        assert reap(runtime.engine) == []
    assert process.poll() is None, "the ingest ended before it could be killed: make the file bigger"
    job = _job(runtime, dataset_id)
    assert job is not None and job.state == "running"
    assert job.held_by is not None and job.held_by.endswith(f":{process.pid}")
    assert job.lease_seconds == LEASE
    return job.id


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:  # a failed test leaves nothing running
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_killed_cli_ingest_leaves_no_worker_and_the_server_fails_its_job(
        runtime: Runtime, dataset: Dataset, big_file: Path, processes: list[subprocess.Popen[bytes]],
        tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "genomegate", "ingest", str(big_file), "--dataset", dataset.id, "--jobs", "2",
         "--json"], env={**_env(runtime), "GENOMEGATE_INGEST_CHUNK_RECORDS": "20000"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(process)
    workers = _wait("two worker processes started", 60, lambda: (c := _children(process.pid)) and len(c) >= 2 and c)
    job_id = _still_running_after_lease(runtime, dataset.id, process)
    assert all(_alive(w) for w in workers)
    _wait("a chunk was staged", 60, lambda: _staged(runtime) > 0)

    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _wait("the workers died with their parent", 5, lambda: not any(_alive(w) for w in workers))

    # A server's periodic sweep (every quarter lease) fails the job without anyone reading it.
    killed = time.monotonic()
    with client_with(runtime, ingest_lease_seconds=LEASE):  # entering runs the app's lifespan
        job = _wait("the server's sweep failed the job", LEASE + 15,
                    lambda: (j := _job(runtime, dataset.id)) is not None and j.state == "failed" and j)
    assert time.monotonic() - killed < LEASE + 15
    assert (job.id, job.error) == (job_id, ABANDONED)
    assert job.finished_at is not None
    assert _job_variants(runtime, dataset.id) == 0  # nothing was committed

    assert _staged(runtime) == _staged(runtime, IngestionChunk) == 0  # what its chunks staged went with the job
    small = simulate_cohort(tmp_path / "small.vcf.gz", samples=4, variants_per_contig=50, contigs=("1", "2")).path
    subprocess.run([sys.executable, "-m", "genomegate", "ingest", str(small), "--dataset", dataset.id, "--jobs", "2"],
                   env=_env(runtime), capture_output=True, check=True)
    assert _job_variants(runtime, dataset.id) > 0


def _staged(runtime: Runtime, what: type[StagedVariant] | type[IngestionChunk] = StagedVariant) -> int:
    """Rows staged by chunks of any ingestion (or chunks planned: ingest/chunks.py)."""
    with Session(runtime.engine) as session:
        return session.exec(select(func.count()).select_from(what)).one()


def _job_variants(runtime: Runtime, dataset_id: str) -> int:
    with Session(runtime.engine) as session:
        found = session.get(Dataset, dataset_id)
        assert found is not None
        return int((found.statistics or {}).get("variants", 0))


def test_an_ingestion_whose_server_is_killed_is_failed_when_read_over_the_api(
        runtime: Runtime, session: Session, dataset: Dataset, big_file: Path, client: TestClient,
        auth: Callable[[str], dict[str, str]], processes: list[subprocess.Popen[bytes]]) -> None:
    grant(session, "admin@example.org", Role.admin)
    headers = auth("admin@example.org")
    runtime.settings.import_root.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".tbi"):
        shutil.copyfile(f"{big_file}{suffix}", runtime.settings.import_root / f"big.vcf.gz{suffix}")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "genomegate", "serve", "--port", str(port)],
                              env=_env(runtime), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(server)
    base = f"http://127.0.0.1:{port}"
    _wait("the server answers", 60, lambda: _answers(f"{base}/healthz"))
    asked = httpx.post(f"{base}/api/datasets/{dataset.id}/ingestions", json={"files": ["big.vcf.gz"]},
                       headers=headers, timeout=30)
    assert asked.status_code == 202, asked.text
    assert asked.json()["held_by"].endswith(f":{server.pid}")
    job_id = _still_running_after_lease(runtime, dataset.id, server)

    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    killed = time.monotonic()
    shown = _wait("a read of the job shows it failed", LEASE + 15, lambda: _failed(client, job_id, headers))
    assert time.monotonic() - killed < LEASE + 15
    assert shown["error"] == ABANDONED
    listed = client.get(f"/api/datasets/{dataset.id}/ingestions", headers=headers).json()
    assert [(j["id"], j["state"]) for j in listed] == [(job_id, "failed")]
    assert _job_variants(runtime, dataset.id) == 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _failed(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
    response = client.get(f"/api/ingestions/{job_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body if body["state"] == "failed" else None


def test_the_cli_fails_a_dead_job_when_it_shows_it(
        runtime: Runtime, dataset: Dataset, big_file: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    env = _env(runtime)
    process = subprocess.Popen([sys.executable, "-m", "genomegate", "ingest", str(big_file), "--dataset", dataset.id],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes.append(process)
    job = _wait("the ingestion started", 60, lambda: _running(runtime, dataset.id))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    def shown() -> dict[str, Any] | None:
        result = subprocess.run([sys.executable, "-m", "genomegate", "ingestions", "show", job.id, "--json"],
                                env=env, capture_output=True, text=True, check=True)
        [body] = json.loads(result.stdout)
        return body if body["state"] == "failed" else None

    failed = _wait("`genomegate ingestions show` shows the job failed", LEASE + 20, shown)
    assert failed["error"] == ABANDONED and failed["held_by"].endswith(f":{process.pid}")
    listed = subprocess.run([sys.executable, "-m", "genomegate", "ingestions", "list", "--dataset", dataset.id,
                             "--json"], env=env, capture_output=True, text=True, check=True)
    assert [(j["id"], j["state"]) for j in json.loads(listed.stdout)] == [(job.id, "failed")]
