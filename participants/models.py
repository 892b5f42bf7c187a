"""Participant tables: link sheets (versioned per dataset) and their links, sample -> keyed hash of the person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow

__all__ = ["LinkSheet", "LinkSheetPublic", "NoticeSubscription", "ParticipantLink"]


class LinkSheet(SQLModel, table=True):
    """One upload of a dataset's link sheet; the newest (not superseded) one is in force, older ones are history."""

    __tablename__ = "participants_link_sheet"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)  # two uploads at once cannot both be version n
    id: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(foreign_key="catalogue_dataset.id", max_length=16, index=True)
    version: int = Field(description="1 for a dataset's first sheet, then one more for each")
    links: int = Field(description="how many samples it links")
    sha256: str = Field(max_length=64, description="SHA-256 of the uploaded sheet's bytes")
    uploaded_by: str = Field(max_length=320)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    superseded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ParticipantLink(SQLModel, table=True):
    """A sample of a sheet and the keyed hash of its participant's identifier (participants.keys)."""

    __tablename__ = "participants_link"
    __table_args__ = (Index("ix_participants_link_hash_sheet", "participant_hash", "sheet_id"),)
    sheet_id: int = Field(foreign_key="participants_link_sheet.id", primary_key=True)
    sample_id: str = Field(primary_key=True, max_length=200)
    dataset_id: str = Field(max_length=16)
    participant_hash: str = Field(max_length=64)


class LinkSheetPublic(SQLModel):
    id: int
    dataset_id: str
    version: int
    links: int
    sha256: str
    uploaded_by: str
    uploaded_at: UtcDatetime
    superseded_at: UtcDatetime | None
    in_force: bool


class NoticeSubscription(SQLModel, table=True):
    """A participant's wish to be told by e-mail of new approvals covering their data; the address is sealed
    (catalogue.sealed, under the participant key), never kept in clear."""

    __tablename__ = "participants_notice"
    participant_hash: str = Field(primary_key=True, max_length=64)
    address: str = Field(max_length=320, description="the sealed address")
    after_line: int = Field(description="approvals logged after this audit line are still to be told")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
