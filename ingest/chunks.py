"""An ingestion cut into region chunks that any worker may stage, in any order, made visible by one publish.

- `plan` checks the input (assembly, samples, sample sheet, unchanged files), copies the files into the store
  and cuts each file's contigs into chunks of about `chunk_records` records (from the file's index);
- `stage` reads one chunk and writes its rows to `ingest_staged_variant` in a transaction of its own, first
  removing what an earlier run of the same chunk staged (a retried chunk never counts twice);
- `publish` makes the staged rows the dataset's variants in ONE transaction, with its samples, statistics,
  counts and provenance, and the ingestion's `succeeded` state: all of it is visible, or none;
- `fail` (and `discard`) drop a failed ingestion's staged rows; the catalogue never saw them.

Workers read the files through the node's file store: a shared filesystem (e.g. NFS) mounted at the same
path on every machine that runs workers.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cyvcf2
from pysam.version import __htslib_version__ as HTSLIB_VERSION
from sqlalchemy import Connection, Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from access import audit
from catalogue.assemblies import canonical_contig, check_contig_lengths
from catalogue.database import DatabaseBusy, is_sqlite, session_scope, vacuum
from catalogue.errors import Conflict, InvalidInput, NotFound
from catalogue.models import Dataset, Sample, utcnow
from catalogue.services import index, opt_outs
from catalogue.services.datasets import dataset_files
from ingest.errors import IngestInputError, MalformedFile, SampleMismatch, WrongAssembly
from ingest.layout import contig_layouts
from ingest.models import IngestionChunk, IngestionJob, JobState, StagedVariant
from ingest.reader import HeaderInfo, read_variants, scan_header
from ingest.samples import SampleMeta, read_sample_sheet, reconcile, sample_groups
from ingest.skips import skip_warnings
from ingest.store import StoredFile, records_per_contig, store_file

__all__ = ["CHUNK_RECORDS", "Chunk", "ChunkSummary", "all_staged", "chunks_of", "discard", "fail", "plan", "publish",
           "stage"]

CHUNK_RECORDS = 250_000  # records per chunk, about (settings.ingest_chunk_records)
_OPEN_END = 2**31 - 1  # the end of a region that runs to its contig's end
_BUSY_RETRY_SECONDS = 600  # how long a chunk's write keeps retrying while other writers hold the database
_STAGED = ("ingestion_id", "chunk", "chrom", "pos", "ref", "alt", "end", "variant_type", "length", "ac", "an",
           "het", "hom_alt", "hemi_alt", "groups", "annotations", "spill")
_STAGED_LIST = ", ".join(f'"{c}"' for c in _STAGED)  # quoted: END is reserved in PostgreSQL
_VARIANT_COLUMNS = ('"chrom", "pos", "ref", "alt", "end", "variant_type", "length", "ac", "an", "het", "hom_alt", '
                    '"hemi_alt", "groups"')
# ReadSummary counters a chunk reports (summed over an ingestion, the job reports them under other names)
_COUNTS = ("records_read", "records_kept", "records_skipped_filter", "records_skipped_other", "alleles_skipped",
           "rows", "rows_merged")
_REPORTED = {"records_read": "records_read", "records_kept": "records_kept",
             "records_skipped_filter": "records_skipped_filter", "records_skipped_other": "records_skipped_other",
             "alleles_skipped": "alleles_skipped", "rows": "variants_written", "rows_merged": "variants_merged"}
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One region of one stored file: the records whose POS lies in [start, end] of `contig`."""

    ingestion_id: str
    number: int
    file_name: str
    path: str
    contig: str | None  # as the file spells it; None: the whole file (its index does not count records)
    start: int
    end: int | None
    records_before: int  # records of the file before this contig
    records: int  # an estimate, from the index

    @property
    def region(self) -> str | None:
        if self.contig is None:
            return None
        if self.start <= 1 and self.end is None:
            return self.contig
        return f"{self.contig}:{self.start}-{_OPEN_END if self.end is None else self.end}"

    def holds(self, pos: int) -> bool:
        return self.start <= pos and (self.end is None or pos <= self.end)

    @classmethod
    def of(cls, row: IngestionChunk) -> Chunk:
        return cls(ingestion_id=row.ingestion_id, number=row.number, file_name=row.file_name, path=row.path,
                   contig=row.contig, start=row.start, end=row.end, records_before=row.records_before,
                   records=row.records)


