"""``MapReduceExecutor`` with a recording driver and its real worker processes."""

from __future__ import annotations

import os
import queue
from collections.abc import Callable
from typing import Any

from actors.messages import TaskInfo, TaskState, TaskStatus
from actors.resources import Resources
from frameworks.mapreduce import protocol
from frameworks.mapreduce.executor import MapReduceExecutor
from frameworks.mapreduce.jobs import pi_job, run_item

WAIT = 60.0


class Driver:
    def __init__(self) -> None:
        self.updates: list[TaskStatus] = []
        self.messages: list[dict[str, Any]] = []
        self.posted: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.Queue()
        self.stopped = False

    def send_status_update(self, status: TaskStatus) -> bytes:
        self.updates.append(status)
        return f"uuid-{len(self.updates)}".encode()

    def send_framework_message(self, data: bytes) -> None:
        msg = protocol.decode(data)
        assert msg is not None
        self.messages.append(msg)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self.posted.put((fn, args))  # from a pool thread; run by pump() on the test's

    def delay(self, seconds: float, fn: Callable[..., Any], *args: Any) -> None:
        pass

    def stop(self) -> None:
        self.stopped = True

    def pump(self, results: int) -> None:
        """Run posted calls until ``results`` result messages have been sent."""
        while sum(m["type"] == "result" for m in self.messages) < results:
            fn, args = self.posted.get(timeout=WAIT)
            fn(*args)


def test_the_executor_runs_items_on_its_slots_and_finishes_on_stop() -> None:
    executor, driver = MapReduceExecutor(), Driver()
    d: Any = driver
    task = TaskInfo(name="w", task_id="worker-1", agent_id="A",
                    resources=Resources.parse("cpus:2;mem:128"))
    executor.launch_task(d, task)
    [running] = driver.updates
    assert running.state is TaskState.TASK_RUNNING
    assert running.message == f"pid {os.getpid()} slots 2"
    items = list(pi_job(3000, 3, seed=4).items)
    for item in items:
        executor.framework_message(d, protocol.work(item))
    executor.framework_message(d, protocol.work(items[0]))  # re-sent while running: ignored
    executor.framework_message(d, b"nonsense")
    driver.pump(3)
    got = {m["id"]: m["value"] for m in driver.messages}
    assert got == {item["id"]: run_item(item) for item in items}
    assert len(driver.messages) == 3
    executor.framework_message(d, protocol.work(items[1]))  # done already: the stored result
    assert driver.messages[-1] == driver.messages[[m["id"] for m in driver.messages].index(1)]
    executor.framework_message(d, protocol.work({"id": 9, "kind": "nope"}))
    driver.pump(5)
    assert driver.messages[-1]["id"] == 9 and "unknown kind" in driver.messages[-1]["error"]
    executor.framework_message(d, protocol.stop())
    assert driver.updates[-1].state is TaskState.TASK_FINISHED and not driver.stopped
    executor.framework_message(d, protocol.stop())  # said again: still one final update
    assert len(driver.updates) == 2
    executor.acknowledged(d, "worker-1", b"uuid-1")
    assert not driver.stopped
    executor.acknowledged(d, "worker-1", b"uuid-2")
    assert driver.stopped


def test_a_second_task_is_refused_and_kill_ends_the_worker_task() -> None:
    executor, driver = MapReduceExecutor(), Driver()
    d: Any = driver
    executor.launch_task(d, TaskInfo(name="w", task_id="worker-1", agent_id="A",
                                     resources=Resources.parse("cpus:1;mem:64")))
    executor.launch_task(d, TaskInfo(name="w", task_id="worker-2", agent_id="A",
                                     resources=Resources.parse("cpus:1;mem:64")))
    assert [(u.task_id, u.state) for u in driver.updates] == [
        ("worker-1", TaskState.TASK_RUNNING), ("worker-2", TaskState.TASK_ERROR)]
    executor.kill_task(d, "worker-1")
    assert (driver.updates[-1].task_id, driver.updates[-1].state) == (
        "worker-1", TaskState.TASK_KILLED)
    executor.shutdown(d)
    assert len(driver.updates) == 3 and driver.stopped
