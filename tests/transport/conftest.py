"""Fixtures of the transport tests: nodes that are always stopped, peers always killed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.transport.helpers import Peer, start_peer
from transport import Node


@pytest.fixture
def make_node() -> Iterator[Callable[..., Node]]:
    """``make_node(**kwargs)`` starts a ``Node`` on 127.0.0.1; all are stopped at teardown."""
    nodes: list[Node] = []

    def make(**kwargs: Any) -> Node:
        node = Node("127.0.0.1", kwargs.pop("port", 0), **kwargs)
        nodes.append(node)
        return node.start()

    try:
        yield make
    finally:
        for node in reversed(nodes):
            node.stop()


@pytest.fixture
def node(make_node: Callable[..., Node]) -> Node:
    return make_node()


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[Callable[..., Peer]]:
    """``peers(*args, port=0)`` starts a child-process peer node; all are killed at teardown."""
    started: list[Peer] = []

    def start(*args: str, port: int = 0) -> Peer:
        peer = start_peer(tmp_path, *args, port=port)
        started.append(peer)
        return peer

    try:
        yield start
    finally:
        for peer in started:
            peer.kill()
