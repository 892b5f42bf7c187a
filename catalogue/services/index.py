"""The variant index of a dataset: its files, samples and variants, written in bulk, and its statistics.

Nothing here commits: ingest writes a whole ingestion in one transaction and commits once, so that a
failed or killed ingest leaves the catalogue exactly as it was.

A dataset's variants are replaced through a `VariantLoad` (`begin_variant_load`, `write_values(into=...)`,
`finish_variant_load`; or `replace_dataset_variants` in one call) and removed by `retire_dataset_variants`.
On PostgreSQL each dataset is a partition of its own, built aside and swapped in (catalogue.services.partitions):
the cost is that of the dataset's rows, whatever else the index holds. SQLite keeps one table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from sqlalchemy import case, column, delete, event, exists, func, insert, table, update
from sqlmodel import Session, col, select

from catalogue.accessions import FILE, next_accession
from catalogue.annotations import gene_key
from catalogue.database import is_sqlite, vacuum
from catalogue.errors import Conflict
from catalogue.models import (
    Dataset,
    DatasetFile,
    Sample,
    SampleExclusion,
    Variant,
    VariantAnnotation,
    WithdrawnAllele,
    utcnow,
)
from catalogue.services import partitions

__all__ = [
    "AnnotationRecord", "SampleRecord", "VariantLoad", "VariantRecord", "begin_variant_load", "file_by_name",
    "file_by_checksum", "finish_variant_load", "refresh_statistics", "register_file", "remove_file",
    "replace_dataset_variants", "replace_file", "retire_dataset_variants", "upsert_samples", "variant_values",
    "Withdrawal", "withdraw_alleles", "write_annotations", "write_values", "write_variants",
]

_COLUMNS = ("dataset_id", "file_id", "chrom", "pos", "ref", "alt", "end", "variant_type", "length",
            "ac", "an", "het", "hom_alt", "hemi_alt", "groups")
_COLUMN_LIST = ", ".join(f'"{c}"' for c in _COLUMNS)  # quoted: END is reserved in PostgreSQL
_ANNOTATION_COLUMNS = ("dataset_id", "file_id", "chrom", "pos", "ref", "alt", "gene_key", "change", "gene",
                       "gene_id_key", "effects", "protein")
_ANNOTATION_LIST = ", ".join(f'"{c}"' for c in _ANNOTATION_COLUMNS)


class AnnotationRecord(Protocol):
    """What write_variants needs of one annotation of a variant (ingest.annotations.Annotation)."""

    @property
    def gene(self) -> str: ...
    @property
    def gene_id(self) -> str: ...
    @property
    def effects(self) -> Sequence[str]: ...
    @property
    def protein(self) -> str: ...
    @property
    def change(self) -> str: ...


class VariantRecord(Protocol):
    """What write_variants needs of a variant (read-only, so frozen dataclasses fit)."""

    @property
    def chrom(self) -> str: ...
    @property
    def pos(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def ref(self) -> str: ...
    @property
    def alt(self) -> str: ...
    @property
    def variant_type(self) -> str: ...
    @property
    def length(self) -> int: ...
    @property
    def ac(self) -> int: ...
    @property
    def an(self) -> int: ...
    @property
    def het(self) -> int: ...
    @property
    def hom_alt(self) -> int: ...
    @property
    def hemi_alt(self) -> int: ...
    @property
    def groups(self) -> Mapping[str, Sequence[int]]: ...
    @property
    def annotations(self) -> Sequence[AnnotationRecord]: ...


class SampleRecord(Protocol):
    """What upsert_samples needs of a sample's metadata."""

    @property
    def sample_id(self) -> str: ...
    @property
    def sex(self) -> str: ...
    @property
    def population(self) -> str | None: ...
    @property
    def phenotypes(self) -> Sequence[str]: ...
    @property
    def diseases(self) -> Sequence[str]: ...


def file_by_name(session: Session, dataset_id: str, name: str) -> DatasetFile | None:
    return session.exec(select(DatasetFile).where(
        DatasetFile.dataset_id == dataset_id, DatasetFile.name == name)).first()


def file_by_checksum(session: Session, dataset_id: str, sha256: str) -> DatasetFile | None:
    return session.exec(select(DatasetFile).where(
        DatasetFile.dataset_id == dataset_id, DatasetFile.sha256 == sha256)).first()


def register_file(session: Session, *, dataset_id: str, name: str, uri: str, fmt: str, size: int, md5: str,
                  sha256: str, index_uri: str | None) -> DatasetFile:
    """Record a file of the dataset (kept in the managed store); its accession is assigned."""
    row = DatasetFile(id=next_accession(session, FILE), dataset_id=dataset_id, name=name, uri=uri,
                      format=fmt, size=size, md5=md5, sha256=sha256, index_uri=index_uri)
    session.add(row)
    session.flush()
    return row


