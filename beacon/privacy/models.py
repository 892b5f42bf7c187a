"""Tables of the privacy budget: what each account, organisation or address has spent, and what it asked."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

__all__ = ["PrivacyLedger", "PrivacyQuestion"]


def _now() -> datetime:
    return datetime.now(UTC)


class PrivacyLedger(SQLModel, table=True):
    """One budget: a holder's (account, organisation or address) spending on one dataset in the current period."""

    __tablename__ = "beacon_privacy_ledger"
    holder: str = Field(primary_key=True, max_length=400)
    dataset_id: str = Field(primary_key=True, max_length=16, foreign_key="catalogue_dataset.id")
    kind: str = Field(max_length=16, description="account, organisation or address")
    organisation: str | None = Field(default=None, max_length=320, description="an account's organisation")
    spent: float = 0.0
    period_start: datetime = Field(default_factory=_now, sa_column=Column(DateTime(timezone=True), nullable=False))
    locked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    answered: int = 0
    refused: int = 0
    rare: int = 0
    alerted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class PrivacyQuestion(SQLModel, table=True):
    """A question a holder was charged for: asked again, it is answered again for nothing."""

    __tablename__ = "beacon_privacy_question"
    holder: str = Field(primary_key=True, max_length=400)
    dataset_id: str = Field(primary_key=True, max_length=16, foreign_key="catalogue_dataset.id")
    question: str = Field(primary_key=True, max_length=64)
    cost: float
    rare: bool = False
    label: str = Field(default="", max_length=300, description="the question as the index sees it")
    asked_at: datetime = Field(default_factory=_now, sa_column=Column(DateTime(timezone=True), nullable=False))
