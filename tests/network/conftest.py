"""Fixtures of the federation tests: real nodes in separate processes (tests/network/nodes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.network.nodes import Node, nodes


@pytest.fixture
def three_nodes(tmp_path: Path) -> Iterator[list[Node]]:
    """Nodes a, b and c on SQLite, configured and migrated, not yet started."""
    with nodes(tmp_path, ["a", "b", "c"], network_failures_to_open=2, network_health_every_seconds=1) as made:
        yield made
