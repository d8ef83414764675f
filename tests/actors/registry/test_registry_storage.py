"""The ``Storage`` contract, run against every backend; then what only one backend does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from actors.registry import Storage, StorageConflict, StorageUnavailable
from actors.registry.sqlite import SqliteStorage
from actors.registry.zookeeper import ZooKeeperStorage

OpenStore = Callable[[], Storage]
"""The ``open_store`` fixture (tests/actors/registry/conftest.py)."""

ROOT = Path(__file__).resolve().parents[3]


# --- the contract, on memory, sqlite and zk ---------------------------------------------


def test_absent_key_reads_as_none_at_version_zero(open_store: OpenStore) -> None:
    store = open_store()
    assert store.get("registry") == (None, 0)


def test_set_then_get_round_trips_bytes(open_store: OpenStore) -> None:
    store = open_store()
    payload = bytes(range(256)) * 4
    version = store.set("registry", payload, 0)
    assert store.get("registry") == (payload, version)


def test_versions_increase_with_every_write(open_store: OpenStore) -> None:
    store = open_store()
    v1 = store.set("registry", b"one", 0)
    v2 = store.set("registry", b"two", v1)
    v3 = store.set("registry", b"two", v2)  # the same bytes again still move the version
    assert 0 < v1 < v2 < v3
    assert store.get("registry") == (b"two", v3)


def test_keys_are_independent(open_store: OpenStore) -> None:
    store = open_store()
    store.set("a", b"A", 0)
    assert store.get("b") == (None, 0)
    store.set("b", b"B", 0)
    assert store.get("a")[0] == b"A"
    assert store.get("b")[0] == b"B"


def test_a_stale_version_raises_storage_conflict_and_keeps_the_winner(
    open_store: OpenStore,
) -> None:
    store = open_store()
    v1 = store.set("registry", b"first", 0)
    store.set("registry", b"winner", v1)
    with pytest.raises(StorageConflict) as caught:
        store.set("registry", b"loser", v1)
    assert caught.value.key == "registry"
    assert caught.value.expected == v1
    assert store.get("registry")[0] == b"winner"


def test_creating_an_existing_key_is_a_conflict(open_store: OpenStore) -> None:
    store = open_store()
    store.set("registry", b"first", 0)
    with pytest.raises(StorageConflict):
        store.set("registry", b"second", 0)
    assert store.get("registry")[0] == b"first"


def test_two_handles_race_and_only_one_write_lands(open_store: OpenStore) -> None:
    first, second = open_store(), open_store()
    version = first.set("registry", b"base", 0)
    _, seen_by_second = second.get("registry")
    first.set("registry", b"by first", version)
    with pytest.raises(StorageConflict):
        second.set("registry", b"by second", seen_by_second)
    assert second.get("registry")[0] == b"by first"


def test_a_writer_that_expects_a_version_the_key_never_had_conflicts(
    open_store: OpenStore,
) -> None:
    store = open_store()
    with pytest.raises(StorageConflict):
        store.set("registry", b"x", 7)
    assert store.get("registry") == (None, 0)


def test_keys_with_a_slash_are_refused(open_store: OpenStore) -> None:
    store = open_store()
    with pytest.raises(ValueError):
        store.set("a/b", b"x", 0)


def test_a_closed_store_is_unavailable(open_store: OpenStore) -> None:
    store = open_store()
    store.close()
    with pytest.raises(StorageUnavailable):
        store.get("registry")


@pytest.mark.parametrize("backend", ["sqlite", "zk"], indirect=True)
def test_a_new_handle_sees_what_a_closed_one_wrote(open_store: OpenStore) -> None:
    writer = open_store()
    version = writer.set("registry", b"durable", 0)
    writer.close()
    reader = open_store()
    assert reader.get("registry") == (b"durable", version)
    assert reader.set("registry", b"next", version) > version


# --- sqlite ------------------------------------------------------------------------------


def test_sqlite_uses_a_wal_journal_and_full_sync(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "registry.db")
    try:
        db = store._open_db()
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        store.close()


def test_sqlite_compare_and_swap_holds_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    store = SqliteStorage(path)
    version = store.set("registry", b"base", 0)
    other = textwrap.dedent(f"""
        from actors.registry.sqlite import SqliteStorage
        store = SqliteStorage({str(path)!r})
        print(store.set("registry", b"by the other process", {version}))
        store.close()
    """)
    done = subprocess.run(
        [sys.executable, "-c", other], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == version + 1
    with pytest.raises(StorageConflict) as caught:
        store.set("registry", b"stale", version)
    assert caught.value.actual == version + 1
    assert store.get("registry") == (b"by the other process", version + 1)
    store.close()


def test_sqlite_on_an_unwritable_path_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageUnavailable):
        SqliteStorage(blocker / "registry.db")


# --- zookeeper ---------------------------------------------------------------------------


def test_zk_stores_one_znode_per_key_under_the_path(zookeeper: str, zk_path: str) -> None:
    store = ZooKeeperStorage(zookeeper, zk_path)
    client = KazooClient(hosts=zookeeper)
    client.start(timeout=10)
    try:
        store.set("registry", b"payload", 0)
        data, stat = client.get(f"{zk_path}/registry")
        assert data == b"payload"
        assert store.get("registry")[1] == stat.version + 1
        client.set(f"{zk_path}/registry", b"written behind our back")
        with pytest.raises(StorageConflict):
            store.set("registry", b"stale", 1)
    finally:
        store.close()
        client.delete(zk_path, recursive=True)
        client.stop()
        client.close()


def test_zk_with_a_shared_client_leaves_it_running(zookeeper: str, zk_path: str) -> None:
    client = KazooClient(hosts=zookeeper)
    client.start(timeout=10)
    try:
        store = ZooKeeperStorage(client, zk_path)
        store.set("registry", b"x", 0)
        store.close()
        assert client.connected
        with pytest.raises(StorageUnavailable):
            store.get("registry")
        client.delete(zk_path, recursive=True)
    finally:
        client.stop()
        client.close()


def test_zk_unreachable_server_is_unavailable() -> None:
    with pytest.raises(StorageUnavailable):
        ZooKeeperStorage("127.0.0.1:1", "/meseta-test/nowhere", timeout=0.5)


def test_zk_lost_connection_is_unavailable(zookeeper: str, zk_path: str) -> None:
    client = KazooClient(hosts=zookeeper)
    client.start(timeout=10)
    store = ZooKeeperStorage(client, zk_path)
    client.stop()  # the session is gone: every call fails
    try:
        with pytest.raises(StorageUnavailable):
            store.set("registry", b"x", 0)
    finally:
        client.close()
