"""The well-behaved framework that runs through a hostile campaign, counting what goes wrong.

``Steady`` keeps ``concurrency`` short command tasks in flight on one agent (the real
one: it declines offers of any other, as a framework with a placement constraint
does -- a flood of fake agents is admitted like any agent without authentication, and
a task sent to one of them would be lost) and records every failure it sees: a task
ending in anything but TASK_FINISHED, an ``error`` or ``disconnected`` callback, the
loss of its agent. ``drain()`` stops launching and waits for the tasks in flight.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from actors.messages import (
    CommandInfo,
    Filters,
    Offer,
    TaskInfo,
    TaskState,
    TaskStatus,
    is_terminal,
)
from actors.resources import Resources
from frameworks.scheduler import Scheduler

__all__ = ["Steady"]

PER_TASK = Resources.parse("cpus:0.01;mem:32")


class Steady(Scheduler):
    """See the module docstring; ``agent_id`` is the only agent it launches on."""

    def __init__(self, agent_id: str, concurrency: int = 4, command: str = "true") -> None:
        self.agent_id = agent_id
        self.concurrency = concurrency
        self.command = command
        self.launching = True
        self.in_flight: set[str] = set()
        self.finished = 0
        self.failures: list[str] = []
        self.registered_at: float | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def registered(self, driver: Any, framework_id: str, master_info: Any) -> None:
        self.registered_at = time.monotonic()

    def disconnected(self, driver: Any) -> None:
        self._fail("disconnected from the master")

    def error(self, driver: Any, message: str) -> None:
        self._fail(f"error: {message}")

    def agent_lost(self, driver: Any, agent_id: str) -> None:
        if agent_id == self.agent_id:
            self._fail(f"its agent {agent_id} was lost")

    def resource_offers(self, driver: Any, offers: list[Offer]) -> None:
        for offer in offers:
            tasks: list[TaskInfo] = []
            with self._lock:
                left = offer.resources
                while (offer.agent_id == self.agent_id and self.launching
                       and len(self.in_flight) + len(tasks) < self.concurrency
                       and left.contains(PER_TASK)):
                    self._seq += 1
                    task_id = f"steady-{self._seq}"
                    tasks.append(TaskInfo(name=task_id, task_id=task_id, agent_id=offer.agent_id,
                                          resources=PER_TASK,
                                          command=CommandInfo(value=self.command)))
                    left = left - PER_TASK
                self.in_flight.update(t.task_id for t in tasks)
            if tasks:
                driver.launch_tasks([offer.id], tasks, Filters(refuse_seconds=0.0))
            else:
                other = offer.agent_id != self.agent_id
                driver.decline_offer(offer.id, Filters(refuse_seconds=60.0 if other else 0.1))

    def status_update(self, driver: Any, status: TaskStatus) -> None:
        if not is_terminal(status.state):
            return
        with self._lock:
            if status.task_id not in self.in_flight:
                return
            self.in_flight.discard(status.task_id)
            if status.state is TaskState.TASK_FINISHED:
                self.finished += 1
            else:
                reason = status.reason.name if status.reason is not None else ""
                self.failures.append(f"{status.task_id} {status.state.name} {reason} "
                                     f"{status.message}".strip())
            self._idle.notify_all()

    def _fail(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)

    def drain(self, timeout: float) -> bool:
        """Launch no more; wait until the tasks in flight ended (False: some did not)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self.launching = False
            while self.in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def finished_count(self) -> int:
        with self._lock:
            return self.finished
