"""Keyed tags that stand for samples in the audit log: a participant's page finds the lines that showed their own
genotypes by their samples' tags, and the proofs it shows reveal no other sample (tags are opaque without the
node's participant key, which never leaves its configuration)."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["sample_tag"]


def sample_tag(key: str, dataset_id: str, sample_id: str) -> str:
    """HMAC-SHA256 of (dataset, sample) under `key`, 128 bits in hex."""
    message = b"genomegate sample\x00" + dataset_id.encode() + b"\x00" + sample_id.encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]
