"""Who a passport presented without a bearer token speaks for: the one subject its visas name.

A network Beacon that forwards only a caller's visas (`X-GA4GH-Passport`) sends no token; the visas themselves then
say who the caller is. They must all name the same subject, and the caller is that subject as known to the issuer
of the first visa that verifies (`access.deps.with_visas` verifies them). Such a caller has no roles here: roles
belong to accounts of this node, never to visas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from joserfc.errors import JoseError
from joserfc.jws import extract_compact

__all__ = ["Named", "named_holder", "visa_issuer"]


@dataclass(frozen=True, slots=True)
class Named:
    subject: str


def _claims(token: str) -> dict[str, object] | None:
    """A visa's claims, unverified (only to learn whom to verify it for)."""
    try:
        claims = json.loads(extract_compact(token.encode()).payload)
    except (JoseError, ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def named_holder(visas: list[str]) -> Named | None:
    """The subject all the visas name (unverified), or None when they name none or several."""
    subjects = set()
    for token in visas:
        claims = _claims(token)
        subject = claims.get("sub") if claims else None
        if not isinstance(subject, str) or not subject or len(subject) > 320:
            return None
        subjects.add(subject)
    return Named(subjects.pop()) if len(subjects) == 1 else None


def visa_issuer(token: str) -> str | None:
    claims = _claims(token)
    issuer = claims.get("iss") if claims else None
    return issuer if isinstance(issuer, str) else None
