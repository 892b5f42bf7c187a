"""Access tables and their API families: requests, their history, votes, attachments, entitlements, audit, outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import EmailStr, StringConstraints
from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from catalogue.models import UtcDatetime, utcnow

__all__ = [
    "AccessRequest", "AccessRequestDataset", "Attachment", "AttachmentPublic", "AuditCheckpoint", "AuditEvent",
    "AuditEventPublic",
    "Command", "Entitlement", "EntitlementPublic", "Notification", "RequestCreate", "RequestEvent",
    "RequestEventPublic", "RequestPublic", "RequestState", "RequestUpdate", "RemoteDataset", "RemoteDatasetFacts",
    "Vote", "VoteChoice", "VotePublic", "DATASET_REF", "is_remote",
]

# A request, an entitlement or an audit line names a dataset held here by its id (GGD000001) and one held at
# another node (whose DAC sits here) by its URL there: https://node-a.example.org/api/datasets/GGD000001.
# The two never collide (an id has no '/'), so what grants a local dataset never grants a remote one.
DATASET_REF = 500


def is_remote(dataset_ref: str) -> bool:
    """Whether a dataset reference is a remote dataset's URL (else it is the id of a dataset held here)."""
    return "://" in dataset_ref


def _ts(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class RequestState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"
    closed = "closed"


class Command(StrEnum):
    submit = "submit"
    return_ = "return"
    approve = "approve"
    reject = "reject"
    withdraw = "withdraw"
    close = "close"
    comment = "comment"
    vote = "vote"
    recuse = "recuse"
    revoke = "revoke"


class VoteChoice(StrEnum):
    approve = "approve"
    reject = "reject"


class RequestBase(SQLModel):
    project_title: str = Field(min_length=1, max_length=300)
    lay_summary: str = Field(default="", max_length=10_000)
    purpose: list[str] = Field(default_factory=list, max_length=20, sa_column=Column(JSON, nullable=False),
                               description="research purpose as DUO terms (e.g. HMB, DS, POA, DUO:0000031)")
    disease_terms: list[str] = Field(default_factory=list, max_length=20, sa_column=Column(JSON, nullable=False))
    institution: str = Field(default="", max_length=300)
    for_profit: bool = Field(default=False, description="the applicant's organisation is commercial / for profit")
    co_applicants: list[str] = Field(default_factory=list, max_length=20, sa_column=Column(JSON, nullable=False),
                                     description="subjects who may read the request and are entitled on approval")


class RequestCreate(RequestBase):
    datasets: list[Annotated[str, StringConstraints(min_length=1, max_length=DATASET_REF)]] = Field(
        min_length=1, max_length=50, description="ids of datasets held here, or URLs of datasets held at other "
                                                 "nodes whose DAC sits here (from the harvested catalogue)")
    renewal_of: str | None = None


class RequestUpdate(SQLModel):
    project_title: str | None = Field(default=None, min_length=1, max_length=300)
    lay_summary: str | None = Field(default=None, max_length=10_000)
    purpose: list[str] | None = Field(default=None, max_length=20)
    disease_terms: list[str] | None = Field(default=None, max_length=20)
    institution: str | None = Field(default=None, max_length=300)
    for_profit: bool | None = None
    co_applicants: list[str] | None = Field(default=None, max_length=20)
    accept_agreements: dict[str, str] | None = Field(
        default=None, description="dataset id -> version of its data access agreement the applicant accepts")


class AccessRequest(RequestBase, table=True):
    __tablename__ = "access_request"
    id: str = Field(primary_key=True, max_length=16)
    applicant: str = Field(max_length=320, index=True)
    applicant_email: str | None = Field(default=None, max_length=320)
    dac_id: str = Field(max_length=16, index=True)
    state: str = Field(default=RequestState.draft, sa_type=String(16), index=True)
    accepted_agreements: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    duo_verdict: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    renewal_of: str | None = Field(default=None, max_length=16)
    decision_reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str | None = Field(default=None, max_length=320)
    access_end: datetime | None = _ts(nullable=True)
    version: int = Field(default=1, description="bumped by every state change: guards concurrent decisions")
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    submitted_at: datetime | None = _ts(nullable=True)
    decided_at: datetime | None = _ts(nullable=True)


class AccessRequestDataset(SQLModel, table=True):
    __tablename__ = "access_request_dataset"
    request_id: str = Field(foreign_key="access_request.id", primary_key=True, max_length=16)
    dataset_id: str = Field(primary_key=True, max_length=DATASET_REF, index=True)  # an id, or a remote one's URL


class RemoteDatasetFacts(SQLModel):
    """What this node knows of a dataset held at another node whose DAC sits here (from the harvested catalogue):
    enough for a request to be made, checked against its data use conditions and decided here."""

    url: str = Field(primary_key=True, max_length=DATASET_REF, description="its URL at the node holding it")
    node_url: str = Field(max_length=500, description="the holding node's base URL")
    dataset_id: str = Field(max_length=100, description="its id at the holding node")
    title: str = Field(max_length=300)
    dac_id: str = Field(max_length=16, description="the DAC of this node that decides access to it")
    security: str = Field(max_length=16)
    duo: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    disease_terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    dua_version: str = Field(default="1", max_length=40)


class RemoteDataset(RemoteDatasetFacts, table=True):
    """A remote dataset as it stood when a request here last named it: requests are checked and decided
    against these terms."""

    __tablename__ = "access_remote_dataset"
    seen_at: datetime = _ts()


class RequestEvent(SQLModel, table=True):
    """The request's history as its members see it: commands, comments, votes, decisions."""

    __tablename__ = "access_request_event"
    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="access_request.id", max_length=16, index=True)
    actor: str = Field(max_length=320)
    kind: str = Field(sa_type=String(16))
    message: str = Field(default="", sa_type=Text)
    from_state: str | None = Field(default=None, sa_type=String(16))
    to_state: str | None = Field(default=None, sa_type=String(16))
    visible_to_applicant: bool = True
    created_at: datetime = _ts()


