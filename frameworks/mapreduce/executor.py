"""``MapReduceExecutor``: the long-lived worker of the mapreduce framework (Spark's
coarse-grained executor), an example of subclassing ``Executor``.

The agent starts it as ``python -m frameworks.mapreduce.executor`` (through its warm
launcher) for the scheduler's worker task on that agent. Its life:

1. ``launch_task`` — the worker task's ``cpus`` (rounded down, at least 1) is its number
   of slots: it starts a ``WorkerPool`` of that many worker processes and sends
   TASK_RUNNING, whose message says ``pid <pid> slots <n>``. The task then runs until
   the job is done: it is the executor's lease on its resources.
2. ``framework_message`` — ``work`` items (``protocol``) go into the pool; each answer
   goes back to the scheduler as a ``result`` framework message. An item that comes again
   (the scheduler re-sends when a result is late) is not run twice: if it is running,
   it is ignored; if it is done, the stored result is sent again.
3. ``stop`` — the pool is closed and the task ends TASK_FINISHED; once the agent has
   acknowledged that update the driver stops and the process exits.

``kill_task`` and ``shutdown`` end the task TASK_KILLED instead. Results come back on
pool threads; ``driver.call_soon`` moves them onto the driver's thread, so this class's
state is only touched there (no locks).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import structlog

from actors.messages import TaskInfo, TaskState, TaskStatus
from frameworks.executor import Executor
from frameworks.executor_driver import ExecutorDriver, run_executor
from frameworks.mapreduce import protocol
from frameworks.mapreduce.pool import WorkerPool

__all__ = ["MapReduceExecutor"]

_log = structlog.get_logger("meseta.mapreduce.executor")

KEEP_RESULTS = 1000
"""How many sent results are kept to answer a re-sent item without running it again."""

STOP_AFTER_ACK_TIMEOUT = 10.0
"""Seconds to wait for the agent's acknowledgement of the final update before exiting."""


class MapReduceExecutor(Executor):
    """See the module docstring."""

    def __init__(self) -> None:
        self.task_id = ""
        self.pool: WorkerPool | None = None
        self.running: set[int] = set()
        self.sent: OrderedDict[int, bytes] = OrderedDict()
        self.final_uuid = b""

    def launch_task(self, driver: ExecutorDriver, task: TaskInfo) -> None:
        if self.task_id:  # one worker task per executor; the scheduler never sends two
            driver.send_status_update(TaskStatus(
                task_id=task.task_id, state=TaskState.TASK_ERROR,
                message="this executor already runs a worker task"))
            return
        self.task_id = task.task_id
        slots = max(1, int(task.resources.get("cpus")))
        self.pool = WorkerPool(slots, lambda answer: driver.call_soon(
            self._answered, driver, answer))
        driver.send_status_update(TaskStatus(task_id=task.task_id, state=TaskState.TASK_RUNNING,
                                             message=f"pid {os.getpid()} slots {slots}"))

    def framework_message(self, driver: ExecutorDriver, data: bytes) -> None:
        msg = protocol.decode(data)
        if msg is None:
            _log.warning("malformed framework message dropped", size=len(data))
            return
        if msg["type"] == "stop":
            self._end(driver, TaskState.TASK_FINISHED, "the job is done")
        elif msg["type"] == "work" and self.pool is not None and not self.final_uuid:
            item: dict[str, Any] = msg["item"]
            item_id = int(item["id"])
            if item_id in self.sent:
                driver.send_framework_message(self.sent[item_id])
            elif item_id not in self.running:
                self.running.add(item_id)
                self.pool.submit(item)

    def _answered(self, driver: ExecutorDriver, answer: dict[str, Any]) -> None:
        item_id = answer.get("id")
        if not isinstance(item_id, int):
            return
        self.running.discard(item_id)
        if "error" in answer:
            data = protocol.failure(item_id, str(answer["error"]))
        else:
            data = protocol.result(item_id, answer.get("value"), float(answer.get("seconds", 0)))
        self.sent[item_id] = data
        while len(self.sent) > KEEP_RESULTS:
            self.sent.popitem(last=False)
        if not self.final_uuid:
            driver.send_framework_message(data)

    def kill_task(self, driver: ExecutorDriver, task_id: str) -> None:
        if task_id == self.task_id:
            self._end(driver, TaskState.TASK_KILLED, "killed by the scheduler")

    def shutdown(self, driver: ExecutorDriver) -> None:
        self._end(driver, TaskState.TASK_KILLED, "the executor is shutting down")
        driver.stop()

    def acknowledged(self, driver: ExecutorDriver, task_id: str, uuid: bytes) -> None:
        if uuid and uuid == self.final_uuid:
            driver.stop()

    def _end(self, driver: ExecutorDriver, state: TaskState, message: str) -> None:
        if not self.task_id or self.final_uuid:
            return
        if self.pool is not None:
            self.pool.close()
        self.final_uuid = driver.send_status_update(
            TaskStatus(task_id=self.task_id, state=state, message=message))
        driver.delay(STOP_AFTER_ACK_TIMEOUT, driver.stop)


def main() -> int:
    return run_executor(MapReduceExecutor())


if __name__ == "__main__":
    raise SystemExit(main())
