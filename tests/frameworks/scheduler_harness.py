"""Stand-ins for scheduler-side tests: a fake master and a recording scheduler.

``FakeMaster`` is a ``Process`` that speaks the real framework <-> master protocol:
it records every message a driver sends, answers ``RegisterFramework`` /
``ReregisterFramework`` (unless told not to), and pushes events to a scheduler from
its own thread (``push``). ``RecordingScheduler`` records each callback with the
thread it ran on, and can run a reaction inside a callback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from actors.messages import (
    AcceptOffers,
    DeactivateFramework,
    DeclineOffers,
    FrameworkRegistered,
    FrameworkReregistered,
    FrameworkToExecutor,
    KillTask,
    LaunchTasks,
    MasterInfo,
    Offer,
    ReconcileTasks,
    RegisterFramework,
    ReregisterFramework,
    ResourceRequest,
    ReviveOffers,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    StatusUpdateInfo,
    SuppressOffers,
    TaskState,
    TaskStatus,
    UnregisterFramework,
    UpdateFramework,
)
from actors.resources import Resources
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver
from transport import PID, Node, Process, handles

M = TypeVar("M")

FRAMEWORK_ID = "m1-0001"


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def settle(master: Process, driver: Process) -> None:
    """Return once what ``master`` was told to push has reached ``driver`` and been handled,
    and whatever the driver sent back has been handled by ``master`` (both on one node, so
    each ask queues behind the messages before it)."""
    master.actor_ref.proxy().pid.get(timeout=5)
    driver.actor_ref.proxy().pid.get(timeout=5)
    master.actor_ref.proxy().pid.get(timeout=5)


class FakeMaster(Process):
    """A stand-in master; see the module docstring."""

    def __init__(self, node: Node, name: str = "master", auto_register: bool = True,
                 framework_id: str = FRAMEWORK_ID) -> None:
        super().__init__(node, name)
        self.auto_register = auto_register
        self.framework_id = framework_id
        self.received: list[tuple[PID, Any]] = []
        self._lock = threading.Lock()
        self.master_info = MasterInfo(id="m1", pid=self.pid)

    @classmethod
    def spawn(cls, node: Node, **kwargs: Any) -> FakeMaster:
        name = kwargs.get("name", "master")
        node.spawn(cls, **kwargs)
        return cast(FakeMaster, node.processes[name])

    @handles(RegisterFramework, ReregisterFramework, UnregisterFramework, DeactivateFramework,
             AcceptOffers, LaunchTasks, DeclineOffers, ReviveOffers, SuppressOffers, KillTask,
             StatusUpdateAcknowledgement, ReconcileTasks, FrameworkToExecutor, ResourceRequest,
             UpdateFramework)
    def _on_any(self, frm: PID, msg: Any) -> None:
        with self._lock:
            self.received.append((frm, msg))
        if not self.auto_register:
            return
        if isinstance(msg, RegisterFramework):
            self.send(frm, FrameworkRegistered(framework_id=self.framework_id,
                                               master_info=self.master_info))
        elif isinstance(msg, ReregisterFramework):
            self.send(frm, FrameworkReregistered(framework_id=msg.framework_info.id,
                                                 master_info=self.master_info))

    def push(self, to: PID | None, msg: Any) -> None:
        """Send ``msg`` to ``to`` from this master's own thread."""
        assert to is not None
        self._post(self.send, to, msg)

    def messages(self, kind: type[M]) -> list[M]:
        with self._lock:
            return [m for _, m in self.received if isinstance(m, kind)]

    def wait_for(self, kind: type[M], count: int = 1, timeout: float = 5.0) -> list[M]:
        wait_until(lambda: len(self.messages(kind)) >= count, timeout)
        return self.messages(kind)


class RecordingScheduler(Scheduler):
    """Records ``(callback, args, thread id)``; ``react[name](driver, *args)`` runs inside."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], int]] = []
        self.react: dict[str, Callable[..., None]] = {}
        self._lock = threading.Lock()

    def _record(self, name: str, driver: SchedulerDriver, *args: Any) -> None:
        with self._lock:
            self.calls.append((name, args, threading.get_ident()))
        if name in self.react:
            self.react[name](driver, *args)

    def names(self) -> list[str]:
        with self._lock:
            return [c[0] for c in self.calls]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        with self._lock:
            return [c[1] for c in self.calls if c[0] == name]

    def wait_for(self, name: str, count: int = 1, timeout: float = 5.0) -> list[tuple[Any, ...]]:
        wait_until(lambda: len(self.args(name)) >= count, timeout)
        return self.args(name)

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        self._record("registered", driver, framework_id, master_info)

    def reregistered(self, driver: SchedulerDriver, master_info: MasterInfo) -> None:
        self._record("reregistered", driver, master_info)

    def disconnected(self, driver: SchedulerDriver) -> None:
        self._record("disconnected", driver)

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        self._record("resource_offers", driver, offers)

    def offer_rescinded(self, driver: SchedulerDriver, offer_id: str) -> None:
        self._record("offer_rescinded", driver, offer_id)

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        self._record("status_update", driver, status)

    def framework_message(self, driver: SchedulerDriver, executor_id: str, agent_id: str,
                          data: bytes) -> None:
        self._record("framework_message", driver, executor_id, agent_id, data)

    def agent_lost(self, driver: SchedulerDriver, agent_id: str) -> None:
        self._record("agent_lost", driver, agent_id)

    def executor_lost(self, driver: SchedulerDriver, executor_id: str, agent_id: str,
                      status: int) -> None:
        self._record("executor_lost", driver, executor_id, agent_id, status)

    def error(self, driver: SchedulerDriver, message: str) -> None:
        self._record("error", driver, message)


def offer(offer_id: str = "m1-O1", agent_id: str = "m1-S1",
          resources: str = "cpus:2;mem:1024") -> Offer:
    return Offer(id=offer_id, framework_id=FRAMEWORK_ID, agent_id=agent_id,
                 hostname="host1", resources=Resources.parse(resources))


def status_update(task_id: str, state: TaskState, uuid: bytes = b"u" * 16,
                  agent_id: str = "m1-S1") -> StatusUpdate:
    """An update as the master forwards it (``uuid=b""``: master-generated)."""
    status = TaskStatus(task_id=task_id, state=state, uuid=uuid)
    return StatusUpdate(update=StatusUpdateInfo(framework_id=FRAMEWORK_ID, status=status,
                                                timestamp=1.0, agent_id=agent_id,
                                                executor_id=task_id, uuid=uuid))
