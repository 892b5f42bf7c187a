"""Ingestion use cases: ask for an ingestion, run it all-or-nothing, report on it."""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import shutil
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cyvcf2
from pysam.version import __htslib_version__ as HTSLIB_VERSION
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from catalogue.accessions import next_accession
from catalogue.assemblies import check_contig_lengths
from catalogue.database import session_scope
from catalogue.errors import Conflict, DomainError, InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import Dataset, utcnow
from catalogue.services import index
from catalogue.services.datasets import get_dataset_for_update
from ingest import lease
from ingest.errors import MalformedFile, SampleMismatch, WrongAssembly
from ingest.models import IngestionCreate, IngestionJob, JobState
from ingest.reader import HeaderInfo, ReadSummary, read_variants, scan_header
from ingest.samples import SampleMeta, read_sample_sheet, reconcile, sample_groups
from ingest.store import StoredFile, records_per_contig, store_file
from ingest.workers import make_spool_dir, remove_orphan_spools, worker_pool

__all__ = [
    "INGESTION", "Progress", "fail_interrupted_jobs", "get_job", "list_jobs", "request_ingestion", "run_in_background",
    "run_job", "start_ingestion",
]

log = logging.getLogger("genomegate.ingest")
INGESTION = "GGI"
Progress = Callable[[int, int | None], None]


def _resolve_under(root: Path, relative: str, what: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise InvalidInput(f"{relative}: {what} must lie inside the import directory", field="files")
    if not path.is_file():
        raise NotFound(f"{relative}: no such file in the import directory", field="files")
    return path


def start_ingestion(session: Session, caller: Caller, dataset_id: str, *, files: Sequence[Path],
                    samples: Path | None = None, reference: Path | None = None, pass_only: bool = True,
                    jobs: int = 1, lease_seconds: int = lease.DEFAULT_LEASE_SECONDS) -> IngestionJob:
    """Record a queued ingestion of `files` into a dataset the caller stewards, held by this process (which
    runs it next: `run_job`); should the process die first, the job is failed after `lease_seconds`."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    if jobs < 1 or jobs > 64:
        raise InvalidInput("jobs must be between 1 and 64", field="jobs")
    for path in (*files, *(p for p in (samples, reference) if p)):
        if not path.is_file():
            raise NotFound(f"{path}: no such file", field="files")
    job = IngestionJob(
        id=next_accession(session, INGESTION), dataset_id=dataset.id, requested_by=caller.subject or "operator",
        options={"files": [str(p) for p in files], "samples": str(samples) if samples else None,
                 "reference": str(reference) if reference else None, "pass_only": pass_only, "jobs": jobs},
    )
    session.add(job)
    lease.take(session, job, lease_seconds)
    try:
        session.commit()
    except BaseException:
        lease.release(lease.engine_of(session), job.id)
        raise
    return job


def request_ingestion(session: Session, caller: Caller, dataset_id: str, data: IngestionCreate,
                      import_root: Path, *, lease_seconds: int = lease.DEFAULT_LEASE_SECONDS) -> IngestionJob:
    """An ingestion asked for over HTTP: every path must lie inside the import directory."""
    get_dataset_for_update(session, caller, dataset_id)
    files = [_resolve_under(import_root, f, "a file") for f in data.files]
    samples = _resolve_under(import_root, data.samples, "a sample sheet") if data.samples else None
    reference = _resolve_under(import_root, data.reference, "a reference") if data.reference else None
    return start_ingestion(session, caller, dataset_id, files=files, samples=samples, reference=reference,
                           pass_only=data.pass_only, lease_seconds=lease_seconds)


def get_job(session: Session, caller: Caller, job_id: str) -> IngestionJob:
    """A job, for stewards of its dataset's organisation and admins (failed first if its process died)."""
    job = session.get(IngestionJob, job_id)
    if job is None:
        raise NotFound(f"ingestion {job_id} does not exist")
    get_dataset_for_update(session, caller, job.dataset_id)
    if lease.reap(lease.engine_of(session), job_ids=[job_id]):
        session.refresh(job)
    return job


def list_jobs(session: Session, caller: Caller, dataset_id: str) -> list[IngestionJob]:
    get_dataset_for_update(session, caller, dataset_id)
    lease.reap(lease.engine_of(session), dataset_id=dataset_id)
    return list(session.exec(select(IngestionJob).where(IngestionJob.dataset_id == dataset_id)
                             .order_by(col(IngestionJob.created_at).desc())).all())


def fail_interrupted_jobs(engine: Engine) -> int:
    """Mark the unfinished jobs whose process died as failed (their data was never committed); jobs that a
    live process holds (a CLI ingest beside the server) go on."""
    return len(lease.reap(engine))


# --- running -----------------------------------------------------------------------------------------

# ReadSummary counters summed over an ingestion -> the names the job reports them under
_COUNTS = {"records_read": "records_read", "records_kept": "records_kept",
           "records_skipped_filter": "records_skipped_filter", "records_skipped_other": "records_skipped_other",
           "alleles_skipped": "alleles_skipped", "rows": "variants_written", "rows_merged": "variants_merged"}


@dataclass(slots=True)
class _Totals:
    """The readers' summaries added up, for the whole ingestion and per file."""

    counts: Counter[str] = field(default_factory=Counter)
    per_file: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, name: str, summary: ReadSummary) -> None:
        for counter in (self.counts, self.per_file.setdefault(name, Counter())):
            counter.update({key: getattr(summary, key) for key in _COUNTS})

    def as_dict(self) -> dict[str, Any]:
        return {reported: self.counts[key] for key, reported in _COUNTS.items()}

    def of_file(self, name: str) -> dict[str, int]:
        counts = self.per_file.get(name, Counter())
        return {"records_read": counts["records_read"], "rows": counts["rows"]}


