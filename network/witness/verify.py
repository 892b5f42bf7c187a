"""`audit verify --witnesses`: this node's log checked against what its peers countersigned of it.

Each peer that is a GenomeGate node is asked for its countersignatures of this node's log. Each must verify with
the witness's audit key (the one this node pinned when it witnessed that peer, else the one it serves now) and
name this node's log, and its (size, root) must be the root of this node's first `size` lines as they are now,
hashed from their content. A node that rewrote its history, even rebuilding its hash chain and signing new
checkpoints with its own key, cannot match what its witnesses countersigned before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from pydantic import ValidationError
from sqlmodel import Session, select

from access.audit import recomputed_leaves
from access.checkpoints import AuditKey
from access.merkle import leaf_hash, prefix_roots
from catalogue.settings import Settings
from network.discovery import PeerUnreachable, get_json, normal_url
from network.peers import list_peers
from network.witness.domain import countersignature_verifies
from network.witness.models import CountersignaturePublic, CountersignaturesPublic, WatchedLog
from network.witness.observe import fetch_key
from network.witness.status import MAX_PAGE

__all__ = ["MAX_CHECKED", "WitnessFinding", "check_witnesses", "judge_countersignatures"]

MAX_CHECKED = 1_000  # countersignatures read from one witness, the latest first
_SHOWN = 10  # mismatches named one by one; the rest are counted


@dataclass(frozen=True, slots=True)
class WitnessFinding:
    """What one witness's countersignatures say of this node's log; `problems` is empty when all of them match."""

    peer_id: str
    witness: str
    key: str = ""  # how the witness's key was known: pinned, or fetched now
    checked: int = 0
    total: int = 0  # countersignatures the witness holds of this log
    latest: int | None = None  # the largest size countersigned
    matching: int | None = None  # the largest countersigned size that the log still matches
    problems: tuple[str, ...] = ()
    error: str | None = None  # the witness could not be asked

    @property
    def ok(self) -> bool:
        return not self.problems and self.error is None


def judge_countersignatures(found: Sequence[CountersignaturePublic], *, key: AuditKey, witness: str, origin: str,
                            leaves: Sequence[bytes]) -> tuple[list[str], int | None]:
    """The problems of a witness's countersignatures against the log's leaf hashes, one line each (the first
    few named, the rest counted), and the largest countersigned size that still matches."""
    problems: list[str] = []
    genuine = []
    for cs in found:
        if cs.witness.rstrip("/") != witness or cs.origin.rstrip("/") != origin:
            problems.append(f"a countersignature of size {cs.size} names witness {cs.witness[:200]!r} and log "
                            f"{cs.origin[:200]!r}, not {witness} and {origin}")
        elif not countersignature_verifies(key, witness=cs.witness, origin=cs.origin, size=cs.size, root_hex=cs.root,
                                           time=cs.time, note=cs.note, signature=cs.signature):
            problems.append(f"the countersignature of size {cs.size} does not verify with the witness's key")
        else:
            genuine.append(cs)
    roots = prefix_roots(leaves, {cs.size for cs in genuine if 1 <= cs.size <= len(leaves)})
    mismatched = []
    matching: int | None = None
    for cs in sorted(genuine, key=lambda c: c.size, reverse=True):
        if cs.size < 1:
            mismatched.append(f"it countersigned a log of {cs.size} lines, which no checkpoint has")
        elif cs.size > len(leaves):
            mismatched.append(f"it countersigned {cs.size} lines ({cs.time}); the log has {len(leaves)}: "
                              f"{cs.size - len(leaves)} were removed")
        elif roots[cs.size] != bytes.fromhex(cs.root):
            mismatched.append(f"it countersigned {cs.size} lines with root {cs.root[:16]}… ({cs.time}); the log's "
                              f"first {cs.size} lines now hash to {roots[cs.size].hex()[:16]}…: a line among them "
                              "was rewritten or removed")
        elif matching is None:
            matching = cs.size
    problems += mismatched[:_SHOWN]
    if len(mismatched) > _SHOWN:
        problems.append(f"and {len(mismatched) - _SHOWN} more countersigned sizes that the log no longer matches")
    return problems, matching


def _countersignatures(client: httpx.Client, witness: str, origin: str) -> tuple[list[CountersignaturePublic], int]:
    found: list[CountersignaturePublic] = []
    total = 0
    while len(found) < MAX_CHECKED:
        page = get_json(client, str(httpx.URL(f"{witness}/api/network/witness/countersignatures",
                                              params={"origin": origin, "limit": MAX_PAGE, "offset": len(found)})))
        try:
            parsed = CountersignaturesPublic.model_validate(page)
        except ValidationError:
            raise PeerUnreachable(f"{witness} sent countersignatures this node cannot read", field="url") from None
        found += parsed.data
        total = parsed.count
        if len(parsed.data) < MAX_PAGE:
            break
    return found, total


def check_witnesses(session: Session, settings: Settings, *,
                    client: httpx.Client | None = None) -> list[WitnessFinding]:
    """Ask every GenomeGate peer what it countersigned of this node's log and check it against the log now."""
    origin = settings.public_base_url.rstrip("/")
    peers = [p for p in list_peers(session) if p.node_url]
    pinned = {w.origin: w for w in session.exec(select(WatchedLog)).all()}
    leaves = [leaf_hash(h) for _, h in recomputed_leaves(session)] if peers else []
    own = client is None
    client = client or httpx.Client(timeout=settings.network_peer_timeout_seconds, follow_redirects=False)
    findings = []
    try:
        for peer in peers:
            witness = normal_url(peer.node_url or "", "node_url")
            findings.append(_ask(client, peer.id, witness, origin, pinned.get(witness), leaves))
    finally:
        if own:
            client.close()
    return findings


def _ask(client: httpx.Client, peer_id: str, witness: str, origin: str, pin: WatchedLog | None,
         leaves: Sequence[bytes]) -> WitnessFinding:
    try:
        served = fetch_key(client, witness)
        found, total = _countersignatures(client, witness, origin)
    except PeerUnreachable as exc:
        return WitnessFinding(peer_id, witness, error=exc.message[:500])
    problems: list[str] = []
    if pin is None:
        key, how = served, f"key {served.key_id} fetched now (this node has not pinned it)"
    else:
        key = AuditKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": pin.key_x})
        how = f"key {key.key_id} pinned {pin.pinned_at:%Y-%m-%d}"
        if served.raw != key.raw:
            problems.append(f"it now serves the audit key {served.key_id}, not the {key.key_id} pinned here")
    judged, matching = judge_countersignatures(found, key=key, witness=witness, origin=origin, leaves=leaves)
    return WitnessFinding(peer_id, witness, how, checked=len(found), total=total,
                          latest=max((c.size for c in found), default=None), matching=matching,
                          problems=tuple(problems + judged))
