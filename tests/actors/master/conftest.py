"""Fixtures of the master's tests: a manual-clock node with the master and allocator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from master_harness import Cluster

from actors.master.config import MasterConfig
from transport import ManualClock, Node


@pytest.fixture
def master_config() -> MasterConfig:
    return MasterConfig()


@pytest.fixture
def cluster(master_config: MasterConfig) -> Iterator[Cluster]:
    clock = ManualClock()
    node = Node(clock=clock, http_port=0).start()
    try:
        yield Cluster(node, clock, master_config)
    finally:
        node.stop()
