"""The example frameworks' schedulers against a stand-in master; the hello executor alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from scheduler_harness import FRAMEWORK_ID, FakeMaster, offer, status_update, wait_until

from actors.messages import (
    AcceptOffers,
    DeclineOffers,
    ExecutorToFramework,
    FrameworkInfo,
    FrameworkToExecutor,
    ResourceOffers,
    SuppressOffers,
    TaskInfo,
    TaskState,
    TaskStatus,
    UnregisterFramework,
)
from frameworks.examples.hello_executor import HelloExecutor
from frameworks.examples.hello_scheduler import HelloScheduler
from frameworks.examples.sleepy import SleepyScheduler
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import DriverStatus, SchedulerDriver
from transport import Node


@pytest.fixture
def node() -> Iterator[Node]:
    node = Node("127.0.0.1", 0).start()
    try:
        yield node
    finally:
        node.stop()


def _start(node: Node, scheduler: Scheduler) -> tuple[SchedulerDriver, FakeMaster]:
    master = FakeMaster.spawn(node)
    driver = SchedulerDriver(node, scheduler, FrameworkInfo(user="u", name="example"),
                             f"master@{node.address}")
    driver.start()
    wait_until(lambda: driver.connected)
    return driver, master


def _tasks(accept: AcceptOffers) -> list[TaskInfo]:
    [op] = accept.operations
    assert op.launch is not None
    return list(op.launch.task_infos)


def test_sleepy_deals_tasks_over_offers_suppresses_and_stops_when_all_ended(
        node: Node) -> None:
    sched = SleepyScheduler(tasks=5)
    driver, master = _start(node, sched)
    master.push(driver.pid, _offers(("m1-O1", "m1-S1", "cpus:0.25;mem:1024"),
                                    ("m1-O2", "m1-S2", "cpus:4;mem:4096"),
                                    ("m1-O3", "m1-S3", "cpus:4;mem:4096"),
                                    ("m1-O4", "m1-S4", "cpus:0.05;mem:4096")))
    accepts = master.wait_for(AcceptOffers, 3)
    placed = {a.offer_ids[0]: [t.task_id for t in _tasks(a)] for a in accepts}
    assert placed == {"m1-O1": ["task-0", "task-3"], "m1-O2": ["task-1", "task-4"],
                      "m1-O3": ["task-2"]}
    task0 = _tasks(accepts[0])[0]
    assert task0.command is not None and task0.command.value == "echo task 0; sleep 0.5"
    assert all(a.filters.refuse_seconds == 3600 for a in accepts)
    [decline] = master.wait_for(DeclineOffers)
    assert decline.offer_ids == ("m1-O4",) and decline.filters.refuse_seconds == 3600
    master.wait_for(SuppressOffers)
    for i in range(5):
        master.push(driver.pid, status_update(f"task-{i}", TaskState.TASK_FINISHED))
    assert driver.join(timeout=5) is DriverStatus.DRIVER_STOPPED
    master.wait_for(UnregisterFramework)
    assert sched.succeeded and len(master.messages(SuppressOffers)) == 1


def test_sleepy_reports_failure(node: Node) -> None:
    sched = SleepyScheduler(tasks=1)
    driver, master = _start(node, sched)
    master.push(driver.pid, _offers(("m1-O1", "m1-S1", "cpus:1;mem:64")))
    master.wait_for(AcceptOffers)
    master.push(driver.pid, status_update("task-0", TaskState.TASK_FAILED))
    assert driver.join(timeout=5) is DriverStatus.DRIVER_STOPPED
    assert not sched.succeeded


def test_hello_scheduler_launches_on_the_executor_and_answers_greetings(node: Node) -> None:
    sched = HelloScheduler(tasks=2, python="python3")
    driver, master = _start(node, sched)
    master.push(driver.pid, _offers(("m1-O1", "m1-S1", "cpus:1;mem:256")))
    [accept] = master.wait_for(AcceptOffers)
    tasks = _tasks(accept)
    assert [t.task_id for t in tasks] == ["hello-0", "hello-1"]
    for t in tasks:
        assert t.command is None and t.executor is not None
        assert t.executor.command is not None
        assert t.executor.command.value == "python3 -m frameworks.examples.hello_executor"
    master.push(driver.pid, ExecutorToFramework(agent_id="m1-S1", framework_id=FRAMEWORK_ID,
                                                executor_id="hello-executor",
                                                data=b"hello from hello-0 on host1"))
    [bye] = master.wait_for(FrameworkToExecutor)
    assert bye == FrameworkToExecutor(agent_id="m1-S1", framework_id=FRAMEWORK_ID,
                                      executor_id="hello-executor", data=b"bye hello-0")
    for t in tasks:
        master.push(driver.pid, status_update(t.task_id, TaskState.TASK_FINISHED))
    assert driver.join(timeout=5) is DriverStatus.DRIVER_STOPPED
    assert sched.succeeded and sched.greetings == ["hello from hello-0 on host1"]


class _RecordingExecutorDriver:
    def __init__(self) -> None:
        self.updates: list[TaskStatus] = []
        self.messages: list[bytes] = []
        self.stopped = False

    def send_status_update(self, status: TaskStatus) -> bytes:
        self.updates.append(status)
        return b"u" * 16

    def send_framework_message(self, data: bytes) -> None:
        self.messages.append(data)

    def stop(self) -> None:
        self.stopped = True


def test_hello_executor_finishes_a_task_only_after_the_bye() -> None:
    executor, driver = HelloExecutor(), _RecordingExecutorDriver()
    d: Any = driver
    executor.hostname = "host1"
    executor.launch_task(d, TaskInfo(name="hello-0", task_id="hello-0", agent_id="m1-S1"))
    executor.launch_task(d, TaskInfo(name="hello-1", task_id="hello-1", agent_id="m1-S1"))
    assert [(u.task_id, u.state) for u in driver.updates] == [
        ("hello-0", TaskState.TASK_RUNNING), ("hello-1", TaskState.TASK_RUNNING)]
    assert driver.messages == [b"hello from hello-0 on host1", b"hello from hello-1 on host1"]
    executor.framework_message(d, b"bye hello-0")
    executor.framework_message(d, b"bye unknown")
    assert (driver.updates[-1].task_id, driver.updates[-1].state) == (
        "hello-0", TaskState.TASK_FINISHED)
    executor.shutdown(d)
    assert (driver.updates[-1].task_id, driver.updates[-1].state) == (
        "hello-1", TaskState.TASK_KILLED)
    assert driver.stopped and len(driver.updates) == 4


def _offers(*specs: tuple[str, str, str]) -> ResourceOffers:
    return ResourceOffers(offers=tuple(offer(o, a, r) for o, a, r in specs))