@dataclass(frozen=True, slots=True)
class ChunkSummary:
    """What staging one chunk read and wrote."""

    number: int
    records_read: int = 0
    records_kept: int = 0
    records_skipped_filter: int = 0
    records_skipped_other: int = 0
    alleles_skipped: int = 0
    rows: int = 0
    rows_merged: int = 0
    spilled: int = 0  # rows whose normalised position fell outside the chunk (merged at publishing if shared)
    skipped: dict[str, int] = field(default_factory=dict)  # skipped alleles (records: hg19 chrM) per kind
    seconds: float = 0.0


# --- planning ----------------------------------------------------------------------------------------

def plan(engine: Engine, ingestion_id: str, *, store_root: Path, chunk_records: int = CHUNK_RECORDS) -> list[Chunk]:
    """Check a queued (or re-planned running) ingestion's input, store its files and cut them into chunks.

    Nothing of the catalogue changes: the chunks and the plan are recorded on the ingestion (replacing any
    earlier plan of it, and the rows its chunks staged). Raises the input's error before any chunk runs."""
    if chunk_records < 1:
        raise InvalidInput("chunk_records must be at least 1", field="chunk_records")
    with session_scope(engine) as session:
        job = _job(session, ingestion_id)
        dataset = session.get(Dataset, job.dataset_id)
        assert dataset is not None
        options, assembly = dict(job.options), dataset.assembly
    if options.get("recount"):
        return _plan_recount(engine, ingestion_id, chunk_records)
    sources = [Path(p) for p in options["files"]]
    for source in sources:
        if not source.is_file():
            raise MalformedFile(str(source), "no such file (it was moved or deleted)")
    headers = [scan_header(source) for source in sources]
    for header in headers:  # checked before anything is copied into the store
        problems = check_contig_lengths(header.contigs, assembly)
        if problems:
            raise WrongAssembly(header.path, "; ".join(problems))
    vcf_samples = _common_samples(headers)
    warnings: list[str] = []
    sheet = _sample_sheet(options.get("samples"), vcf_samples, warnings)
    stored = [store_file(source, store_root) for source in sources]

    with session_scope(engine) as session:
        _lock_unfinished(session, ingestion_id)  # first statement: SQLite's writer lock before any read
        job = _job(session, ingestion_id)
        todo: list[StoredFile] = []
        for source, file in zip(sources, stored, strict=True):
            same = index.file_by_checksum(session, job.dataset_id, file.sha256)
            if same is not None:
                warnings.append(f"{source.name}: unchanged since it was ingested as {same.id}; skipped")
            else:
                warnings.extend(file.notes)
                todo.append(file)
        excluded = sorted(opt_outs.excluded_now(session, job.dataset_id))  # new files count without them too
        chunks = _start_chunks(session, job, todo, chunk_records, warnings, {
            "files_unchanged": len(sources) - len(todo),
            "samples": [asdict(sheet.get(s) or SampleMeta(sample_id=s)) for s in vcf_samples],
            "groups": sample_groups(sheet.values()) or None,
            "assembly": assembly,
            "excluded": excluded,
        })
    return chunks


def _plan_recount(engine: Engine, ingestion_id: str, chunk_records: int) -> list[Chunk]:
    """Plan counting a dataset's stored files again without the samples whose opt-out is wanted (the opt-out
    job's ingestion): every file, read with the options it was ingested with, its samples' groups taken from
    the catalogue. Publishing replaces the dataset's variants and records the exclusion as applied."""
    with session_scope(engine) as session:
        _lock_unfinished(session, ingestion_id)
        job = _job(session, ingestion_id)
        dataset = session.get(Dataset, job.dataset_id)
        assert dataset is not None
        files = dataset_files(session, job.dataset_id)
        read_with = _ingested_with(session, job.dataset_id)
        samples = session.execute(select(Sample).where(col(Sample.dataset_id) == job.dataset_id)).scalars().all()
        groups = sample_groups(SampleMeta(sample_id=s.sample_id, sex=s.sex, population=s.population)
                               for s in samples)
        stored = [StoredFile(name=f.name, path=Path(f.uri), index_path=Path(f.index_uri or f"{f.uri}.csi"),
                             format=f.format, size=f.size, md5=f.md5, sha256=f.sha256) for f in files]
        missing = [f.name for f in stored if not f.path.is_file()]
        if missing:
            raise MalformedFile(missing[0], "is missing from the file store; it cannot be counted again")
        chunks = _start_chunks(session, job, stored, chunk_records, [], {
            "files_unchanged": 0,
            "samples": [],  # the catalogue's samples stay as they are
            "groups": groups or None,
            "assembly": dataset.assembly,
            "excluded": sorted(opt_outs.wanted_exclusion(session, job.dataset_id)),
        }, read_with=read_with)
    return chunks


