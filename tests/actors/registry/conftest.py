"""Fixtures of the registry's tests: one store per test, on every backend.

``open_store`` is a factory: each call opens a new handle on the same store, as a second
master (or the same master restarted) would; ``backend`` picks memory, sqlite (a file in
``tmp_path``) or zk (the suite's real ZooKeeper, ``zookeeper``, at this test's ``zk_path``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from actors.registry import MemoryStorage, Storage
from actors.registry.sqlite import SqliteStorage
from actors.registry.zookeeper import ZooKeeperStorage

BACKENDS = ("memory", "sqlite", "zk")

OpenStore = Callable[[], Storage]
"""Opens one more handle on the test's store (test modules declare the same alias)."""


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def open_store(
    backend: str, tmp_path: Path, zk_path: str, request: pytest.FixtureRequest
) -> Iterator[OpenStore]:
    opened: list[Storage] = []
    if backend == "memory":
        shared = MemoryStorage()

        def make() -> Storage:
            return shared
    elif backend == "sqlite":

        def make() -> Storage:
            return SqliteStorage(tmp_path / "registry.db")
    else:
        hosts: str = request.getfixturevalue("zookeeper")

        def make() -> Storage:
            return ZooKeeperStorage(hosts, zk_path)

    def tracked() -> Storage:
        store = make()
        opened.append(store)
        return store

    yield tracked
    for store in opened:
        store.close()
    if backend == "zk":
        _delete_zk_path(request.getfixturevalue("zookeeper"), zk_path)


def _delete_zk_path(hosts: str, path: str) -> None:
    client = KazooClient(hosts=hosts)
    client.start(timeout=10)
    try:
        client.delete(path, recursive=True)
    finally:
        client.stop()
        client.close()
