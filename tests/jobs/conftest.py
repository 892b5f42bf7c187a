"""Fixtures of the job tests: a node's settings on each broker (the embedded SQLite queue, Redis), attached."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from catalogue.settings import Settings
from jobs import broker as brokers
from tests.conftest import IN_CI
from tests.workers import workers  # noqa: F401 (a fixture)

REDIS_URL = "redis://127.0.0.1:6379/0"
LEASE = 2  # seconds: a killed worker's job is taken over within ~3 s (reaped every second)


@pytest.fixture(params=["embedded", "redis"])
def queue(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(queue_url, queue_name): the embedded queue, or Redis under a name of this test's own."""
    if request.param == "embedded":
        yield "", "genomegate"
        return
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} is not answering: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    name = f"gg-test-{uuid.uuid4().hex[:12]}"
    yield REDIS_URL, name
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def node(settings: Settings, queue: tuple[str, str], tmp_path: Path) -> Settings:
    """This test's node: its own data dir (so the embedded queue is its own), short leases, periodic jobs off
    unless a test turns them on."""
    url, name = queue
    return settings.model_copy(update={
        "data_dir": tmp_path / "node", "queue_url": url, "queue_name": name, "job_lease_seconds": LEASE,
        "audit_checkpoint_seconds": 0, "notifications_every_seconds": 0, "reminders_every_seconds": 0,
        "expiries_every_seconds": 0, "budget_renewal_every_seconds": 0, "witness_every_seconds": 0,
        "network_health_every_seconds": 0, "network_harvest_every_seconds": 0, "opt_out_apply_every_seconds": 0,
    })


@pytest.fixture
def dispatch(node: Settings, engine: Engine) -> Iterator[brokers.Broker]:
    """Jobs this test submits go to the node's broker, as the server's do."""
    (node.data_dir).mkdir(parents=True, exist_ok=True)
    broker = brokers.open_broker(node)
    brokers.attach(engine, broker)
    yield broker
    brokers.detach(engine)