def replace_file(session: Session, old: DatasetFile, *, uri: str, size: int, md5: str, sha256: str,
                 index_uri: str | None, keep_variants: bool = False) -> DatasetFile:
    """A changed file keeps its accession; its variants and their annotations are removed, to be written anew
    (unless `keep_variants`: a VariantLoad that drops them replaces them)."""
    session.execute(delete(VariantAnnotation).where(col(VariantAnnotation.file_id) == old.id))
    if not keep_variants:
        session.execute(delete(Variant).where(col(Variant.dataset_id) == old.dataset_id,
                                              col(Variant.file_id) == old.id))
    old.uri, old.size, old.md5, old.sha256, old.index_uri = uri, size, md5, sha256, index_uri
    old.created_at = utcnow()
    session.add(old)
    session.flush()
    return old


def remove_file(session: Session, file: DatasetFile) -> None:
    session.execute(delete(VariantAnnotation).where(col(VariantAnnotation.file_id) == file.id))
    session.execute(delete(Variant).where(col(Variant.dataset_id) == file.dataset_id, col(Variant.file_id) == file.id))
    session.delete(file)
    session.flush()


def variant_values(v: VariantRecord) -> tuple[Any, ...]:
    """A variant as plain values for write_values (all but the dataset and file ids): cheap to pickle, so
    parallel readers can hand their rows over in this form."""
    groups = json.dumps({k: list(c) for k, c in v.groups.items()}, separators=(",", ":")) if v.groups else None
    annotations = tuple((gene_key(a.gene or a.gene_id), a.change, a.gene, gene_key(a.gene_id), "&".join(a.effects),
                         a.protein) for a in v.annotations) or None
    return (v.chrom, v.pos, v.ref, v.alt, v.end, v.variant_type, v.length, v.ac, v.an, v.het, v.hom_alt,
            v.hemi_alt, groups, annotations)


def write_variants(session: Session, dataset_id: str, file_id: str,
                   batches: Iterable[Sequence[VariantRecord]]) -> int:
    """Insert every batch of variants of one file (see write_values)."""
    return write_values(session, dataset_id, file_id, ([variant_values(v) for v in batch] for batch in batches))