def _start_chunks(session: Session, job: IngestionJob, files: Sequence[StoredFile], chunk_records: int,
                  warnings: list[str], plan: dict[str, Any],
                  read_with: Mapping[str, dict[str, Any]] | None = None) -> list[Chunk]:
    """Cut `files` into chunks and record them and the plan on the running ingestion (replacing an earlier plan
    and the rows its chunks staged), in the caller's transaction, then commit. `read_with` gives a stored file's
    read options by checksum (a recount reads each file as it was ingested)."""
    chunks = _cut(job.id, files, chunk_records)
    _drop_staged(session.connection(), job.id)
    session.execute(delete(IngestionChunk).where(col(IngestionChunk.ingestion_id) == job.id))
    session.add_all(IngestionChunk(**asdict(c)) for c in chunks)
    job.state = JobState.running
    job.started_at = job.started_at or utcnow()
    job.records_total = sum(c.records for c in chunks) or None
    job.records_done = 0
    job.warnings = warnings
    job.plan = {
        "files": [{"name": f.name, "path": str(f.path), "index_path": str(f.index_path), "format": f.format,
                   "size": f.size, "md5": f.md5, "sha256": f.sha256,
                   "chunks": [c.number for c in chunks if c.path == str(f.path)],
                   **(read_with or {}).get(f.sha256, {})} for f in files],
        **plan,
    }
    session.add(job)
    session.commit()
    return chunks


def _ingested_with(session: Session, dataset_id: str) -> dict[str, dict[str, Any]]:
    """The reading options (pass_only, reference) each stored file (by sha256) was last ingested with."""
    found: dict[str, dict[str, Any]] = {}
    jobs = session.execute(select(IngestionJob).where(
        col(IngestionJob.dataset_id) == dataset_id, col(IngestionJob.state) == JobState.succeeded.value,
    ).order_by(col(IngestionJob.created_at))).scalars().all()
    for earlier in jobs:
        for f in (earlier.provenance or {}).get("files", []):
            if "sha256" in f:
                found[f["sha256"]] = {"pass_only": bool(earlier.options.get("pass_only", True)),
                                      "reference": earlier.options.get("reference")}
    return found


def _cut(ingestion_id: str, files: Sequence[StoredFile], chunk_records: int) -> list[Chunk]:
    """Each file's contigs in index order, those holding more than `chunk_records` records cut into ranges
    that start where equal shares of the contig's data start."""
    chunks: list[Chunk] = []

    def add(file: StoredFile, contig: str | None, start: int, end: int | None, before: int, records: int) -> None:
        chunks.append(Chunk(ingestion_id=ingestion_id, number=len(chunks), file_name=file.name,
                            path=str(file.path), contig=contig, start=start, end=end, records_before=before,
                            records=records))

    for file in files:
        counts = records_per_contig(file.path)
        if counts is None:  # its index does not count records per contig: one chunk reads it all
            add(file, None, 1, None, 0, 0)
            continue
        layouts = contig_layouts(file.path, file.index_path)
        before = 0
        for contig, records in counts.items():
            layout = layouts.get(contig)
            cuts = layout.cuts(math.ceil(records / chunk_records)) if layout else []
            starts, ends = [1, *cuts], [*(c - 1 for c in cuts), None]
            left = records
            for start, end in zip(starts, ends, strict=True):
                estimate = min(round(records * layout.share(start, end)), left) if layout and end else left
                add(file, contig, start, end, before, estimate)
                left -= estimate
            before += records
    return chunks


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


# --- staging -----------------------------------------------------------------------------------------