def run_job(engine: Engine, job_id: str, *, store_root: Path, progress: Progress | None = None) -> IngestionJob:
    """Run a queued ingestion. Its data and its `succeeded` state are committed together, or not at all.

    This process holds the job's lease while it runs (taken by `start_ingestion`, or here) and lets it go
    once the job's end is committed."""
    try:
        return _run_held(engine, job_id, store_root, progress)
    finally:
        lease.release(engine, job_id)


def _run_held(engine: Engine, job_id: str, store_root: Path, progress: Progress | None) -> IngestionJob:
    with session_scope(engine) as session:
        job = session.get(IngestionJob, job_id)
        if job is None:
            raise NotFound(f"ingestion {job_id} does not exist")
        if job.state != JobState.queued:
            raise Conflict(f"ingestion {job_id} is {job.state}: only a queued one can run")
        if not lease.holds(engine, job_id):
            lease.take(session, job, job.lease_seconds)
        job.state, job.started_at = JobState.running, utcnow()
        session.add(job)
        session.commit()
    started = time.perf_counter()
    try:
        with session_scope(engine) as session:
            # Locked to the end (PostgreSQL): a sweep that finds the lease lapsed cannot fail the job under us.
            job = session.get(IngestionJob, job_id, with_for_update=True)
            assert job is not None
            if job.state != JobState.running:  # failed by a sweep while this process could not renew
                raise Conflict(f"ingestion {job_id} was marked {job.state} ({job.error}): run it again")
            _ingest(session, job, store_root, progress)
            job.state, job.finished_at = JobState.succeeded, utcnow()
            job.provenance = {**job.provenance, "duration_s": round(time.perf_counter() - started, 3)}
            session.add(job)
            session.commit()
            return job
    except DomainError as exc:
        _mark_failed(engine, job_id, exc.message)
        raise
    except Exception:
        log.exception("ingestion %s failed", job_id)
        _mark_failed(engine, job_id, "internal error (logged on the server); nothing was changed")
        raise


def run_in_background(engine: Engine, job_id: str, *, store_root: Path) -> None:
    """Run a job asked for over HTTP after the response went out: how it ended is on the job, nothing is raised."""
    try:
        run_job(engine, job_id, store_root=store_root)
    except DomainError:
        pass  # the job is marked failed with the message; nothing else to do
    except Exception:  # run_job logged it and marked the job failed; keep the worker alive
        log.debug("ingestion %s ended with an internal error", job_id)


def _mark_failed(engine: Engine, job_id: str, message: str) -> None:
    with session_scope(engine) as session:
        job = session.get(IngestionJob, job_id)
        if job is not None and job.state == JobState.running:  # not one a sweep failed already
            job.state, job.error, job.finished_at = JobState.failed, message, utcnow()
            session.add(job)
            session.commit()


