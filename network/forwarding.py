"""What of a caller's identity a network query passes on to each node (pure): per peer, nothing, the bearer token
or the passport visas, exactly as the operator configured that peer; this node itself sees the caller as sent.

An `Identity` lives for one query: it is never logged (its repr hides it), cached or stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from access.visas import MAX_VISA_BYTES, MAX_VISAS
from catalogue.errors import InvalidInput
from network.models import Forwarding

__all__ = ["PASSPORT_HEADER", "Identity", "headers_for", "identity_from_headers"]

PASSPORT_HEADER = "X-GA4GH-Passport"
MAX_BEARER = 16_384  # characters of a bearer token passed on


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller's credentials as presented: the bearer token, the passport visas (those presented and those
    this node issued for the caller), and the network address."""

    bearer: str | None = None
    visas: tuple[str, ...] = ()
    address: str | None = None

    def __repr__(self) -> str:  # never a token in a log line or a traceback
        return (f"Identity(bearer={'<hidden>' if self.bearer else None}, visas={len(self.visas)}, "
                f"address={self.address!r})")

    def with_visas(self, issued: list[str]) -> Identity:
        """This identity with visas this node issued for the caller added (those presented first, no repeats)."""
        visas = tuple(dict.fromkeys((*self.visas, *issued)))[:MAX_VISAS]
        return Identity(self.bearer, visas, self.address)


def identity_from_headers(authorization: str | None, passport: str | None, address: str | None) -> Identity:
    """The identity a request presents: `Authorization: Bearer <token>` and `X-GA4GH-Passport: <visa>,<visa>`.
    Bounded: a token or visa too long, or too many visas, is refused naming the header."""
    bearer = None
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            bearer = token.strip()
            if len(bearer) > MAX_BEARER:
                raise InvalidInput(f"the bearer token is longer than {MAX_BEARER:,} characters",
                                   field="Authorization")
    visas: tuple[str, ...] = ()
    if passport:
        visas = tuple(v.strip() for v in passport.split(",") if v.strip())
        if len(visas) > MAX_VISAS or any(len(v) > MAX_VISA_BYTES for v in visas):
            raise InvalidInput(f"give at most {MAX_VISAS} visas of at most {MAX_VISA_BYTES:,} bytes each",
                               field=PASSPORT_HEADER)
    return Identity(bearer, visas, address)


def headers_for(forward: Forwarding | None, identity: Identity) -> dict[str, str]:
    """The identity headers sent to a node: `forward` None is this node itself (the caller's own headers);
    a peer gets only what its forwarding allows, and nothing else of the caller."""
    headers: dict[str, str] = {}
    if forward is None:
        if identity.bearer:
            headers["Authorization"] = f"Bearer {identity.bearer}"
        presented = identity.visas
        if presented:
            headers[PASSPORT_HEADER] = ",".join(presented)
        return headers
    if forward is Forwarding.bearer and identity.bearer:
        headers["Authorization"] = f"Bearer {identity.bearer}"
    elif forward is Forwarding.passport and identity.visas:
        headers[PASSPORT_HEADER] = ",".join(identity.visas)
    return headers