def stage(engine: Engine, ingestion_id: str, chunk: int, *, progress: Progress | None = None) -> ChunkSummary:
    """Read one chunk of a running ingestion and stage its rows, replacing what an earlier run staged.

    The chunk is read before its transaction begins (so that workers read side by side, even on SQLite's one
    writer); the rows are written, the chunk marked staged and the ingestion's progress moved on together.
    Conflict when the ingestion is no longer running (it failed, or was published)."""
    started = time.perf_counter()
    with session_scope(engine) as session:
        job = _job(session, ingestion_id)
        if job.state != JobState.running or job.plan is None:
            raise Conflict(f"ingestion {ingestion_id} is {job.state}: its chunks are not staged")
        row = session.get(IngestionChunk, (ingestion_id, chunk))
        if row is None:
            raise NotFound(f"ingestion {ingestion_id} has no chunk {chunk}")
        part, plan_ = Chunk.of(row), job.plan
        options = dict(job.options)
    # a recount reads each file with the options it was ingested with (recorded in its plan entry)
    options.update(next((f for f in plan_["files"] if f["path"] == part.path and "pass_only" in f), {}))
    wanted = canonical_contig(part.contig, plan_["assembly"]) if part.contig else None
    reader = read_variants(part.path, assembly=plan_["assembly"], pass_only=bool(options.get("pass_only", True)),
                           reference=options.get("reference"), sample_groups=plan_.get("groups"),
                           region=part.region, records_before=part.records_before if part.start <= 1 else 0,
                           exclude_samples=plan_.get("excluded") or ())
    rows: list[tuple[Any, ...]] = []
    spilled = 0
    try:
        for batch in reader:
            for variant in batch:
                spill = wanted is not None and not part.holds(variant.pos)
                spilled += spill
                *values, annotations = index.variant_values(variant)
                rows.append((ingestion_id, chunk, *values, json.dumps(annotations) if annotations else None, spill))
            if progress:
                progress(reader.summary.records_read, part.records or None)
    except IngestInputError as exc:
        raise _numbered(exc, part) from None
    read = reader.summary
    summary = ChunkSummary(number=chunk, **{k: getattr(read, k) for k in _COUNTS}, spilled=spilled,
                           skipped=dict(read.skipped), seconds=round(time.perf_counter() - started, 3))
    _write_staged(engine, part, rows, summary)
    return summary


def _numbered(exc: IngestInputError, part: Chunk) -> IngestInputError:
    """The error with its record numbered as a reader of the whole file numbers it (a chunk that starts inside
    its contig counts the contig's records before it, once, now that it failed)."""
    if exc.record is None or part.start <= 1 or part.contig is None:
        return exc
    before = part.records_before
    with cyvcf2.VCF(part.path) as vcf:
        before += sum(1 for v in vcf(f"{part.contig}:1-{part.start - 1}") if v.POS < part.start)
    return type(exc)(exc.path, exc.reason, record=exc.record + before, locus=exc.locus, line=exc.line,
                     column=exc.column)