def _ingest(session: Session, job: IngestionJob, store_root: Path, progress: Progress | None) -> None:
    dataset = session.get(Dataset, job.dataset_id)
    assert dataset is not None
    options = job.options
    sources = [Path(p) for p in options["files"]]
    for source in sources:
        if not source.is_file():
            raise MalformedFile(str(source), "no such file (it was moved or deleted)")
    headers = [scan_header(source) for source in sources]
    for header in headers:  # checked before anything is copied into the store
        problems = check_contig_lengths(header.contigs, dataset.assembly)
        if problems:
            raise WrongAssembly(header.path, "; ".join(problems))
    vcf_samples = _common_samples(headers)
    warnings: list[str] = []
    sheet = _sample_sheet(options.get("samples"), vcf_samples, warnings)
    groups = sample_groups(sheet.values()) or None

    todo: list[StoredFile] = []
    for source in sources:
        stored = store_file(source, store_root)
        same = index.file_by_checksum(session, dataset.id, stored.sha256)
        if same is not None:
            warnings.append(f"{source.name}: unchanged since it was ingested as {same.id}; skipped")
            continue
        todo.append(stored)
    totals = _Totals()
    contig_records = {s.name: records_per_contig(s.path) for s in todo}  # from each index: progress and --jobs
    total_records = sum(sum(c.values()) for c in contig_records.values() if c is not None) or None
    job.records_total = total_records
    reader_options = {"assembly": dataset.assembly, "pass_only": bool(options.get("pass_only", True)),
                      "reference": options.get("reference"), "sample_groups": groups}
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress and n:
            progress(done, total_records)

    existing = {s.name: index.file_by_name(session, dataset.id, s.name) for s in todo}
    # The dataset's new variants: those of its other files, and of the files read now (built aside on
    # PostgreSQL, and swapped in at the end).
    load = index.begin_variant_load(session, dataset.id,
                                    dropping_files=[f.id for f in existing.values() if f is not None]) if todo else None
    with _Reads(todo, contig_records, reader_options, int(options.get("jobs", 1)), tick, totals) as reads:
        for stored in todo:
            old = existing[stored.name]
            uri, index_uri = str(stored.path), str(stored.index_path)
            file = (index.replace_file(session, old, uri=uri, size=stored.size, md5=stored.md5,
                                       sha256=stored.sha256, index_uri=index_uri, keep_variants=True) if old
                    else index.register_file(session, dataset_id=dataset.id, name=stored.name, fmt=stored.format,
                                             uri=uri, size=stored.size, md5=stored.md5, sha256=stored.sha256,
                                             index_uri=index_uri))
            try:
                index.write_values(session, dataset.id, file.id, reads.batches(stored), into=load)
                session.flush()
            except Conflict:
                raise _twice(dataset.id, stored.name) from None

    if vcf_samples:
        index.upsert_samples(session, dataset.id, [
            sheet.get(s) or SampleMeta(sample_id=s)
            for s in vcf_samples])
    stats = index.refresh_statistics(session, dataset.id, load=load)
    try:
        if load is not None:
            index.finish_variant_load(session, load)  # last: from here to the commit, queries wait for the swap
    except Conflict:
        raise _twice(dataset.id, ", ".join(s.name for s in todo)) from None
    job.records_done = done
    job.counts = {**totals.as_dict(), "files_ingested": len(todo), "files_unchanged": len(sources) - len(todo),
                  "samples": len(vcf_samples), "dataset_variants": stats["variants"]}
    job.warnings = warnings
    job.provenance = {
        "files": [{"name": s.name, "stored_as": s.path.name, "size": s.size, "md5": s.md5, "sha256": s.sha256,
                   **totals.of_file(s.name)} for s in todo],
        "software": {"genomegate": version("genomegate"), "cyvcf2": cyvcf2.__version__,
                     "pysam": version("pysam"), "htslib": HTSLIB_VERSION},
        "options": {k: v for k, v in options.items() if k != "files"},
        "requested_by": job.requested_by,
    }


def _twice(dataset_id: str, names: str) -> InvalidInput:
    return InvalidInput(f"{names}: holds variants that another file of {dataset_id} holds too "
                        "(is one chromosome in two files?)", field="files")


def _common_samples(headers: Sequence[HeaderInfo]) -> list[str]:
    first = headers[0]
    for other in headers[1:]:
        if other.samples != first.samples:
            raise SampleMismatch(other.path, f"its samples differ from those of {Path(first.path).name}; "
                                             "files ingested together must hold the same samples")
    return list(first.samples)


def _sample_sheet(path: str | None, vcf_samples: list[str], warnings: list[str]) -> dict[str, SampleMeta]:
    if not path:
        return {}
    sheet = read_sample_sheet(Path(path))
    matched, missing, extra = reconcile(vcf_samples, sheet)
    if missing:
        warnings.append(f"{len(missing)} VCF sample(s) have no row in {Path(path).name}: {_few(missing)}")
    if extra:
        warnings.append(f"{len(extra)} row(s) of {Path(path).name} name no VCF sample: {_few(extra)}")
    return {m.sample_id: m for m in matched}


