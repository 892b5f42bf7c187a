"""The peers of this node: where they are, what they forward, and their health as last seen."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, String
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow

__all__ = ["Forwarding", "Peer", "PeerCreate", "PeerPublic", "PeerState", "PeersPublic"]

MAX_URL = 500


class Forwarding(StrEnum):
    """What of the caller's identity a query forwarded to the peer carries."""

    none = "none"  # the peer sees an anonymous caller
    bearer = "bearer"  # the caller's bearer token (only to peers that trust the same issuer)
    passport = "passport"  # the caller's GA4GH passport visas, in X-GA4GH-Passport


class PeerState(StrEnum):
    unknown = "unknown"  # added, not checked since
    healthy = "healthy"
    failing = "failing"  # failed lately, still asked
    backed_off = "backed_off"  # failed too often: not asked until `retry_at` (its circuit is open)


class Peer(SQLModel, table=True):
    """A node this one federates with: its Beacon, what it is sent, and its health."""

    __tablename__ = "network_peer"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    beacon_url: str = Field(max_length=MAX_URL, unique=True)  # its Beacon v2 root, e.g. https://x.eu/beacon/v2
    node_url: str | None = Field(default=None, max_length=MAX_URL)  # its GenomeGate base URL, when it is one
    beacon_id: str = Field(max_length=200)
    api_version: str = Field(max_length=32)
    forward: str = Field(default=Forwarding.none, sa_type=String(16))
    service_info: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    added_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    added_by: str = Field(max_length=320)
    state: str = Field(default=PeerState.unknown, sa_type=String(16))
    failures: int = 0  # consecutive
    checked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    ok_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    retry_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    latency_ms: float | None = None
    last_error: str | None = Field(default=None, max_length=500)


class PeerCreate(SQLModel):
    url: str = Field(min_length=8, max_length=MAX_URL, description="the peer's Beacon v2 root or GenomeGate base URL")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    forward: Forwarding = Forwarding.none


class PeerPublic(SQLModel):
    id: str
    name: str
    beacon_url: str
    node_url: str | None
    beacon_id: str
    api_version: str
    forward: Forwarding
    added_at: UtcDatetime
    state: PeerState
    failures: int
    checked_at: UtcDatetime | None
    ok_at: UtcDatetime | None
    retry_at: UtcDatetime | None
    latency_ms: float | None
    last_error: str | None


class PeersPublic(SQLModel):
    data: list[PeerPublic]
    count: int