def write_values(session: Session, dataset_id: str, file_id: str,
                 batches: Iterable[Sequence[tuple[Any, ...]]], *, into: VariantLoad | None = None) -> int:
    """Insert batches of variant_values() rows of one file, and their annotations; SQLite uses executemany,
    PostgreSQL COPY.

    `into`: a load of the dataset's variants (else the index itself). Conflict when a variant is in the
    dataset already (from another file); a load's rows are checked when it finishes.
    """
    if into is not None and into.dataset_id != dataset_id:
        raise ValueError(f"a load of {into.dataset_id} cannot take variants of {dataset_id}")
    target = into.table if into is not None else Variant.__tablename__
    connection = session.connection()
    raw: Any = connection.connection.driver_connection
    ids = (dataset_id, file_id)
    written = 0
    try:
        if is_sqlite(connection.engine):
            statement = (f"INSERT INTO {target} ({_COLUMN_LIST}) "
                         f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
            cursor = raw.cursor()
            for batch in batches:
                cursor.executemany(statement, [ids + values[:-1] for values in batch])
                _insert_annotations(raw, True, _annotation_rows(ids, batch))
                written += len(batch)
            return written
        with raw.cursor() as cursor:
            for batch in batches:  # one COPY per batch: a batch's annotations follow it in their own COPY
                with cursor.copy(f'COPY "{target}" ({_COLUMN_LIST}) FROM STDIN') as copy:
                    for values in batch:
                        copy.write_row(ids + values[:-1])
                _insert_annotations(raw, False, _annotation_rows(ids, batch))
                written += len(batch)
        return written
    except (sqlite3.IntegrityError, psycopg.IntegrityError):
        raise Conflict(f"dataset {dataset_id} holds some of these variants already") from None


def write_annotations(session: Session, dataset_id: str, file_id: str,
                      rows: Iterable[tuple[str, int, str, str, Sequence[tuple[Any, ...]]]]) -> int:
    """Insert the annotations of variants of one file written before: (chrom, pos, ref, alt, variant_values()'s
    annotation rows) each (ingestion publishing staged rows)."""
    connection = session.connection()
    ids = (dataset_id, file_id)
    values = [ids + tuple(row[:4]) + tuple(annotation) for row in rows for annotation in row[4]]
    _insert_annotations(connection.connection.driver_connection, is_sqlite(connection.engine), values)
    return len(values)


def _annotation_rows(ids: tuple[str, str], batch: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [ids + values[:4] + annotation for values in batch if values[-1] for annotation in values[-1]]


def _insert_annotations(raw: Any, sqlite: bool, rows: Sequence[tuple[Any, ...]]) -> None:
    """Annotation rows in bulk: executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    if sqlite:
        raw.cursor().executemany(f"INSERT INTO catalogue_variant_annotation ({_ANNOTATION_LIST}) "
                                 f"VALUES ({', '.join('?' for _ in _ANNOTATION_COLUMNS)})", rows)
        return
    with raw.cursor() as cursor, cursor.copy(
            f"COPY catalogue_variant_annotation ({_ANNOTATION_LIST}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def upsert_samples(session: Session, dataset_id: str, samples: Iterable[SampleRecord]) -> int:
    """Add the dataset's samples, or update their metadata when they exist already."""
    existing = {s.sample_id: s for s in session.exec(select(Sample).where(Sample.dataset_id == dataset_id))}
    new: list[dict[str, Any]] = []
    count = 0
    for record in samples:
        values = {"sex": record.sex, "population": record.population, "phenotypes": list(record.phenotypes),
                  "diseases": list(record.diseases)}
        row = existing.get(record.sample_id)
        if row is None:  # the common case (a first ingest): one bulk INSERT below, no ORM object per sample
            new.append({"dataset_id": dataset_id, "sample_id": record.sample_id, **values})
        else:
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
        count += 1
    session.flush()
    if new:
        session.execute(insert(Sample), new)
    return count


def refresh_statistics(session: Session, dataset_id: str, *, load: VariantLoad | None = None) -> dict[str, Any]:
    """Recount samples, variants, per-chromosome and per-type variants from the index itself (or from the
    load that is about to replace the dataset's variants: counted before the swap, which then ends soon)."""
    # samples whose opt-out is in effect are not counted, as a fresh ingest of the files without them would not
    samples = session.exec(select(func.count()).select_from(Sample).where(
        Sample.dataset_id == dataset_id, ~exists().where(col(SampleExclusion.dataset_id) == dataset_id,
                                                         col(SampleExclusion.sample_id) == col(Sample.sample_id)))
    ).one()
    v = table(load.table if load is not None else Variant.__tablename__,
              column("dataset_id"), column("chrom"), column("variant_type"), column("pos"), column("end"),
              column("ac"), column("an"), column("het"), column("hom_alt"), column("hemi_alt"))
    per_chrom = _pairs(session, select(v.c.chrom, func.count()).where(v.c.dataset_id == dataset_id)
                       .group_by(v.c.chrom))
    per_type = _pairs(session, select(v.c.variant_type, func.count()).where(v.c.dataset_id == dataset_id)
                      .group_by(v.c.variant_type))
    spans = _pairs(session, select(v.c.chrom, func.max(v.c.end - v.c.pos)).where(v.c.dataset_id == dataset_id)
                   .group_by(v.c.chrom))
    files = session.exec(select(func.count()).select_from(DatasetFile)
                         .where(DatasetFile.dataset_id == dataset_id)).one()
    carried = v.c.ac > 0
    unknown = session.execute(select(
        func.coalesce(func.sum(case((carried & (v.c.an == 0), 1), else_=0)), 0),
        func.coalesce(func.sum(case((carried & (v.c.het + v.c.hom_alt + v.c.hemi_alt == 0), 1), else_=0)), 0),
    ).where(v.c.dataset_id == dataset_id)).one()
    annotations = session.exec(select(func.count()).select_from(VariantAnnotation)
                               .where(VariantAnnotation.dataset_id == dataset_id)).one()
    stats = {
        "samples": samples, "variants": sum(per_chrom.values()), "files": files, "annotations": annotations,
        # What the index does not know (catalogue.counts): presence-only rows, and rows without carriers.
        "variants_without_counts": int(unknown[0]), "variants_without_carriers": int(unknown[1]),
        "per_chromosome": {c: per_chrom[c] for c in sorted(per_chrom, key=_chrom_rank)},
        "per_type": dict(sorted(per_type.items())),
        # Overlap queries use it to bound how far before a range a variant can start.
        "max_span_per_chromosome": {c: spans[c] for c in sorted(spans, key=_chrom_rank)},
    }
    session.execute(update(Dataset).where(col(Dataset.id) == dataset_id).values(statistics=stats))
    return stats


def _pairs(session: Session, statement: Any) -> dict[str, int]:
    return {str(key): int(value or 0) for key, value in session.execute(statement)}


def _chrom_rank(chrom: str) -> tuple[int, str]:
    return (int(chrom), "") if chrom.isdigit() else (100, chrom)


@dataclass(frozen=True, slots=True)
class VariantLoad:
    """A dataset's variants being replaced: rows go to `table` (write_values(into=...), or an INSERT ... SELECT
    from a staging table), and replace the dataset's variants at `finish_variant_load`, in the caller's
    transaction. On SQLite `table` is the index itself (the dropped rows were deleted at the start)."""

    dataset_id: str
    table: str
    partitioned: bool  # PostgreSQL: `table` becomes the dataset's partition


def begin_variant_load(session: Session, dataset_id: str, *, dropping_files: Sequence[str] = (),
                       keep_others: bool = True) -> VariantLoad:
    """Start replacing a dataset's variants: the new set holds its current variants but those of
    `dropping_files` (none at all when not `keep_others`), plus what is written into the load.

    On PostgreSQL the dataset's loads run one at a time (a lock held to the transaction's end), and readers
    see the old variants until the writer commits.
    """
    if is_sqlite(session.connection().engine):
        doomed = delete(Variant).where(col(Variant.dataset_id) == dataset_id)
        if keep_others:
            doomed = doomed.where(col(Variant.file_id).in_(list(dropping_files)))
        if dropping_files or not keep_others:
            session.execute(doomed)
        return VariantLoad(dataset_id, Variant.__tablename__, partitioned=False)
    partitions.lock_dataset(session, dataset_id)
    name = partitions.new_load_table(session, dataset_id,
                                     keep_except_files=tuple(dropping_files) if keep_others else None)
    return VariantLoad(dataset_id, name, partitioned=True)


def finish_variant_load(session: Session, load: VariantLoad) -> None:
    """Make the load the dataset's variants (PostgreSQL: index it, then swap partitions; the parent is locked
    from here to the commit, so commit soon; once committed, the new partition is vacuumed). Conflict when the
    rows hold one allele twice."""
    if not load.partitioned:
        return
    try:
        partitions.swap_in(session, load.dataset_id, load.table)
    except partitions.DuplicateVariant:
        raise Conflict(f"dataset {load.dataset_id} would hold some variants twice (two of its files hold "
                       "the same allele)") from None
    engine = session.connection().engine
    # Counts are index-only scans once the partition's pages are all-visible (partitions.LOCUS_INCLUDE).
    event.listen(session, "after_commit", lambda _: vacuum(engine, load.table), once=True)


def replace_dataset_variants(session: Session, dataset_id: str,
                             files: Iterable[tuple[str, Iterable[Sequence[tuple[Any, ...]]]]], *,
                             dropping_files: Sequence[str] = (), keep_others: bool = True) -> int:
    """Replace a dataset's variants in one go: (file id, batches of variant_values() rows) per file written,
    the rows of `dropping_files` (or, without `keep_others`, all others) gone. Returns the rows written."""
    load = begin_variant_load(session, dataset_id, dropping_files=dropping_files, keep_others=keep_others)
    written = sum(write_values(session, dataset_id, file_id, batches, into=load) for file_id, batches in files)
    finish_variant_load(session, load)
    return written


def retire_dataset_variants(session: Session, dataset_id: str) -> None:
    """Remove every variant of the dataset from the index (PostgreSQL: detach and drop its partition), and the
    alleles opt-outs withdrew from it."""
    session.execute(delete(WithdrawnAllele).where(col(WithdrawnAllele.dataset_id) == dataset_id))
    if is_sqlite(session.connection().engine):
        session.execute(delete(Variant).where(col(Variant.dataset_id) == dataset_id))
        return
    partitions.lock_dataset(session, dataset_id)
    partitions.drop_dataset_partition(session, dataset_id)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """An allele applying opt-outs took out of the counts: no longer carried at all, or no longer by `groups`."""

    chrom: str
    pos: int
    ref: str
    alt: str
    end: int
    variant_type: str
    length: int
    groups: tuple[str, ...]


def withdraw_alleles(session: Session, dataset_id: str, withdrawals: Iterable[Withdrawal]) -> int:
    """Remember alleles (and group presences) the dataset's counts no longer show, added to those remembered before
    (catalogue_withdrawn_allele: budgeted yes/no answers keep answering yes for them). Does not commit."""
    count = 0
    for w in withdrawals:
        key = (dataset_id, w.chrom, w.pos, w.ref, w.alt)
        row = session.get(WithdrawnAllele, key)
        groups = {g: [1, 0, 0, 0] for g in w.groups}
        if row is None:
            row = WithdrawnAllele(dataset_id=dataset_id, chrom=w.chrom, pos=w.pos, ref=w.ref, alt=w.alt, end=w.end,
                                   variant_type=w.variant_type, length=w.length, ac=1, groups=groups or None)
        else:
            row.groups = {**(row.groups or {}), **groups} or None
        session.add(row)
        count += 1
    session.flush()
    return count