def _few(names: Sequence[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


# --- reading, in this process or in several --------------------------------------------------------

Values = list[tuple[Any, ...]]  # a batch of rows as index.variant_values() gives them
SPOOL_ROWS = 10_000  # rows per spool chunk of a worker: this process writes a chunk as soon as it is complete
_POLL_SECONDS = 0.01  # how long this process waits before looking again for a worker's next chunk


def _read_region(path: str, region: str, records_before: int, options: dict[str, Any], spool: str) -> ReadSummary:
    """Worker: read one contig of a file into spool chunks `<spool>.0`, `<spool>.1`, ..., each one pickled
    batch with the records it covers; a chunk appears under its name only once complete (renamed from .tmp).

    Rows travel as plain tuples: pickling them costs a fraction of pickling the row objects, and the
    per-row preparation is done here, in parallel, rather than in the one process that writes."""
    reader = read_variants(path, region=region, records_before=records_before, **options)
    seen = 0
    for k, batch in enumerate(reader):
        chunk = f"{spool}.{k}"
        with open(f"{chunk}.tmp", "wb") as out:
            pickle.dump((reader.summary.records_read - seen, [index.variant_values(v) for v in batch]), out,
                        protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f"{chunk}.tmp", chunk)
        seen = reader.summary.records_read
    return reader.summary


def _spooled(future: Future[ReadSummary], spool: Path, tick: Callable[[int], None]) -> Generator[Values, None,
                                                                                                ReadSummary]:
    """The batches of one contig while its worker still reads it, each chunk as soon as it is complete (and then
    removed); returns the worker's summary, or raises the worker's error (a bad record) as the worker raised it."""
    summary: ReadSummary | None = None
    ticked = 0
    for k in itertools.count():
        chunk = Path(f"{spool}.{k}")
        while summary is None and not chunk.exists():
            if future.done():
                summary = future.result()  # the worker renamed its last chunk before it returned
            else:
                time.sleep(_POLL_SECONDS)
        if not chunk.exists():
            break
        with chunk.open("rb") as handle:
            records, values = pickle.load(handle)
        chunk.unlink()
        ticked += records
        tick(records)
        yield values
    assert summary is not None
    tick(summary.records_read - ticked)
    return summary


class _Reads:
    """The batches of each file: read in this process (jobs=1), or by worker processes one contig each,
    spooled to disk in chunks that this process writes to the database while the workers read on."""

    def __init__(self, files: Sequence[StoredFile], contig_records: dict[str, dict[str, int] | None],
                 options: dict[str, Any], jobs: int, tick: Callable[[int], None], totals: _Totals) -> None:
        self.options, self.tick, self.totals = options, tick, totals
        self.pool: ProcessPoolExecutor | None = None
        self.parts: dict[str, list[tuple[Future[ReadSummary], Path]]] = {}
        if jobs > 1:
            remove_orphan_spools()
            self.spool_dir = make_spool_dir()
            self.pool = worker_pool(jobs)
            worker_options = {**options, "batch_size": SPOOL_ROWS}
            # Submitted in the order this process writes them, so that the contig it waits for is read first.
            for stored in files:
                counts = contig_records[stored.name]
                if counts is None:
                    continue  # its index does not count records per contig: read it in this process
                parts, before = [], 0  # records before the contig (index order: the file's, for sorted files)
                for i, (contig, records) in enumerate(counts.items()):
                    spool = self.spool_dir / f"{stored.sha256}.{i}"
                    parts.append((self.pool.submit(_read_region, str(stored.path), contig, before, worker_options,
                                                   str(spool)), spool))
                    before += records
                self.parts[stored.name] = parts

    def __enter__(self) -> _Reads:
        return self

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            # Removed first, the spool folder stops workers that still read (after a failure) at their next
            # chunk rather than at the end of their contig; removed again once they have all stopped.
            shutil.rmtree(self.spool_dir, ignore_errors=True)
            self.pool.shutdown(cancel_futures=True)
            shutil.rmtree(self.spool_dir, ignore_errors=True)

    def batches(self, stored: StoredFile) -> Iterator[Values]:
        if stored.name in self.parts:
            for future, spool in self.parts[stored.name]:
                self.totals.add(stored.name, (yield from _spooled(future, spool, self.tick)))
            return
        reader = read_variants(str(stored.path), **self.options)
        seen = 0
        for batch in reader:
            self.tick(reader.summary.records_read - seen)
            seen = reader.summary.records_read
            yield [index.variant_values(v) for v in batch]
        self.tick(reader.summary.records_read - seen)
        self.totals.add(stored.name, reader.summary)
