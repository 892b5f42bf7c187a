"""Who gets a dataset's files, checked when a ticket or download is asked for and again at every block."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from access.release.errors import NotEntitled, TokenRefused
from access.release.policy import ANONYMOUS, Grounds, Requester, open_grounds, requester, still_open
from access.release.rate import RateLimit
from access.release.tokens import BlockGrant
from access.rights import record_datasets
from catalogue.errors import Unauthenticated
from catalogue.identity import Caller
from catalogue.models import Dataset

__all__ = ["Grant", "ReleaseContext", "block_requester", "check_block_grounds", "grant_for"]


@dataclass(frozen=True, slots=True)
class ReleaseContext:
    """What release needs beyond the session: the URL-signing secret, this node's URL, lifetimes, sizes, the
    rate limit."""

    secret: str
    base_url: str
    ticket_ttl: int = 300
    file_block_bytes: int = 1 << 30
    spool_bytes: int = 8 << 20
    node_key_path: Path | None = None  # the node's Crypt4GH secret key, for files kept encrypted at rest
    rate: RateLimit = field(default_factory=RateLimit)


@dataclass(frozen=True, slots=True)
class Grant:
    """Why a caller gets a dataset's files now, and who they are audited and limited as."""

    grounds: Grounds
    who: Requester
    visa_jti: str | None = None
    visa_exp: int | None = None  # a visa's grant ends when the visa does: so do the tickets given on it

    def lasts(self, until: int) -> int:
        """When what is given on this grant must end, at `until` or sooner (the visa's expiry)."""
        return until if self.visa_exp is None else min(until, self.visa_exp)


def grant_for(session: Session, caller: Caller, dataset: Dataset, *, secret: str, client: str | None) -> Grant:
    """The grounds of a caller's release of a dataset: open (PUBLIC to anyone, REGISTERED to the signed-in), a
    visa sent with the request, or an active entitlement.

    Unauthenticated for an anonymous caller of a REGISTERED or CONTROLLED dataset, NotEntitled for a signed-in
    caller of a CONTROLLED one without an entitlement or a visa.
    """
    who = requester(caller.subject, client, secret=secret)
    opened = open_grounds(dataset.security, dataset.status, signed_in=caller.subject is not None)
    if opened is not None:
        return Grant(opened, who)
    if dataset.id in caller.visa_grants:
        return Grant(Grounds.VISA, who, caller.visa_grants[dataset.id], caller.visa_expiries.get(dataset.id))
    if caller.subject is None:
        to = "signed-in callers" if dataset.security == "REGISTERED" else "signed-in callers entitled to it"
        raise Unauthenticated(f"dataset {dataset.id} is {dataset.security}: its files are released to {to}; "
                              "send Authorization: Bearer <token>")
    if dataset.id not in record_datasets(session, caller.subject, [dataset.id]):
        raise NotEntitled(f"you hold no active entitlement to dataset {dataset.id}: request access, or renew it")
    return Grant(Grounds.ENTITLEMENT, who)


def block_requester(grant: BlockGrant, client: str | None, *, secret: str) -> Requester:
    """Who fetches a block: the ticket's subject, or, for a ticket given anonymously, the fetching address."""
    return requester(None if grant.subject == ANONYMOUS else grant.subject, client, secret=secret)


def check_block_grounds(session: Session, grant: BlockGrant) -> None:
    """Check a block token's grounds afresh: an entitlement still active, an open dataset still open (a dataset
    made CONTROLLED or retired stops the next block); a visa's grant lasts as long as its short-lived token."""
    try:
        grounds = Grounds(grant.grounds)
    except ValueError:
        raise TokenRefused("the block token names unknown grounds; ask for a new ticket") from None
    if grounds is Grounds.VISA:
        return
    if grounds is Grounds.ENTITLEMENT:
        if grant.dataset_id not in record_datasets(session, grant.subject, [grant.dataset_id]):
            raise NotEntitled(f"you hold no active entitlement to dataset {grant.dataset_id}: request access, "
                              "or renew it")
        return
    dataset = session.get(Dataset, grant.dataset_id)
    if dataset is None or not still_open(grounds, dataset.security, dataset.status):
        to = "anyone" if grounds is Grounds.PUBLIC else "signed-in callers"
        raise NotEntitled(f"dataset {grant.dataset_id} is no longer open to {to}: ask for a new ticket")
