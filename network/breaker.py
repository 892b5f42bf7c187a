"""A peer's circuit breaker (pure): consecutive failures open it for a while that doubles, up to a ceiling; the
first success closes it. An open circuit is half-open again once its wait is over: the next check tries the peer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from network.models import PeerState

__all__ = ["Health", "Policy", "asked", "failed", "succeeded"]


@dataclass(frozen=True, slots=True)
class Policy:
    failures_to_open: int  # consecutive failures that open the circuit
    first_wait: float  # seconds the circuit first stays open
    max_wait: float  # the longest it stays open


@dataclass(frozen=True, slots=True)
class Health:
    state: PeerState
    failures: int
    retry_at: datetime | None


def succeeded() -> Health:
    return Health(PeerState.healthy, 0, None)


def failed(health: Health, policy: Policy, now: datetime) -> Health:
    """The health after one more failure: failing, then backed off for first_wait * 2^k (at most max_wait)."""
    failures = health.failures + 1
    if failures < policy.failures_to_open:
        return Health(PeerState.failing, failures, None)
    wait = min(policy.max_wait, policy.first_wait * 2 ** min(failures - policy.failures_to_open, 30))
    return Health(PeerState.backed_off, failures, now + timedelta(seconds=wait))


def asked(health: Health, now: datetime) -> bool:
    """Whether the peer is asked now: yes unless its circuit is open and its wait not over."""
    return not (health.state is PeerState.backed_off and health.retry_at is not None and now < health.retry_at)
