"""The variant index of a dataset: its files, samples and variants, written in bulk, and its statistics.

Nothing here commits: ingest writes a whole ingestion in one transaction and commits once, so that a
failed or killed ingest leaves the catalogue exactly as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import psycopg
from sqlalchemy import case, delete, func, insert, update
from sqlmodel import Session, col, select

from catalogue.accessions import FILE, next_accession
from catalogue.annotations import gene_key
from catalogue.database import is_sqlite
from catalogue.errors import Conflict
from catalogue.models import Dataset, DatasetFile, Sample, Variant, VariantAnnotation, utcnow

__all__ = [
    "AnnotationRecord", "SampleRecord", "VariantRecord", "file_by_name", "file_by_checksum", "refresh_statistics",
    "register_file",
    "remove_file", "replace_file", "upsert_samples", "variant_values", "write_annotations", "write_values",
    "write_variants",
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
                 index_uri: str | None) -> DatasetFile:
    """A changed file keeps its accession; its variants are removed, to be written anew."""
    session.execute(delete(VariantAnnotation).where(col(VariantAnnotation.file_id) == old.id))
    session.execute(delete(Variant).where(col(Variant.file_id) == old.id))
    old.uri, old.size, old.md5, old.sha256, old.index_uri = uri, size, md5, sha256, index_uri
    old.created_at = utcnow()
    session.add(old)
    session.flush()
    return old


def remove_file(session: Session, file: DatasetFile) -> None:
    session.execute(delete(VariantAnnotation).where(col(VariantAnnotation.file_id) == file.id))
    session.execute(delete(Variant).where(col(Variant.file_id) == file.id))
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
                 batches: Iterable[Sequence[tuple[Any, ...]]]) -> int:
    """Insert batches of variant_values() rows of one file, and their annotations; SQLite uses executemany,
    PostgreSQL COPY.

    Conflict when a variant is in the dataset already (from another file).
    """
    connection = session.connection()
    raw: Any = connection.connection.driver_connection
    ids = (dataset_id, file_id)
    written = 0
    try:
        if is_sqlite(connection.engine):
            statement = (f"INSERT INTO catalogue_variant ({_COLUMN_LIST}) "
                         f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
            cursor = raw.cursor()
            for batch in batches:
                cursor.executemany(statement, [ids + values[:-1] for values in batch])
                _insert_annotations(raw, True, _annotation_rows(ids, batch))
                written += len(batch)
            return written
        with raw.cursor() as cursor:
            for batch in batches:  # one COPY per batch: a batch's annotations follow it in their own COPY
                with cursor.copy(f"COPY catalogue_variant ({_COLUMN_LIST}) FROM STDIN") as copy:
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


def refresh_statistics(session: Session, dataset_id: str) -> dict[str, Any]:
    """Recount samples, variants, per-chromosome and per-type variants from the index itself."""
    samples = session.exec(select(func.count()).select_from(Sample).where(Sample.dataset_id == dataset_id)).one()
    per_chrom = dict(session.exec(select(Variant.chrom, func.count()).where(Variant.dataset_id == dataset_id)
                                  .group_by(Variant.chrom)).all())
    per_type = dict(session.exec(select(Variant.variant_type, func.count()).where(Variant.dataset_id == dataset_id)
                                 .group_by(Variant.variant_type)).all())
    spans = dict(session.exec(select(Variant.chrom, func.max(col(Variant.end) - col(Variant.pos)))
                              .where(Variant.dataset_id == dataset_id).group_by(Variant.chrom)).all())
    files = session.exec(select(func.count()).select_from(DatasetFile)
                         .where(DatasetFile.dataset_id == dataset_id)).one()
    carried = col(Variant.ac) > 0
    unknown = session.exec(select(
        func.coalesce(func.sum(case((carried & (col(Variant.an) == 0), 1), else_=0)), 0),
        func.coalesce(func.sum(case((carried & (col(Variant.het) + col(Variant.hom_alt) + col(Variant.hemi_alt) == 0),
                                     1), else_=0)), 0),
    ).where(Variant.dataset_id == dataset_id)).one()
    annotations = session.exec(select(func.count()).select_from(VariantAnnotation)
                               .where(VariantAnnotation.dataset_id == dataset_id)).one()
    stats = {
        "samples": samples, "variants": sum(per_chrom.values()), "files": files, "annotations": annotations,
        # What the index does not know (catalogue.counts): presence-only rows, and rows without carriers.
        "variants_without_counts": int(unknown[0]), "variants_without_carriers": int(unknown[1]),
        "per_chromosome": {c: per_chrom[c] for c in sorted(per_chrom, key=_chrom_rank)},
        "per_type": dict(sorted(per_type.items())),
        # Overlap queries use it to bound how far before a range a variant can start.
        "max_span_per_chromosome": {c: int(spans[c] or 0) for c in sorted(spans, key=_chrom_rank)},
    }
    session.execute(update(Dataset).where(col(Dataset.id) == dataset_id).values(statistics=stats))
    return stats


def _chrom_rank(chrom: str) -> tuple[int, str]:
    return (int(chrom), "") if chrom.isdigit() else (100, chrom)