def _write_staged(engine: Engine, part: Chunk, rows: list[tuple[Any, ...]], summary: ChunkSummary) -> None:
    deadline = time.monotonic() + _BUSY_RETRY_SECONDS
    while True:
        try:
            with engine.begin() as conn:
                # First a write, to the ingestion's row: on SQLite the writer lock is waited for here, before the
                # transaction reads; on PostgreSQL rows are locked in the order `fail` locks them (the
                # ingestion, its staged rows, its chunks), so a chunk staged while another fails cannot deadlock.
                running = conn.execute(update(IngestionJob).where(
                    col(IngestionJob.id) == part.ingestion_id, col(IngestionJob.state) == JobState.running.value,
                ).values(records_done=col(IngestionJob.records_done)))
                if running.rowcount != 1:  # failed while this chunk was read: nothing of it may stay
                    raise Conflict(f"ingestion {part.ingestion_id} stopped while chunk {part.number} was read")
                conn.execute(delete(StagedVariant).where(col(StagedVariant.ingestion_id) == part.ingestion_id,
                                                         col(StagedVariant.chunk) == part.number))
                _bulk_insert(conn, rows)
                kept = conn.execute(select(col(IngestionChunk.summary)).where(
                    col(IngestionChunk.ingestion_id) == part.ingestion_id,
                    col(IngestionChunk.number) == part.number)).one_or_none()
                if kept is None:  # failed while this chunk was read (its chunks went with its staged rows)
                    raise Conflict(f"ingestion {part.ingestion_id} stopped while chunk {part.number} was read")
                old = kept[0]
                conn.execute(update(IngestionChunk).where(
                    col(IngestionChunk.ingestion_id) == part.ingestion_id, col(IngestionChunk.number) == part.number,
                ).values(summary=asdict(summary), staged_at=utcnow()))
                moved = (summary.records_read - (old or {}).get("records_read", 0))
                done = conn.execute(update(IngestionJob).where(
                    col(IngestionJob.id) == part.ingestion_id, col(IngestionJob.state) == JobState.running.value,
                ).values(records_done=col(IngestionJob.records_done) + moved))
                if done.rowcount != 1:  # failed while this chunk was read: its rows must not stay
                    raise Conflict(f"ingestion {part.ingestion_id} stopped while chunk {part.number} was read")
            return
        except DatabaseBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _bulk_insert(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Staged rows in bulk: executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    raw: Any = conn.connection.driver_connection
    if is_sqlite(conn.engine):
        placeholders = ", ".join("?" for _ in _STAGED)
        raw.cursor().executemany(f"INSERT INTO ingest_staged_variant ({_STAGED_LIST}) VALUES ({placeholders})",
                                 rows)
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY ingest_staged_variant ({_STAGED_LIST}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(values)


# --- publishing --------------------------------------------------------------------------------------

def publish(engine: Engine, ingestion_id: str) -> IngestionJob:
    """Make every staged chunk of a running ingestion its dataset's variants, in one transaction.

    The files' earlier variants are replaced; rows of one allele that several chunks produced are merged as
    one reader merges them; samples, statistics, counts and provenance are written and the ingestion marked
    succeeded; the staged rows are deleted. Conflict when a chunk is not staged (or its rows were lost)."""
    with session_scope(engine) as session:
        _lock_unfinished(session, ingestion_id)
        job = _job(session, ingestion_id)
        if job.state != JobState.running or job.plan is None:
            raise Conflict(f"ingestion {ingestion_id} is {job.state}: only a running one is published")
        parts = list(session.execute(select(IngestionChunk).where(
            col(IngestionChunk.ingestion_id) == ingestion_id).order_by(col(IngestionChunk.number))).scalars())
        waiting = [p.number for p in parts if p.staged_at is None or p.summary is None]
        if waiting:
            raise Conflict(f"ingestion {ingestion_id}: chunk(s) {_few([str(n) for n in waiting])} are not staged")
        totals: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        for p in parts:
            totals.update({k: (p.summary or {}).get(k, 0) for k in _COUNTS})
            skipped.update((p.summary or {}).get("skipped", {}))
        staged = session.execute(select(func.count()).select_from(StagedVariant).where(
            col(StagedVariant.ingestion_id) == ingestion_id)).scalar_one()
        if staged != totals["rows"]:  # e.g. PostgreSQL restarted and emptied the unlogged staging table
            raise Conflict(f"ingestion {ingestion_id}: {totals['rows'] - staged} staged row(s) were lost "
                           "(did the database restart?); run it again")
        merged = _merge_spills(session, ingestion_id, [Chunk.of(p) for p in parts], job.plan["assembly"])
        totals["rows"] -= merged
        totals["rows_merged"] += merged
        if job.options.get("recount"):  # before the old counts are replaced: what the recount withdraws
            index.withdraw_alleles(session, job.dataset_id, _withdrawn(session, job))
        per_file, load = _write_files(session, job, parts)
        samples = [SampleMeta(**{**s, "phenotypes": tuple(s["phenotypes"]), "diseases": tuple(s["diseases"])})
                   for s in job.plan["samples"]]
        if samples:
            index.upsert_samples(session, job.dataset_id, samples)
        if job.options.get("recount"):  # the opt-out job's: its exclusion takes effect with its counts
            excluded = frozenset(job.plan.get("excluded") or ())
            opt_outs.record_applied(session, job.dataset_id, excluded, at=utcnow())
            audit.append(session, actor=job.requested_by, action="dataset.opt_outs_applied", dataset_id=job.dataset_id,
                         details={"ingestion": job.id, "samples_left_out": len(excluded)})
        stats = index.refresh_statistics(session, job.dataset_id, load=load)
        _drop_staged(session.connection(), ingestion_id)
        session.execute(delete(IngestionChunk).where(col(IngestionChunk.ingestion_id) == ingestion_id))
        files = job.plan["files"]
        job.records_done = totals["records_read"]
        job.counts = {**{reported: totals[key] for key, reported in _REPORTED.items()},
                      "files_ingested": len(files), "files_unchanged": job.plan["files_unchanged"],
                      "samples": len(samples), "dataset_variants": stats["variants"], "chunks": len(parts),
                      "skipped": dict(skipped)}
        job.warnings = [*job.warnings, *skip_warnings(skipped)]
        job.provenance = {
            "files": [{"name": f["name"], "stored_as": Path(f["path"]).name, "size": f["size"], "md5": f["md5"],
                       "sha256": f["sha256"], **per_file[f["path"]]} for f in files],
            "software": {"genomegate": version("genomegate"), "cyvcf2": cyvcf2.__version__,
                         "pysam": version("pysam"), "htslib": HTSLIB_VERSION},
            "options": {k: v for k, v in job.options.items() if k != "files"},
            "requested_by": job.requested_by,
            "chunks": len(parts),
            "duration_s": _seconds_since(job.started_at),
        }
        job.state, job.finished_at = JobState.succeeded, utcnow()
        session.add(job)
        if load is not None:
            try:  # last: from the swap to the commit, the dataset's readers wait (PostgreSQL)
                index.finish_variant_load(session, load)
            except Conflict:
                raise _twice(job.dataset_id, ", ".join(f["name"] for f in files)) from None
        session.commit()
    # The staged rows just deleted leave their space to the next ingestions' (PostgreSQL; without this, and with
    # autovacuum off, the staging table grew by every ingestion's rows: 11 GB of dead rows for 100M alleles).
    vacuum(engine, StagedVariant.__tablename__)
    return job


def _write_files(session: Session, job: IngestionJob,
                 parts: Sequence[IngestionChunk]) -> tuple[dict[str, dict[str, int]], index.VariantLoad | None]:
    """Register (or replace) each planned file and copy its staged rows into a load of the dataset's variants
    (index.begin_variant_load: the files' earlier variants dropped; on PostgreSQL built aside and swapped in by
    the caller at the end), with their annotations."""
    assert job.plan is not None
    per_file: dict[str, dict[str, int]] = {}
    files = job.plan["files"]
    if not files:
        return per_file, None
    conn = session.connection()
    existing = {f["name"]: index.file_by_name(session, job.dataset_id, f["name"]) for f in files}
    # The files first: registering one takes the id counter's row lock (held to the commit), and a publish that
    # began its load (a read lock on the variant index) before waiting for that row would deadlock with one
    # holding it and waiting to swap its partition in (PostgreSQL: two ingestions published at once).
    registered = {f["path"]: index.replace_file(session, old, uri=f["path"], size=f["size"], md5=f["md5"],
                                                sha256=f["sha256"], index_uri=f["index_path"], keep_variants=True)
                  if (old := existing[f["name"]]) else
                  index.register_file(session, dataset_id=job.dataset_id, name=f["name"], fmt=f["format"],
                                      uri=f["path"], size=f["size"], md5=f["md5"], sha256=f["sha256"],
                                      index_uri=f["index_path"]) for f in files}
    load = index.begin_variant_load(session, job.dataset_id,
                                    dropping_files=[old.id for old in existing.values() if old is not None])
    # Staged groups are JSON text; PostgreSQL's json column takes them cast (SQLite's JSON is text).
    staged = (_VARIANT_COLUMNS if is_sqlite(conn.engine)
              else _VARIANT_COLUMNS.replace('"groups"', 'CAST("groups" AS json)'))
    for f in files:
        file = registered[f["path"]]
        numbers = f["chunks"]
        mine = [p for p in parts if p.number in set(numbers)]
        per_file[f["path"]] = {"records_read": sum((p.summary or {}).get("records_read", 0) for p in mine),
                               "rows": 0}
        if not numbers:
            continue
        try:
            written = conn.execute(text(
                f'INSERT INTO "{load.table}" ("dataset_id", "file_id", {_VARIANT_COLUMNS}) '
                f"SELECT :dataset, :file, {staged} FROM ingest_staged_variant "
                "WHERE ingestion_id = :ingestion AND chunk BETWEEN :first AND :last"),
                {"dataset": job.dataset_id, "file": file.id, "ingestion": job.id, "first": min(numbers),
                 "last": max(numbers)})
        except IntegrityError:
            raise _twice(job.dataset_id, f["name"]) from None
        per_file[f["path"]]["rows"] = written.rowcount
        annotated = conn.execute(select(col(StagedVariant.chrom), col(StagedVariant.pos), col(StagedVariant.ref),
                                        col(StagedVariant.alt), col(StagedVariant.annotations)).where(
            col(StagedVariant.ingestion_id) == job.id, col(StagedVariant.chunk).between(min(numbers), max(numbers)),
            col(StagedVariant.annotations).is_not(None)))
        index.write_annotations(session, job.dataset_id, file.id,
                                ((*row[:4], [tuple(a) for a in json.loads(row[4] or "[]")]) for row in annotated))
    return per_file, load


def _withdrawn(session: Session, job: IngestionJob) -> list[index.Withdrawal]:
    """The alleles (and their groups) carried in the dataset's index now that the staged recount no longer counts
    as carried: each old row whose AC the recount lowered, compared with its staged row."""
    rows = session.connection().execute(text(
        'SELECT v.chrom, v.pos, v.ref, v.alt, v."end", v.variant_type, v.length, v.ac, v.groups, s.ac, s.groups '
        "FROM catalogue_variant v JOIN ingest_staged_variant s ON s.ingestion_id = :ingestion AND s.chrom = v.chrom "
        "AND s.pos = v.pos AND s.ref = v.ref AND s.alt = v.alt WHERE v.dataset_id = :dataset AND s.ac < v.ac"),
        {"ingestion": job.id, "dataset": job.dataset_id})
    found: list[index.Withdrawal] = []
    for chrom, pos, ref, alt, end, vtype, length, old_ac, old_groups, new_ac, new_groups in rows:
        before = _decoded(old_groups)
        after = _decoded(new_groups)
        groups = sorted(g for g, counts in before.items() if counts[0] > 0 and after.get(g, [0])[0] <= 0)
        if new_ac <= 0 < old_ac or groups:
            found.append(index.Withdrawal(chrom, pos, ref, alt, end, vtype, length, tuple(groups)))
    return found


def _decoded(groups: Any) -> dict[str, list[int]]:
    value = json.loads(groups) if isinstance(groups, str) else groups
    return dict(value or {})


def _twice(dataset_id: str, names: str) -> InvalidInput:
    return InvalidInput(f"{names}: holds variants that another file of {dataset_id} holds too "
                        "(is one chromosome in two files?)", field="files")


def _merge_spills(session: Session, ingestion_id: str, parts: Sequence[Chunk], assembly: str) -> int:
    """Merge rows of one allele of one file that two chunks staged (a record normalised across a chunk's
    edge): counts summed, the furthest end kept, type and length of the first; returns rows merged away.

    Only a spilled row (outside its chunk) can meet another chunk's row, so each spilled row is looked for in
    the chunk of its file that holds its position, and among the other spilled rows."""
    conn = session.connection()
    columns = [getattr(StagedVariant, c) for c in _STAGED]
    spills = conn.execute(select(*columns).where(col(StagedVariant.ingestion_id) == ingestion_id,
                                                 col(StagedVariant.spill))).all()
    if not spills:
        return 0
    by_number = {p.number: p for p in parts}
    homes: dict[tuple[str, str], list[Chunk]] = {}  # (file, canonical contig) -> its chunks
    for p in parts:
        if p.contig is not None:
            homes.setdefault((p.path, canonical_contig(p.contig, assembly) or p.contig), []).append(p)
    found: dict[tuple[Any, ...], dict[int, tuple[Any, ...]]] = {}  # (file, chrom, pos, ref, alt) -> chunk -> row
    for row in spills:
        path = by_number[row.chunk].path
        found.setdefault((path, row.chrom, row.pos, row.ref, row.alt), {})[row.chunk] = tuple(row)
        home = next((p for p in homes.get((path, row.chrom), []) if p.holds(row.pos)), None)
        if home is None:
            continue
        for other in conn.execute(select(*columns).where(
                col(StagedVariant.ingestion_id) == ingestion_id, col(StagedVariant.chunk) == home.number,
                col(StagedVariant.chrom) == row.chrom, col(StagedVariant.pos) == row.pos,
                col(StagedVariant.ref) == row.ref, col(StagedVariant.alt) == row.alt, ~col(StagedVariant.spill))):
            found[(path, row.chrom, row.pos, row.ref, row.alt)][other.chunk] = tuple(other)
    merged = 0
    for of_chunks in found.values():
        if len(of_chunks) < 2:
            continue
        rows = [of_chunks[n] for n in sorted(of_chunks)]  # the file's order, which a single reader merges in
        for r in rows:
            conn.execute(delete(StagedVariant).where(
                col(StagedVariant.ingestion_id) == ingestion_id, col(StagedVariant.chunk) == r[1],
                col(StagedVariant.chrom) == r[2], col(StagedVariant.pos) == r[3], col(StagedVariant.ref) == r[4],
                col(StagedVariant.alt) == r[5]))
        _bulk_insert(conn, [_merged(rows)])
        merged += len(rows) - 1
    return merged


def _merged(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    first = rows[0]
    counts = [sum(r[i] for r in rows) for i in range(9, 14)]  # ac, an, het, hom_alt, hemi_alt
    groups: dict[str, list[int]] | None = None
    for r in rows:
        if r[14] is not None:
            these = json.loads(r[14])
            groups = these if groups is None else {
                k: [a + b for a, b in zip(groups.get(k, [0, 0, 0, 0]), these.get(k, [0, 0, 0, 0]), strict=True)]
                for k in groups.keys() | these.keys()}
    text_groups = json.dumps(dict(sorted(groups.items())), separators=(",", ":")) if groups else None
    annotations = list(dict.fromkeys(tuple(a) for r in rows if r[15] for a in json.loads(r[15])))
    return (*first[:6], max(r[6] for r in rows), first[7], first[8], *counts, text_groups,
            json.dumps(annotations) if annotations else None, False)


# --- failing -----------------------------------------------------------------------------------------

def discard(engine: Engine, ingestion_id: str) -> None:
    """Drop what an ingestion's chunks staged (its plan's chunks too): the catalogue never saw any of it."""
    with engine.begin() as conn:
        _drop_staged(conn, ingestion_id)
        conn.execute(delete(IngestionChunk).where(col(IngestionChunk.ingestion_id) == ingestion_id))


def fail(engine: Engine, ingestion_id: str, message: str) -> bool:
    """Mark an unfinished ingestion failed with a one-line `message` and drop its staged rows, together;
    False when it had ended already (then nothing changes)."""
    with engine.begin() as conn:
        ended = conn.execute(update(IngestionJob).where(
            col(IngestionJob.id) == ingestion_id,
            col(IngestionJob.state).in_([JobState.queued.value, JobState.running.value]),
        ).values(state=JobState.failed.value, error=message.splitlines()[0] if message else "failed",
                 finished_at=utcnow()))
        if ended.rowcount != 1:
            return False
        _drop_staged(conn, ingestion_id)
        conn.execute(delete(IngestionChunk).where(col(IngestionChunk.ingestion_id) == ingestion_id))
    return True


# --- shared ------------------------------------------------------------------------------------------

def _job(session: Session, ingestion_id: str) -> IngestionJob:
    job = session.get(IngestionJob, ingestion_id)
    if job is None:
        raise NotFound(f"ingestion {ingestion_id} does not exist")
    return job


def _lock_unfinished(session: Session, ingestion_id: str) -> None:
    """Take the ingestion's row (PostgreSQL) or the writer lock (SQLite) before reading anything, or say why
    it cannot go on."""
    touched = session.execute(update(IngestionJob).where(
        col(IngestionJob.id) == ingestion_id,
        col(IngestionJob.state).in_([JobState.queued.value, JobState.running.value]),
    ).values(state=col(IngestionJob.state)))
    if touched.rowcount != 1:  # type: ignore[attr-defined]
        job = _job(session, ingestion_id)
        raise Conflict(f"ingestion {ingestion_id} is {job.state}" + (f" ({job.error})" if job.error else ""))


def _seconds_since(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return round((utcnow() - (moment if moment.tzinfo else moment.replace(tzinfo=UTC))).total_seconds(), 3)


def _drop_staged(conn: Connection, ingestion_id: str) -> None:
    conn.execute(delete(StagedVariant).where(col(StagedVariant.ingestion_id) == ingestion_id))


def chunks_of(engine: Engine, ingestion_id: str) -> list[Chunk]:
    """An ingestion's planned chunks, in order."""
    with session_scope(engine) as session:
        rows: Iterable[IngestionChunk] = session.execute(select(IngestionChunk).where(
            col(IngestionChunk.ingestion_id) == ingestion_id).order_by(col(IngestionChunk.number))).scalars()
        return [Chunk.of(r) for r in rows]


def all_staged(engine: Engine, ingestion_id: str) -> bool:
    """Whether every planned chunk of the ingestion is staged (then it can be published)."""
    with session_scope(engine) as session:
        waiting = session.execute(select(func.count()).select_from(IngestionChunk).where(
            col(IngestionChunk.ingestion_id) == ingestion_id, col(IngestionChunk.staged_at).is_(None))).scalar_one()
    return bool(waiting == 0)
