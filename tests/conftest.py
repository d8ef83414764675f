"""Suite-wide fixtures: a real ZooKeeper server, started only for tests that ask for it.

``zookeeper`` yields ``"127.0.0.1:<port>"`` of a standalone server this session starts
(see ``tests/zk_helpers.py``) and stops at the end; with ``MESETA_TEST_ZK=host:port`` set,
it yields that address and starts nothing. If no server can be started, the tests that
need one fail (they are never skipped). Tests share the server: each uses its own znode
path (``zk_path``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.zk_helpers import ZooKeeperServer, ZooKeeperUnavailable


@pytest.fixture(scope="session")
def zookeeper() -> Iterator[str]:
    external = os.environ.get("MESETA_TEST_ZK")
    if external:
        yield external
        return
    server = ZooKeeperServer()
    try:
        address = server.start()
    except ZooKeeperUnavailable as exc:
        pytest.fail(f"cannot start ZooKeeper for the tests: {exc}", pytrace=False)
    try:
        yield address
    finally:
        server.stop()


@pytest.fixture
def zk_path() -> str:
    """A znode path no other test uses, e.g. ``/meseta-test/3f2a.../mesos``."""
    return f"/meseta-test/{uuid.uuid4().hex}/mesos"
