"""The circuit breaker alone: when a peer is asked, backed off, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from network import breaker
from network.models import PeerState

POLICY = breaker.Policy(failures_to_open=3, first_wait=60, max_wait=300)
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _fail(times: int) -> breaker.Health:
    health = breaker.succeeded()
    for _ in range(times):
        health = breaker.failed(health, POLICY, NOW)
    return health


def test_failures_below_the_threshold_keep_the_peer_asked() -> None:
    health = _fail(2)
    assert (health.state, health.failures, health.retry_at) == (PeerState.failing, 2, None)
    assert breaker.asked(health, NOW)


def test_the_threshold_opens_the_circuit_for_the_first_wait() -> None:
    health = _fail(3)
    assert health.state is PeerState.backed_off
    assert health.retry_at == NOW + timedelta(seconds=60)
    assert not breaker.asked(health, NOW + timedelta(seconds=59))
    assert breaker.asked(health, NOW + timedelta(seconds=60))  # half-open: tried again


def test_the_wait_doubles_up_to_the_ceiling() -> None:
    waits = [(_fail(n).retry_at - NOW).total_seconds() for n in (3, 4, 5, 6, 40)]  # type: ignore[operator]
    assert waits == [60, 120, 240, 300, 300]


def test_one_success_closes_the_circuit() -> None:
    assert breaker.succeeded() == breaker.Health(PeerState.healthy, 0, None)
    assert breaker.asked(breaker.succeeded(), NOW)
