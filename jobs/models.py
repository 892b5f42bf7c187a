"""Tables of the job ledger: every job (its kind, payload, state, lease, attempts) and the periodic slots."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, String
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow

__all__ = ["Job", "JobPublic", "JobState", "JobsPublic", "Schedule"]


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


ENDED = (JobState.succeeded, JobState.failed)


class Job(SQLModel, table=True):
    """One unit of background work. Its row is the truth; the broker only carries its id to a worker."""

    __tablename__ = "jobs_job"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=100, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=JobState.queued, sa_type=String(16), index=True)
    attempts: int = 0
    max_attempts: int = 3
    not_before: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    # the claim of the worker running it: a token naming the worker, and when its lease ends unless renewed
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    error: str | None = Field(default=None, max_length=500)
    progress_done: int | None = None
    progress_total: int | None = None
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    parent_id: int | None = Field(default=None, index=True)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Schedule(SQLModel, table=True):
    """A periodic kind's next slot: the worker whose conditional update moves `next_due` on runs that slot."""

    __tablename__ = "jobs_schedule"
    name: str = Field(primary_key=True, max_length=100)
    next_due: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class JobPublic(SQLModel):
    id: int
    kind: str
    payload: dict[str, Any]
    state: JobState
    attempts: int
    max_attempts: int
    not_before: UtcDatetime
    lease_owner: str | None
    lease_expires_at: UtcDatetime | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    error: str | None
    progress_done: int | None
    progress_total: int | None
    dedupe_key: str | None
    parent_id: int | None
    result: dict[str, Any] | None


class JobsPublic(SQLModel):
    """A page of jobs, newest first, and how many match the filters in all."""

    data: list[JobPublic]
    count: int
