"""Registrar scenarios after Mesos' ``RegistrarTest``, on every backend; and ``open_storage``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from actors.messages.types import AgentInfo
from actors.registry import (
    AdmitAgent,
    MarkAgentGone,
    MarkAgentReachable,
    MarkAgentUnreachable,
    MemoryStorage,
    NotRecovered,
    OperationRefused,
    Quota,
    Registrar,
    RegistrarAborted,
    Registry,
    Storage,
    StorageConflict,
    StorageUnavailable,
    UpdateQuota,
    UpdateWeights,
    decode_registry,
    open_storage,
)
from actors.registry.registrar import REGISTRY_KEY
from actors.registry.sqlite import SqliteStorage
from actors.registry.zookeeper import ZooKeeperStorage
from transport import ManualClock

OpenStore = Callable[[], Storage]
"""The ``open_store`` fixture (tests/actors/registry/conftest.py)."""

DAY = 24 * 3600.0


def agent(agent_id: str) -> AgentInfo:
    return AgentInfo(hostname=f"host-{agent_id}", id=agent_id)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_000_000.0)


@pytest.fixture
def registrar(open_store: OpenStore, clock: ManualClock) -> Registrar:
    return Registrar(open_store(), clock)


def test_recover_of_a_fresh_store_is_empty(registrar: Registrar) -> None:
    with pytest.raises(NotRecovered):
        registrar.apply(AdmitAgent(agent("a1")))
    assert registrar.recover() == Registry()
    assert registrar.registry == Registry()
    # recovering claims the store: the empty registry is now written
    stored, version = registrar.storage.get(REGISTRY_KEY)
    assert stored is not None and decode_registry(stored) == Registry()
    assert version == registrar.version > 0


def test_recover_after_writes_sees_them(
    open_store: OpenStore, registrar: Registrar, clock: ManualClock
) -> None:
    registrar.recover()
    registrar.apply(AdmitAgent(agent("a1")))
    registrar.apply(AdmitAgent(agent("a2")))
    registrar.apply(MarkAgentUnreachable("a2", clock.now()))
    registrar.apply(UpdateWeights({"prod": 2.0}))
    registrar.apply(UpdateQuota({"prod": Quota(guarantees={"cpus": 1.0})}))
    expected = registrar.registry

    successor = Registrar(open_store(), clock)
    recovered = successor.recover()
    assert recovered == expected
    assert set(recovered.agents) == {"a1"}
    assert recovered.unreachable == {"a2": clock.now()}


def test_admit(registrar: Registrar) -> None:
    registrar.recover()
    assert registrar.apply(AdmitAgent(agent("a1")))
    version = registrar.version
    with pytest.raises(OperationRefused):
        registrar.apply(AdmitAgent(agent("a1")))
    assert registrar.version == version  # a refused operation writes nothing
    assert registrar.apply(AdmitAgent(agent("a2")))  # and does not abort the registrar


def test_mark_unreachable(registrar: Registrar, clock: ManualClock) -> None:
    registrar.recover()
    with pytest.raises(OperationRefused):
        registrar.apply(MarkAgentUnreachable("a1", clock.now()))
    registrar.apply(AdmitAgent(agent("a1")))
    assert registrar.apply(MarkAgentUnreachable("a1", clock.now()))
    assert registrar.registry.unreachable == {"a1": clock.now()}
    assert registrar.registry.agents == {}


def test_mark_reachable(registrar: Registrar, clock: ManualClock) -> None:
    registrar.recover()
    registrar.apply(AdmitAgent(agent("a1")))
    version = registrar.version
    assert not registrar.apply(MarkAgentReachable(agent("a1")))  # still admitted: no write
    assert registrar.version == version
    registrar.apply(MarkAgentUnreachable("a1", clock.now()))
    assert registrar.apply(MarkAgentReachable(agent("a1")))
    assert set(registrar.registry.agents) == {"a1"}
    assert registrar.registry.unreachable == {}


def test_mark_gone(registrar: Registrar, clock: ManualClock) -> None:
    registrar.recover()
    registrar.apply(AdmitAgent(agent("a1")))
    registrar.apply(AdmitAgent(agent("a2")))
    registrar.apply(MarkAgentUnreachable("a2", clock.now()))
    assert registrar.apply(MarkAgentGone("a1", clock.now()))
    assert registrar.apply(MarkAgentGone("a2", clock.now()))
    with pytest.raises(OperationRefused):
        registrar.apply(MarkAgentGone("a1", clock.now()))
    assert registrar.registry.gone == {"a1": clock.now(), "a2": clock.now()}
    assert registrar.registry.agents == {} and registrar.registry.unreachable == {}


def test_prune_by_count(registrar: Registrar, clock: ManualClock) -> None:
    registrar.recover()
    for i in range(4):
        registrar.apply(AdmitAgent(agent(f"a{i}")))
        registrar.apply(MarkAgentUnreachable(f"a{i}", clock.now()))
        clock.advance(1.0)
    assert registrar.prune(max_count=2)
    assert set(registrar.registry.unreachable) == {"a2", "a3"}
    assert not registrar.prune(max_count=2)


def test_prune_by_age(registrar: Registrar, clock: ManualClock) -> None:
    registrar.recover()
    for name in ("old", "young"):
        registrar.apply(AdmitAgent(agent(name)))
    registrar.apply(MarkAgentUnreachable("old", clock.now()))
    clock.advance(10 * DAY)
    registrar.apply(MarkAgentUnreachable("young", clock.now()))
    assert not registrar.prune()  # the oldest entry is ten days old
    clock.advance(5 * DAY)
    assert registrar.prune()  # fifteen days: past the two-week default
    assert set(registrar.registry.unreachable) == {"young"}


def test_a_batch_is_stored_with_one_write_and_reports_each_outcome(
    open_store: OpenStore, registrar: Registrar, clock: ManualClock
) -> None:
    registrar.recover()
    registrar.apply(AdmitAgent(agent("a1")))
    version = registrar.version
    outcomes = registrar.apply_batch([
        AdmitAgent(agent("a2")),
        AdmitAgent(agent("a1")),  # refused: already admitted
        MarkAgentReachable(agent("a2")),  # no-op: admitted a moment ago in the same batch
        MarkAgentUnreachable("a1", clock.now()),
    ])
    assert outcomes[0] is True and outcomes[2] is False and outcomes[3] is True
    assert isinstance(outcomes[1], OperationRefused)
    assert registrar.version == version + 1
    recovered = Registrar(open_store(), clock).recover()
    assert set(recovered.agents) == {"a2"} and set(recovered.unreachable) == {"a1"}


def test_a_batch_writes_only_when_something_changed(registrar: Registrar) -> None:
    registrar.recover()
    version = registrar.version
    assert registrar.apply_batch([]) == []
    assert registrar.apply_batch([MarkAgentReachable(agent("a1"))]) == [True]
    assert registrar.version == version + 1  # a pruned agent re-registering is admitted
    assert registrar.apply_batch([MarkAgentReachable(agent("a1"))]) == [False]
    assert registrar.version == version + 1


def test_a_second_registrar_writing_in_between_aborts_the_first(
    open_store: OpenStore, registrar: Registrar, clock: ManualClock
) -> None:
    registrar.recover()
    registrar.apply(AdmitAgent(agent("a1")))

    new_leader = Registrar(open_store(), clock)
    new_leader.recover()  # the claim alone fences the old leader
    with pytest.raises(StorageConflict):
        registrar.apply(AdmitAgent(agent("a2")))
    with pytest.raises(RegistrarAborted):
        registrar.apply(AdmitAgent(agent("a3")))

    assert new_leader.apply(AdmitAgent(agent("a4")))
    assert set(Registrar(open_store(), clock).recover().agents) == {"a1", "a4"}


def test_a_registrar_that_recovers_again_may_write_again(
    open_store: OpenStore, registrar: Registrar, clock: ManualClock
) -> None:
    registrar.recover()
    Registrar(open_store(), clock).recover()
    with pytest.raises(StorageConflict):
        registrar.apply(AdmitAgent(agent("a1")))
    registrar.recover()
    assert registrar.apply(AdmitAgent(agent("a1")))


def test_a_failed_store_aborts_the_registrar(registrar: Registrar) -> None:
    registrar.recover()
    registrar.storage.close()
    with pytest.raises(StorageUnavailable):
        registrar.apply_batch([AdmitAgent(agent("a1"))])
    assert registrar.registry == Registry()  # the batch did not happen
    with pytest.raises(RegistrarAborted):
        registrar.apply(AdmitAgent(agent("a1")))


# --- open_storage ------------------------------------------------------------------------


def test_open_storage_in_memory() -> None:
    assert isinstance(open_storage("in_memory"), MemoryStorage)


def test_open_storage_sqlite_lives_in_the_work_dir(tmp_path: Path) -> None:
    store = open_storage("sqlite", tmp_path / "work")
    try:
        assert isinstance(store, SqliteStorage)
        assert store.path == tmp_path / "work" / "registry.db"
        assert store.path.exists()
    finally:
        store.close()


def test_open_storage_zk_lives_under_the_zk_path(zookeeper: str, zk_path: str) -> None:
    store = open_storage("zk", None, zk=f"zk://{zookeeper}{zk_path}")
    try:
        assert isinstance(store, ZooKeeperStorage)
        assert store.path == f"{zk_path}/registry"
    finally:
        store.close()


@pytest.mark.parametrize(
    ("registry", "work_dir", "zk"),
    [("replicated_log", "/tmp", None), ("sqlite", None, None), ("zk", None, None)],
)
def test_open_storage_refuses_what_it_cannot_open(
    registry: str, work_dir: str | None, zk: str | None
) -> None:
    with pytest.raises(ValueError):
        open_storage(registry, work_dir, zk=zk)
