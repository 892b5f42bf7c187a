"""The witness's tables: the peers' logs it watches (their pinned keys), its countersignatures, and its alarms."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow

__all__ = [
    "AlarmAcknowledgement", "AlarmKind", "AlarmPublic", "Countersignature", "CountersignaturePublic",
    "CountersignaturesPublic", "WitnessAlarm", "WatchedLog", "WatchedLogPublic",
]

MAX_URL = 500
MAX_NOTE = 1_000  # characters of an acknowledgement


def _ts(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class AlarmKind(StrEnum):
    """Why a peer's checkpoint was not countersigned."""

    inconsistent = "inconsistent"  # it does not extend the checkpoint witnessed before: history was rewritten
    key_changed = "key_changed"  # the peer's audit key is not the one pinned when it was first seen
    bad_signature = "bad_signature"  # the checkpoint does not verify with the pinned key
    wrong_origin = "wrong_origin"  # the checkpoint names another log than the peer's


class WatchedLog(SQLModel, table=True):
    """A peer's audit log this node witnesses: the key pinned the first time it was seen, and the last look."""

    __tablename__ = "network_witness_log"
    origin: str = Field(primary_key=True, max_length=MAX_URL)  # the peer's node URL, which its checkpoints name
    peer_id: str | None = Field(default=None, max_length=64)
    key_x: str = Field(max_length=64)  # the pinned Ed25519 public key (base64url, as in its JWK)
    key_id: str = Field(max_length=64)
    pinned_at: datetime = _ts()
    pinned_by: str = Field(default="first use", max_length=320)
    checked_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)  # the last look's failure to reach the peer


class Countersignature(SQLModel, table=True):
    """A peer's checkpoint that this node verified (signature, consistency with the last one) and signed too."""

    __tablename__ = "network_countersignature"
    __table_args__ = (UniqueConstraint("origin", "size"),)
    id: int | None = Field(default=None, primary_key=True)
    origin: str = Field(max_length=MAX_URL, index=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: str = Field(max_length=64)  # hex
    witness: str = Field(max_length=MAX_URL)  # this node's URL
    time: str = Field(max_length=32)  # when it was countersigned (UTC, ISO 8601), as signed
    made_at: datetime = _ts()
    key_id: str = Field(max_length=64)  # this node's audit key
    note: str = Field(sa_type=Text)  # the exact text countersigned
    signature: str = Field(max_length=200)
    checkpoint_note: str = Field(sa_type=Text)  # the peer's own signed checkpoint: evidence of what it claimed
    checkpoint_signature: str = Field(max_length=200)
    checkpoint_key_id: str = Field(max_length=64)


class WitnessAlarm(SQLModel, table=True):
    """A peer's checkpoint this node refused to countersign, and why; one row per distinct claim, seen again or not."""

    __tablename__ = "network_witness_alarm"
    id: int | None = Field(default=None, primary_key=True)
    origin: str = Field(max_length=MAX_URL, index=True)
    peer_id: str | None = Field(default=None, max_length=64)
    kind: str = Field(sa_type=String(16))
    message: str = Field(max_length=1_000)
    size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    root: str | None = Field(default=None, max_length=64)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    first_seen: datetime = _ts()
    last_seen: datetime = _ts()
    times: int = 1
    acknowledged_at: datetime | None = _ts(nullable=True)  # an admin looked into it (seen again: stays so)
    acknowledged_by: str | None = Field(default=None, max_length=320)
    acknowledgement: str | None = Field(default=None, max_length=MAX_NOTE)  # what they found or did


class WatchedLogPublic(SQLModel):
    origin: str
    peer_id: str | None
    key_id: str
    pinned_at: UtcDatetime
    pinned_by: str
    checked_at: UtcDatetime | None
    last_error: str | None
    size: int | None  # the latest countersigned size
    root: str | None
    countersigned_at: str | None
    alarms: int


class CountersignaturePublic(SQLModel):
    """A countersignature as served: this witness signed `note` (witness, origin, size, base64 root, time)."""

    witness: str
    origin: str
    size: int
    root: str
    time: str
    key_id: str
    note: str
    signature: str
    checkpoint_note: str
    checkpoint_signature: str
    checkpoint_key_id: str


class CountersignaturesPublic(SQLModel):
    data: list[CountersignaturePublic]
    count: int


class AlarmPublic(SQLModel):
    id: int
    origin: str
    peer_id: str | None
    kind: AlarmKind
    message: str
    size: int | None
    root: str | None
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    times: int
    acknowledged_at: UtcDatetime | None
    acknowledged_by: str | None
    acknowledgement: str | None


class AlarmAcknowledgement(SQLModel):
    """An admin's acknowledgement of an alarm: what they found or did about it."""

    note: str = Field(min_length=1, max_length=MAX_NOTE)
