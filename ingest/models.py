"""Ingestion jobs: what was asked, how far it got, what it found, and its provenance."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow

__all__ = ["IngestionChunk", "IngestionCreate", "IngestionJob", "IngestionPublic", "JobState",
           "StagedVariant"]


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


def _file_name(path: str) -> str:
    if "\x00" in path:
        raise ValueError("a path cannot hold a NUL character")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a path cannot hold a lone surrogate (it is not text)") from None
    return path


# A path relative to the import directory, as a file system can hold it.
ImportPath = Annotated[str, StringConstraints(min_length=1, max_length=1_000), AfterValidator(_file_name)]


class IngestionCreate(SQLModel):
    """An ingestion asked for over HTTP: paths relative to the import directory."""

    files: list[ImportPath] = Field(min_length=1, max_length=200)
    samples: ImportPath | None = Field(default=None, description="sample sheet (TSV/CSV)")
    reference: ImportPath | None = Field(default=None, description="indexed FASTA for left-alignment")
    pass_only: bool = True


class IngestionJob(SQLModel, table=True):
    __tablename__ = "ingest_job"
    id: str = Field(primary_key=True, max_length=16)
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", max_length=16, index=True)
    state: str = Field(default=JobState.queued, sa_type=String(16))
    requested_by: str = Field(max_length=320)
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    records_done: int = 0
    records_total: int | None = None
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    error: str | None = None
    provenance: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    job_id: int | None = Field(default=None)  # the job (jobs_job) that runs it: its plan job
    # What planning found (ingest/chunks.py): the stored files to index, the samples and their groups; what
    # the chunks read and publishing makes visible.
    plan: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class IngestionPublic(SQLModel):
    id: str
    dataset_id: str
    state: JobState
    requested_by: str
    options: dict[str, Any]
    records_done: int
    records_total: int | None
    counts: dict[str, Any]
    warnings: list[str]
    error: str | None
    provenance: dict[str, Any]
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    job_id: int | None


class IngestionChunk(SQLModel, table=True):
    """One region of one stored file of an ingestion: read by any worker, its rows staged until publishing."""

    __tablename__ = "ingest_chunk"
    ingestion_id: str = Field(sa_column=Column(String(16), ForeignKey("ingest_job.id", ondelete="CASCADE"),
                                               primary_key=True))
    number: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    file_name: str = Field(max_length=1_000)  # as ingested
    path: str = Field(max_length=4_000)  # in the store
    contig: str | None = Field(default=None, max_length=255)  # as the file spells it; None: the whole file
    start: int = 1
    end: int | None = None  # inclusive; None: to the contig's end
    records_before: int = 0  # records of the file before this chunk's contig
    records: int = 0  # an estimate, from the index
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # once staged
    staged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class StagedVariant(SQLModel, table=True):
    """A row a chunk read, kept here until its ingestion is published (UNLOGGED on PostgreSQL).

    `spill` marks a row whose (normalised) position lies outside its chunk's region: only such rows can meet a
    row of the same allele from another chunk, which publishing merges as one reader merges them."""

    __tablename__ = "ingest_staged_variant"
    ingestion_id: str = Field(primary_key=True, max_length=16)
    chunk: int = Field(primary_key=True)
    chrom: str = Field(primary_key=True, max_length=8)
    pos: int = Field(primary_key=True)
    ref: str = Field(primary_key=True)
    alt: str = Field(primary_key=True)
    end: int
    variant_type: str = Field(max_length=8)
    length: int
    ac: int
    an: int
    het: int
    hom_alt: int
    hemi_alt: int
    groups: str | None = Field(default=None, sa_type=Text)  # JSON text, as variant_values() gives it
    annotations: str | None = Field(default=None, sa_type=Text)  # JSON text: variant_values()'s annotation rows
    spill: bool = False