class Vote(SQLModel, table=True):
    __tablename__ = "access_vote"
    __table_args__ = (UniqueConstraint("request_id", "member", "round"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="access_request.id", max_length=16, index=True)
    member: str = Field(max_length=320)
    round: int = Field(description="the request's submission round the vote belongs to")
    choice: str = Field(sa_type=String(16))
    reason: str = Field(default="", sa_type=Text)
    created_at: datetime = _ts()


class Attachment(SQLModel, table=True):
    __tablename__ = "access_attachment"
    id: str = Field(primary_key=True, max_length=16)
    request_id: str = Field(foreign_key="access_request.id", max_length=16, index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    path: str = Field(max_length=2_000)
    uploaded_by: str = Field(max_length=320)
    created_at: datetime = _ts()


class Entitlement(SQLModel, table=True):
    """A subject's right to a dataset's record-level data, from `start` until `end` unless revoked."""

    __tablename__ = "access_entitlement"
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=320, index=True)
    dataset_id: str = Field(max_length=DATASET_REF, index=True)  # an id, or a remote dataset's URL (is_remote)
    request_id: str = Field(foreign_key="access_request.id", max_length=16, index=True)
    granted_use: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    start: datetime = _ts()
    end: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    granted_by: str = Field(max_length=320)
    revoked_at: datetime | None = _ts(nullable=True)
    revoked_by: str | None = Field(default=None, max_length=320)
    revoke_reason: str | None = Field(default=None, sa_type=Text)
    reminded_at: datetime | None = _ts(nullable=True)
    expiry_recorded_at: datetime | None = _ts(nullable=True)  # when its end was audited and its holder told


class AuditEvent(SQLModel, table=True):
    """One line of the append-only audit log; `hash` covers the line and the previous line's hash."""

    __tablename__ = "access_audit_event"
    __table_args__ = (Index("ix_access_audit_event_actor_at", "actor", "at"),)  # a requester's recent lines
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    actor: str = Field(max_length=320)
    action: str = Field(max_length=64, index=True)
    dataset_id: str | None = Field(default=None, max_length=DATASET_REF, index=True)
    request_id: str | None = Field(default=None, max_length=16)
    entitlement_id: int | None = None
    visa_jti: str | None = Field(default=None, max_length=200)
    client: str | None = Field(default=None, max_length=100)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class AuditCheckpoint(SQLModel, table=True):
    """A signed checkpoint of the audit log: the Merkle root of its first `size` lines, signed by the node."""

    __tablename__ = "access_audit_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    root: str = Field(max_length=64)
    made_at: datetime = _ts()
    origin: str = Field(max_length=500)
    key_id: str = Field(max_length=64)
    note: str = Field(sa_type=Text)  # the exact text signed
    signature: str = Field(max_length=200)


class Notification(SQLModel, table=True):
    """The outbox: e-mails to send, delivered by SMTP when configured."""

    __tablename__ = "access_notification"
    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    kind: str = Field(max_length=32)
    request_id: str | None = Field(default=None, max_length=16)
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    claimed_until: datetime | None = _ts(nullable=True)  # a delivery is sending it (no other may until then)


# --- API families -------------------------------------------------------------------------------------

class RequestPublic(RequestBase):
    id: str
    applicant: str
    dac_id: str
    state: RequestState
    datasets: list[str]
    accepted_agreements: dict[str, str]
    duo_verdict: dict[str, Any]
    renewal_of: str | None
    decision_reason: str | None
    decided_by: str | None
    access_end: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    submitted_at: UtcDatetime | None
    decided_at: UtcDatetime | None


class RequestEventPublic(SQLModel):
    id: int
    actor: str
    kind: str
    message: str
    from_state: str | None
    to_state: str | None
    created_at: UtcDatetime


class VotePublic(SQLModel):
    member: str
    round: int
    choice: VoteChoice
    reason: str
    created_at: UtcDatetime


class AttachmentPublic(SQLModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: UtcDatetime


class EntitlementPublic(SQLModel):
    id: int
    subject: str
    dataset_id: str
    request_id: str
    granted_use: list[str]
    start: UtcDatetime
    end: UtcDatetime
    granted_by: str
    revoked_at: UtcDatetime | None
    revoked_by: str | None
    revoke_reason: str | None
    active: bool = False


class AuditEventPublic(SQLModel):
    id: int
    at: UtcDatetime
    actor: str
    action: str
    dataset_id: str | None
    request_id: str | None
    entitlement_id: int | None
    visa_jti: str | None
    client: str | None
    details: dict[str, Any]
    hash: str


class ContactEmail(SQLModel):
    email: EmailStr
