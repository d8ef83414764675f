"""A recording scheduler for end-to-end tests: every callback becomes an event to wait on.

The test thread drives the framework through the ``SchedulerDriver`` (its methods are
thread-safe) and waits with ``Recorder.wait(kind, where=..., timeout=...)``; events it
does not wait for stay queued, in order, for later waits.
"""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from actors.messages import CommandInfo, FrameworkInfo, Offer, TaskInfo, TaskState, TaskStatus
from actors.resources import Resources
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver

WAIT = 60.0


@dataclass(frozen=True)
class Event:
    kind: str
    value: Any


class Recorder(Scheduler):
    """Queues every callback as an ``Event``."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._cond = threading.Condition()

    def _put(self, kind: str, value: Any) -> None:
        with self._cond:
            self._events.append(Event(kind, value))
            self._cond.notify_all()

    def registered(self, driver: Any, framework_id: str, master_info: Any) -> None:
        self._put("registered", framework_id)

    def reregistered(self, driver: Any, master_info: Any) -> None:
        self._put("reregistered", master_info)

    def disconnected(self, driver: Any) -> None:
        self._put("disconnected", None)

    def resource_offers(self, driver: Any, offers: Any) -> None:
        for offer in offers:
            self._put("offer", offer)

    def offer_rescinded(self, driver: Any, offer_id: str) -> None:
        self._put("rescinded", offer_id)

    def inverse_offers(self, driver: Any, inverse_offers: Any) -> None:
        for inverse in inverse_offers:
            self._put("inverse_offer", inverse)

    def inverse_offer_rescinded(self, driver: Any, inverse_offer_id: str) -> None:
        self._put("inverse_rescinded", inverse_offer_id)

    def status_update(self, driver: Any, status: TaskStatus) -> None:
        self._put("status", status)

    def framework_message(self, driver: Any, executor_id: str, agent_id: str,
                          data: bytes) -> None:
        self._put("message", (executor_id, agent_id, data))

    def agent_lost(self, driver: Any, agent_id: str) -> None:
        self._put("agent_lost", agent_id)

    def executor_lost(self, driver: Any, executor_id: str, agent_id: str, status: int) -> None:
        self._put("executor_lost", (executor_id, agent_id, status))

    def error(self, driver: Any, message: str) -> None:
        self._put("error", message)

    def wait(self, kind: str, where: Callable[[Any], bool] = lambda _: True,
             timeout: float = WAIT) -> Any:
        """Remove and return the first queued event of ``kind`` matching ``where``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self._events):
                    if event.kind == kind and where(event.value):
                        del self._events[i]
                        return event.value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(e.kind, _short(e.value)) for e in self._events]
                    raise TimeoutError(f"no {kind} event within {timeout}s; queued: {seen}")
                self._cond.wait(remaining)

    def wait_state(self, task_id: str, state: TaskState, timeout: float = WAIT) -> TaskStatus:
        status: TaskStatus = self.wait(
            "status", lambda s: s.task_id == task_id and s.state == state, timeout)
        return status

    def states(self, task_id: str) -> list[TaskState]:
        """States of ``task_id`` still queued (not yet waited for)."""
        with self._cond:
            return [e.value.state for e in self._events
                    if e.kind == "status" and e.value.task_id == task_id]


def _short(value: Any) -> str:
    if isinstance(value, TaskStatus):
        return f"{value.task_id}:{value.state.name}"
    if isinstance(value, Offer):
        return f"offer {value.id} {value.resources}"
    return repr(value)[:80]


def framework_info(name: str = "e2e", **kwargs: Any) -> FrameworkInfo:
    return FrameworkInfo(name=name, **{"user": getpass.getuser(), **kwargs})


def command_task(task_id: str, offer: Offer, command: str,
                 resources: str = "cpus:0.1;mem:32", **kwargs: Any) -> TaskInfo:
    return TaskInfo(name=task_id, task_id=task_id, agent_id=offer.agent_id,
                    resources=Resources.parse(resources),
                    command=CommandInfo(value=command), **kwargs)


@contextmanager
def framework(master_address: str, name: str = "e2e",
              **info: Any) -> Iterator[tuple[SchedulerDriver, Recorder]]:
    """A registered framework in this test process; torn down (unregistered) on exit."""
    recorder = Recorder()
    driver = SchedulerDriver.create(recorder, framework_info(name, **info), master_address)
    try:
        driver.start()
        recorder.wait("registered")
        yield driver, recorder
    finally:
        driver.stop()
        driver.close()
