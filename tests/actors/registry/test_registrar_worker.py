"""``RegistrarWorker``: batches, outcomes in order, hold/release, and fail-fast on a fenced write.

``deliver`` here runs each callback on the worker's thread and records it in a queue the
test waits on (the master posts them into its actor instead). The fencing tests run on
every backend (memory, sqlite, the real ZooKeeper): a registrar that recovered first is
deposed by a second one's recovery, and its worker reports the failure instead of any
outcome.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.messages import AgentInfo
from actors.registry import (
    AdmitAgent,
    MarkAgentUnreachable,
    MemoryStorage,
    OperationRefused,
    Registrar,
    Registry,
    Storage,
    StorageUnavailable,
)
from actors.registry.worker import RegistrarWorker
from actors.resources import Resources
from transport import ManualClock

WAIT = 30.0
OpenStore = Callable[[], Storage]


def info(agent_id: str) -> AgentInfo:
    return AgentInfo(id=agent_id, hostname=f"host-{agent_id}", resources=Resources.parse("cpus:1"))


class Recorded:
    """What the worker delivered: ``("failure", reason)`` or ``(name, outcome, *args)``."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def deliver(self, fn: Callable[..., None], *args: Any) -> None:
        fn(*args)

    def callback(self, name: str) -> Callable[..., None]:
        return lambda *args: self.events.put((name, *args))

    def failure(self, reason: str) -> None:
        self.events.put(("failure", reason))

    def next(self) -> tuple[Any, ...]:
        return self.events.get(timeout=WAIT)


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


def worker_of(storage: Storage, recorded: Recorded, **kw: Any) -> RegistrarWorker:
    return RegistrarWorker(Registrar(storage, ManualClock()), recorded.deliver,
                           recorded.failure, **kw).start()


@pytest.fixture
def worker(recorded: Recorded) -> Iterator[RegistrarWorker]:
    w = worker_of(MemoryStorage(), recorded)
    try:
        yield w
    finally:
        w.stop()


def test_recover_then_apply_in_order_with_each_outcome(worker: RegistrarWorker,
                                                       recorded: Recorded) -> None:
    worker.recover(recorded.callback("recovered"))
    name, registry = recorded.next()
    assert name == "recovered" and registry == Registry()
    worker.hold()
    worker.submit(AdmitAgent(info("a")), recorded.callback("admit"), "a")
    worker.submit(AdmitAgent(info("a")), recorded.callback("again"), "a")
    worker.submit(MarkAgentUnreachable("a", 5.0), recorded.callback("unreachable"), "a")
    assert worker.wait_idle(WAIT) and recorded.events.empty()  # held: nothing written
    assert worker.registrar.version == 1
    worker.release()
    assert recorded.next() == ("admit", True, "a")
    name, refused, arg = recorded.next()
    assert name == "again" and isinstance(refused, OperationRefused) and arg == "a"
    assert recorded.next() == ("unreachable", True, "a")
    assert worker.registrar.version == 2 and worker.batches == 2  # recovery + one batch
    assert worker.registrar.registry.unreachable == {"a": 5.0}


def test_batches_are_bounded(recorded: Recorded) -> None:
    w = worker_of(MemoryStorage(), recorded, max_batch=4)
    try:
        w.recover(recorded.callback("recovered"))
        recorded.next()
        w.hold()
        for i in range(10):
            w.submit(AdmitAgent(info(str(i))), recorded.callback("admit"), i)
        w.release()
        assert [recorded.next()[2] for _ in range(10)] == list(range(10))
        assert w.batches == 1 + 3 and w.registrar.version == 1 + 3
    finally:
        w.stop()


class FailingStorage(MemoryStorage):
    fail = False

    def set(self, key: str, value: bytes, expected_version: int) -> int:
        if self.fail:
            raise StorageUnavailable("disk full")
        return super().set(key, value, expected_version)


def test_a_failed_write_is_reported_once_and_nothing_is_acknowledged(
        recorded: Recorded) -> None:
    storage = FailingStorage()
    w = worker_of(storage, recorded)
    try:
        w.recover(recorded.callback("recovered"))
        recorded.next()
        w.hold()
        storage.fail = True
        w.submit(AdmitAgent(info("a")), recorded.callback("admit"))
        w.submit(AdmitAgent(info("b")), recorded.callback("admit"))
        w.release()
        name, reason = recorded.next()
        assert name == "failure" and "disk full" in reason and "AdmitAgent" in reason
        storage.fail = False
        w.submit(AdmitAgent(info("c")), recorded.callback("admit"))  # dropped: stopped
        assert w.wait_idle(WAIT) and recorded.events.empty() and w.failed
    finally:
        w.stop()


def test_a_failed_recovery_is_reported(recorded: Recorded) -> None:
    storage = FailingStorage()
    storage.fail = True
    w = worker_of(storage, recorded)
    try:
        w.recover(recorded.callback("recovered"))
        name, reason = recorded.next()
        assert name == "failure" and "cannot recover" in reason
    finally:
        w.stop()


def test_a_deposed_registrar_fails_its_next_write(open_store: OpenStore,
                                                  recorded: Recorded) -> None:
    first = worker_of(open_store(), recorded)
    try:
        first.recover(recorded.callback("recovered"))
        assert recorded.next()[0] == "recovered"
        first.submit(AdmitAgent(info("a")), recorded.callback("admit"))
        assert recorded.next() == ("admit", True)
        Registrar(open_store(), ManualClock()).recover()  # the next leader claims it
        first.submit(AdmitAgent(info("b")), recorded.callback("admit"))
        name, reason = recorded.next()
        assert name == "failure" and "conflict" in reason
        assert first.wait_idle(WAIT) and recorded.events.empty()
        survivor = Registrar(open_store(), ManualClock()).recover()
        assert list(survivor.agents) == ["a"]  # b was never stored
    finally:
        first.stop()
