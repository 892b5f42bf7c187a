"""Release tables and their API families: researchers' Crypt4GH public keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow

__all__ = ["KEY_PREFIX", "ResearcherKey", "ResearcherKeyCreate", "ResearcherKeyPublic"]

KEY_PREFIX = "GGK"


def _ts(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class ResearcherKeyBase(SQLModel):
    label: str = Field(default="", max_length=200, description="a name for the key, e.g. 'laptop'")


class ResearcherKeyCreate(ResearcherKeyBase):
    public_key: str = Field(max_length=4_000, description="a Crypt4GH public key file's content "
                            "(-----BEGIN CRYPT4GH PUBLIC KEY-----), an ssh-ed25519 public key, or base64 of 32 bytes")


class ResearcherKey(ResearcherKeyBase, table=True):
    """A researcher's X25519 public key: downloads are encrypted to their newest active key (or the one named)."""

    __tablename__ = "access_researcher_key"
    __table_args__ = (UniqueConstraint("subject", "fingerprint"),)
    id: str = Field(primary_key=True, max_length=16)
    subject: str = Field(max_length=320, index=True)
    public_key: str = Field(max_length=64, description="base64 of the 32-byte X25519 key")
    fingerprint: str = Field(max_length=64, description="sha256 of the key, hex")
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class ResearcherKeyPublic(ResearcherKeyBase):
    id: str
    public_key: str
    fingerprint: str
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None
