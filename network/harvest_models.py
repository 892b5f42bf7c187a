"""The federated catalogue's tables: the datasets harvested from each peer's DCAT-AP catalogue, and each harvest.

A remote dataset is keyed by its peer and its identifier at its home node, so a harvest that finds it again
updates the same row (other areas may refer to it by that pair); one that no longer finds it deletes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, String, Text
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow
from network.models import MAX_URL, PeerPublic

__all__ = ["MAX_REMOTE_ID", "HarvestResultPublic", "HarvestResultsPublic", "NetworkDatasetPublic",
           "NetworkDatasetsPublic", "PeerHarvest", "PeerHarvestPublic", "PeerHarvestsPublic", "PeerStatusPublic",
           "RemoteDataset", "RemoteDatasetPublic", "RemoteDatasetRecord"]

MAX_REMOTE_ID = 200  # a dataset's identifier at its home node (dct:identifier)


def _peer_key() -> Any:
    return Field(sa_column=Column(String(64), ForeignKey("network_peer.id", ondelete="CASCADE"), primary_key=True))


class RemoteDataset(SQLModel, table=True):
    """A dataset of a peer's catalogue, as its last successful harvest described it."""

    __tablename__ = "network_remote_dataset"
    peer_id: str = _peer_key()
    dataset_id: str = Field(primary_key=True, max_length=MAX_REMOTE_ID)  # dct:identifier at its home node
    iri: str = Field(max_length=MAX_URL)  # the dataset's IRI (@id) in the peer's catalogue
    landing_page: str | None = Field(default=None, max_length=MAX_URL)  # dcat:landingPage: its page at home
    title: str = Field(max_length=1_000)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    themes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # dcat:theme IRIs
    health_themes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # CURIEs or IRIs
    duo: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # DUO CURIEs (dct:rights)
    access_rights: str | None = Field(default=None, max_length=MAX_URL)  # dct:accessRights IRI
    security: str | None = Field(default=None, sa_type=String(16))  # PUBLIC|REGISTERED|CONTROLLED, when known
    dac_name: str | None = Field(default=None, max_length=300)
    dac_iri: str | None = Field(default=None, max_length=MAX_URL)
    dac_node_url: str | None = Field(default=None, max_length=MAX_URL)  # the node the DAC sits at, when said
    assembly: str | None = Field(default=None, sa_type=String(16))  # GRCh37|GRCh38, from dct:conformsTo
    publisher: str | None = Field(default=None, max_length=300)
    publisher_iri: str | None = Field(default=None, max_length=MAX_URL)
    issued: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    modified: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the JSON-LD node
    harvested_at: datetime = Field(default_factory=utcnow,
                                   sa_column=Column(DateTime(timezone=True), nullable=False))


class PeerHarvest(SQLModel, table=True):
    """The last harvest of one peer's catalogue: when it was tried, when it last worked, and why it failed."""

    __tablename__ = "network_harvest"
    peer_id: str = _peer_key()
    attempted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    succeeded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    datasets: int = 0  # held from the last successful harvest
    failures: int = 0  # consecutive failed harvests
    last_error: str | None = Field(default=None, max_length=500)  # of the last attempt, if it failed


class RemoteDatasetPublic(SQLModel):
    peer_id: str
    dataset_id: str
    iri: str
    landing_page: str | None
    title: str
    description: str
    keywords: list[str]
    themes: list[str]
    health_themes: list[str]
    duo: list[str]
    access_rights: str | None
    security: str | None
    dac_name: str | None
    dac_iri: str | None
    dac_node_url: str | None
    assembly: str | None
    publisher: str | None
    publisher_iri: str | None
    issued: UtcDatetime | None
    modified: UtcDatetime | None
    harvested_at: UtcDatetime


class PeerHarvestPublic(SQLModel):
    peer_id: str
    attempted_at: UtcDatetime | None
    succeeded_at: UtcDatetime | None
    datasets: int
    failures: int
    last_error: str | None


class RemoteDatasetRecord(RemoteDatasetPublic):
    """A remote dataset with the JSON-LD node its peer's catalogue gave, and where it lives."""

    peer_name: str
    home_url: str | None  # its page at its home node
    jsonld: dict[str, Any]


class NetworkDatasetPublic(SQLModel):
    """A dataset of the federated catalogue, this node's own (node `local`) or a peer's."""

    node: str  # "local" or the peer's id
    node_name: str
    id: str  # its identifier at its home node
    title: str
    description: str
    keywords: list[str]
    assembly: str | None
    security: str | None
    duo: list[str]
    publisher: str | None
    dac_name: str | None
    dac_node_url: str | None  # the node its DAC sits at, when known
    page_url: str  # its page on this node
    home_url: str | None  # its page at its home node (for this node's own: the same as page_url)


class NetworkDatasetsPublic(SQLModel):
    data: list[NetworkDatasetPublic]
    count: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]]


class HarvestResultPublic(SQLModel):
    peer_id: str
    ok: bool
    datasets: int  # held now: this harvest's if ok, else the last good harvest's
    error: str | None


class HarvestResultsPublic(SQLModel):
    data: list[HarvestResultPublic]
    count: int


class PeerHarvestsPublic(SQLModel):
    data: list[PeerHarvestPublic]
    count: int


class PeerStatusPublic(PeerPublic):
    """A peer's health and its catalogue's last harvest (None: never harvested)."""

    harvest: PeerHarvestPublic | None
