"""The keyed hash that stands for a participant identifier everywhere the node writes (never the identifier)."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["ACTOR_PREFIX", "actor_of", "participant_hash"]

ACTOR_PREFIX = "participant:"


def participant_hash(key: str, identifier: str) -> str:
    """HMAC-SHA256 (hex) of a participant identifier under the node's participant key.

    Surrounding white space is dropped so that a sheet's padding and a token's claim give the same hash; case is
    kept (identity providers' subjects are case-sensitive).
    """
    return hmac.new(key.encode(), b"genomegate participant\x00" + identifier.strip().encode(),
                    hashlib.sha256).hexdigest()


def actor_of(digest: str) -> str:
    """How a participant is named where they act (the audit log's actor, the access log's subject)."""
    return ACTOR_PREFIX + digest
