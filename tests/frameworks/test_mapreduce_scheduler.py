"""``MapReduceScheduler`` driven by hand: a recording driver, a manual clock, no cluster."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from actors.messages import Offer, TaskInfo, TaskState, TaskStatus
from actors.resources import Resources
from frameworks.mapreduce import protocol
from frameworks.mapreduce.jobs import pi_job, run_item
from frameworks.mapreduce.scheduler import Config, MapReduceScheduler


class Driver:
    """Records what the scheduler asks of its driver."""

    def __init__(self) -> None:
        self.launched: list[TaskInfo] = []
        self.declined: list[str] = []
        self.calls: list[str] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.killed: list[str] = []
        self.timers: list[tuple[float, Callable[..., Any], tuple[Any, ...]]] = []
        self.stopped = False

    def launch_tasks(self, offer_ids: list[str], tasks: list[TaskInfo], *_: Any) -> None:
        self.launched += tasks

    def decline_offer(self, offer_id: str, filters: Any = None) -> None:
        self.declined.append(offer_id)

    def suppress_offers(self, roles: Any = ()) -> None:
        self.calls.append("suppress")

    def revive_offers(self, roles: Any = ()) -> None:
        self.calls.append("revive")

    def send_framework_message(self, executor_id: str, agent_id: str, data: bytes) -> None:
        msg = protocol.decode(data)
        assert msg is not None
        self.sent.append((executor_id, msg))

    def kill_task(self, task_id: str, agent_id: str = "") -> None:
        self.killed.append(task_id)

    def delay(self, seconds: float, fn: Callable[..., Any], *args: Any) -> None:
        self.timers.append((seconds, fn, args))

    def stop(self) -> None:
        self.stopped = True

    def work_to(self, executor_id: str) -> list[dict[str, Any]]:
        """The items sent to ``executor_id`` so far (and forget them)."""
        items = [m["item"] for e, m in self.sent if e == executor_id and m["type"] == "work"]
        self.sent = [(e, m) for e, m in self.sent if not (e == executor_id and
                                                         m["type"] == "work")]
        return items


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def offer(n: int, agent: str, resources: str = "cpus:4;mem:1024") -> Offer:
    return Offer(id=f"O{n}", framework_id="f", agent_id=agent, hostname="h",
                 resources=Resources.parse(resources))


def status(task_id: str, state: TaskState, message: str = "") -> TaskStatus:
    return TaskStatus(task_id=task_id, state=state, message=message)


def answer(sched: MapReduceScheduler, d: Any, executor_id: str,
           items: list[dict[str, Any]]) -> None:
    for item in items:
        data = protocol.result(item["id"], run_item(item), 0.1)
        sched.framework_message(d, executor_id, "A", data)


def start(items: int = 6, **config: Any) -> tuple[MapReduceScheduler, Driver, Any, Clock,
                                                 io.StringIO]:
    out, clock = io.StringIO(), Clock()
    sched = MapReduceScheduler(pi_job(6000, items, seed=2), Config(**config), out, clock)
    driver = Driver()
    d: Any = driver
    sched.registered(d, "f", None)  # type: ignore[arg-type]
    assert driver.calls == ["revive"]  # work to do: any filters an earlier instance left go
    driver.calls.clear()
    return sched, driver, d, clock, out


def test_one_worker_task_per_agent_up_to_max_executors_then_suppress() -> None:
    sched, driver, d, _, _ = start(max_executors=2, cores_per_executor=2)
    sched.resource_offers(d, [offer(1, "A"), offer(2, "A"), offer(3, "B", "cpus:0.5;mem:512"),
                              offer(4, "C", "cpus:1.5;mem:512")])
    assert [(t.agent_id, t.resources.get("cpus")) for t in driver.launched] == [
        ("A", 2.0), ("C", 1.0)]
    assert driver.declined == ["O2", "O3"] and driver.calls == ["suppress"]
    executor = driver.launched[0].executor
    assert executor is not None and executor.command is not None
    assert executor.command.value.endswith("-m frameworks.mapreduce.executor")
    ids = [t.executor.executor_id for t in driver.launched if t.executor is not None]
    assert ids == ["executor-1", "executor-2"]
    sched.resource_offers(d, [offer(5, "D")])
    assert driver.declined[-1] == "O5" and len(driver.launched) == 2


def test_items_go_out_per_free_slot_and_the_job_ends_after_stop() -> None:
    sched, driver, d, _, out = start(items=5, max_executors=1, cores_per_executor=2)
    sched.resource_offers(d, [offer(1, "A")])
    [task] = driver.launched
    assert driver.sent == []  # nothing before the worker task runs
    sched.status_update(d, status(task.task_id, TaskState.TASK_RUNNING, "pid 42 slots 2"))
    assert sched.executors["executor-1"].pid == 42
    first = driver.work_to("executor-1")
    assert [i["id"] for i in first] == [0, 1]
    answer(sched, d, "executor-1", first[:1])
    answer(sched, d, "executor-1", first[:1])  # a duplicate: ignored, nothing more sent
    second = driver.work_to("executor-1")
    assert [i["id"] for i in second] == [2]
    answer(sched, d, "executor-1", [first[1]])
    rest = driver.work_to("executor-1")
    assert [i["id"] for i in rest] == [3]
    answer(sched, d, "executor-1", rest)
    last = driver.work_to("executor-1")
    assert [i["id"] for i in last] == [4] and "suppress" in driver.calls
    answer(sched, d, "executor-1", last)
    assert driver.sent == []  # item 2 is still out
    answer(sched, d, "executor-1", second)
    assert driver.sent == [("executor-1", {"type": "stop"})] and not driver.stopped
    sched.status_update(d, status(task.task_id, TaskState.TASK_FINISHED))
    assert driver.stopped
    summary = json.loads(out.getvalue().splitlines()[-1])
    expected = pi_job(6000, 5, seed=2).local_answer()["answer"]
    assert summary["answer"] == expected and summary["duplicates"] == 1
    assert summary["executors"] == summary["executors_finished"] == 1


def test_a_lost_executor_revives_offers_and_its_items_go_elsewhere() -> None:
    sched, driver, d, _, out = start(items=4, max_executors=2, cores_per_executor=1)
    sched.resource_offers(d, [offer(1, "A"), offer(2, "B")])
    t1, t2 = driver.launched
    sched.status_update(d, status(t1.task_id, TaskState.TASK_RUNNING))
    sched.status_update(d, status(t2.task_id, TaskState.TASK_RUNNING))
    on_1, on_2 = driver.work_to("executor-1"), driver.work_to("executor-2")
    assert driver.calls == ["suppress"]
    sched.status_update(d, status(t1.task_id, TaskState.TASK_FAILED, "crashed"))
    assert driver.calls == ["suppress", "revive"]
    answer(sched, d, "executor-2", on_2)
    moved = driver.work_to("executor-2")
    assert moved == on_1  # the lost item first
    sched.resource_offers(d, [offer(3, "A")])  # a replacement on A
    replacement = driver.launched[-1].executor
    assert replacement is not None and replacement.executor_id == "executor-3"
    answer(sched, d, "executor-2", moved)
    answer(sched, d, "executor-1", on_1)  # the dead one's result after all: a duplicate
    sched.status_update(d, status(driver.launched[-1].task_id, TaskState.TASK_RUNNING))
    for e in ("executor-2", "executor-3"):
        answer(sched, d, e, driver.work_to(e))
    assert sched.tracker.done and sched.finished_at is not None
    assert {e for e, m in driver.sent if m["type"] == "stop"} == {"executor-2", "executor-3"}
    sched.status_update(d, status("worker-2", TaskState.TASK_FINISHED))
    sched.status_update(d, status("worker-3", TaskState.TASK_FINISHED))
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["answer"] == pi_job(6000, 4, seed=2).local_answer()["answer"]
    assert summary["reassigned"] == 1 and summary["revivals"] == 2  # registration, the loss


def test_a_late_result_is_sent_again_and_unstopped_executors_are_killed() -> None:
    sched, driver, d, clock, _ = start(items=1, max_executors=1, item_timeout=10,
                                       stop_timeout=5)
    sched.resource_offers(d, [offer(1, "A")])
    sched.status_update(d, status("worker-1", TaskState.TASK_RUNNING))
    [item] = driver.work_to("executor-1")
    _, tick, args = driver.timers[-1]
    clock.t = 9.0
    tick(*args)
    assert driver.work_to("executor-1") == []
    clock.t = 10.5
    driver.timers[-1][1](*args)
    assert driver.work_to("executor-1") == [item]  # sent again
    answer(sched, d, "executor-1", [item])
    clock.t = 16.0  # the stop got no answer within stop_timeout
    driver.timers[-1][1](*args)
    assert driver.killed == ["worker-1"] and not driver.stopped
    sched.status_update(d, status("worker-1", TaskState.TASK_KILLED))
    assert driver.stopped and sched.summary is not None
    assert sched.summary["executors_finished"] == 0


def test_a_failed_item_or_a_malformed_message_does_not_crash_the_scheduler() -> None:
    sched, driver, d, _, out = start(items=2, max_executors=1)
    sched.resource_offers(d, [offer(1, "A")])
    sched.status_update(d, status("worker-1", TaskState.TASK_RUNNING))
    sched.framework_message(d, "executor-1", "A", b"\x00garbage")
    sched.status_update(d, status("unknown-task", TaskState.TASK_FAILED))
    assert not driver.stopped and "dropped a malformed message" in out.getvalue()
    sched.framework_message(d, "executor-1", "A", protocol.failure(0, "ValueError: bad"))
    assert driver.stopped and sched.error_message is not None
    assert "item 0 failed" in sched.error_message
