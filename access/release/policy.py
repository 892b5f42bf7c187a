"""Pure rules of release: on what grounds a caller gets a dataset's files, and who the audit log names."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ANONYMOUS", "Grounds", "Requester", "open_grounds", "requester", "still_open"]

ANONYMOUS = "anonymous"  # the audit log's actor for a caller without a token
_PUBLIC, _REGISTERED = "PUBLIC", "REGISTERED"  # SecurityLevel's values (a domain module imports nothing of the ORM)


class Grounds(StrEnum):
    """Why a ticket or download was granted; block tokens carry it, and each block checks it again."""

    PUBLIC = "public"  # a published PUBLIC dataset: anyone
    REGISTERED = "registered"  # a published REGISTERED (or PUBLIC) dataset: any signed-in caller
    ENTITLEMENT = "entitlement"  # an active entitlement (CONTROLLED datasets, and drafts shown to stewards)
    VISA = "visa"  # a GA4GH visa accepted with the request


def open_grounds(security: str, status: str, *, signed_in: bool) -> Grounds | None:
    """The grounds a dataset's files are open to this caller on without an entitlement, or None.

    PUBLIC datasets are released to anyone, REGISTERED ones to signed-in callers, once published; CONTROLLED
    datasets (and drafts and retired datasets at any level) need an entitlement or a visa.
    """
    if status != "published":
        return None
    if security == _PUBLIC:
        return Grounds.REGISTERED if signed_in else Grounds.PUBLIC
    if security == _REGISTERED and signed_in:
        return Grounds.REGISTERED
    return None


def still_open(grounds: Grounds, security: str, status: str) -> bool:
    """Whether open grounds still hold for a dataset as it is now (a block checks it: a dataset made CONTROLLED,
    or retired, stops the next block of a ticket granted while it was open)."""
    if status != "published":
        return False
    if grounds is Grounds.PUBLIC:
        return security == _PUBLIC
    return security in (_PUBLIC, _REGISTERED)


@dataclass(frozen=True, slots=True)
class Requester:
    """Who a release request is audited and rate-limited as: a subject, or `anonymous` and a hashed address."""

    actor: str
    client: str | None  # the network address of a signed-in caller; a keyed hash of an anonymous caller's

    @property
    def anonymous(self) -> bool:
        return self.actor == ANONYMOUS


def requester(subject: str | None, address: str | None, *, secret: str) -> Requester:
    """The requester of a call. An anonymous caller's address is kept only as an HMAC under the node's secret
    (IPv4 addresses are too few for a plain hash to hide them), enough to tell and limit callers apart."""
    if subject is not None:
        return Requester(subject, address)
    if address is None:
        return Requester(ANONYMOUS, None)
    digest = hmac.new(secret.encode(), b"genomegate address v1\0" + address.encode(), hashlib.sha256).hexdigest()
    return Requester(ANONYMOUS, f"addr:{digest[:32]}")
