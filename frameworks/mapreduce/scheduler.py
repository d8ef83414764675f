"""``MapReduceScheduler``: Spark's coarse-grained model on Meseta, an example of
subclassing ``Scheduler``.

On offers it launches one long-lived *worker task* per agent, each on its own executor
(``frameworks.mapreduce.executor``, ``cpus`` = its slots, up to ``cores_per_executor``),
up to ``max_executors`` of them. Once a worker task is RUNNING it deals that executor
work items as framework messages, never more than it has slots, and sends the next item
as each result comes back (``protocol`` has the messages). When every item has a result
it reduces them (``jobs``), sends ``stop`` to every executor, waits for their tasks to
end (TASK_FINISHED), prints the summary as one JSON line and stops the driver.

Framework messages are best effort, so an ``ItemTracker`` (``tracker``) knows which item
is where: an item whose result is not back within ``item_timeout`` is queued again, as
are the items of an executor whose task ended or whose executor or agent was lost; they
go to whichever executor has a free slot next. Duplicate results are ignored.

Offers go through ``Citizen``: it declines what we do not use (long filter) and
suppresses offers while we want no more executors — everything is launched, or nothing is
left to assign and only results are outstanding, or the job is done; it revives when
items need an executor again (one was lost). We never hold offers.

All of this runs in the driver's callbacks and in timers set with ``driver.delay``, on the
driver's thread, so there are no locks.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from actors.messages import (
    MasterInfo,
    Offer,
    TaskInfo,
    TaskState,
    TaskStatus,
    is_terminal,
)
from frameworks.citizen import Citizen
from frameworks.mapreduce import protocol
from frameworks.mapreduce.fleet import Config, ExecutorRecord, running_pid, worker_task
from frameworks.mapreduce.jobs import Job
from frameworks.mapreduce.tracker import ItemTracker
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver

__all__ = ["Config", "MapReduceScheduler"]

TICK_SECONDS = 1.0
MAX_LOST = 20
"""Executors that may end before the job is done (crashes, lost agents) before we give up."""


class MapReduceScheduler(Scheduler):
    """Runs one ``Job`` on executors it launches; see the module docstring."""

    def __init__(self, job: Job, config: Config | None = None, out: TextIO = sys.stdout,
                 now: Callable[[], float] = time.monotonic) -> None:
        """``now``: the clock of timeouts (tests pass a manual one)."""
        self.job = job
        self.config = config = config or Config()
        self.out = out
        self.now = now
        self.items = {int(item["id"]): item for item in job.items}
        self.tracker = ItemTracker(sorted(self.items), config.item_timeout, now)
        self.executors: dict[str, ExecutorRecord] = {}
        self.citizen = Citizen(self._wants_offers, roles=config.roles)
        self.started_at = time.time()
        self.finished_at: float | None = None
        self.summary: dict[str, Any] | None = None
        """The final JSON line's fields, once the executors have ended."""
        self._answer: dict[str, Any] = {}
        self.error_message: str | None = None
        self._ticking = False
        self._stop_deadline = 0.0
        self._stop_rounds = 0

    # --- what we want -----------------------------------------------------------------

    def live(self) -> list[ExecutorRecord]:
        return [e for e in self.executors.values() if e.ended is None]

    def _wants_offers(self) -> bool:
        """More executors would help: items wait beyond the free slots we have or will have."""
        if self.finished_at is not None or len(self.live()) >= self.config.max_executors:
            return False
        free = sum(e.slots - self.tracker.load(e.executor_id) for e in self.live())
        return len(self.tracker.pending) > free

    # --- callbacks --------------------------------------------------------------------

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        self._say(f"registered as {framework_id}; job {self.job.name}: "
                  f"{self.tracker.total} items")
        self.citizen.registered(driver)
        if not self._ticking:
            self._ticking = True
            driver.delay(TICK_SECONDS, self._tick, driver)
        if self.tracker.done:
            self._finish(driver)

    def reregistered(self, driver: SchedulerDriver, master_info: MasterInfo) -> None:
        self.citizen.registered(driver)

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        used = []
        for offer in offers:
            task = self._worker_task(offer) if self._wants_offers() else None
            if task is not None:
                driver.launch_tasks([offer.id], [task])
                used.append(offer.id)
        self._settle(driver, offers, used)

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        record = next((e for e in self.executors.values() if e.task_id == status.task_id), None)
        if record is None or record.ended is not None:
            return
        if status.state is TaskState.TASK_RUNNING and not record.running:
            record.running = True
            record.pid = running_pid(status.message)
            self._say(f"{record.executor_id} running on agent {record.agent_id} "
                      f"(pid {record.pid}, {record.slots} slots)")
            if self.finished_at is not None:
                driver.send_framework_message(record.executor_id, record.agent_id,
                                              protocol.stop())
            self._dispatch(driver)
        elif is_terminal(status.state):
            self._ended(driver, record, status.state, status.message)

    def framework_message(self, driver: SchedulerDriver, executor_id: str, agent_id: str,
                          data: bytes) -> None:
        msg = protocol.decode(data)
        if msg is None or msg["type"] != "result":
            self._say(f"dropped a malformed message from {executor_id}")
            return
        item_id = int(msg["id"])
        if "error" in msg:
            self._fail(driver, f"item {item_id} failed on {executor_id}: {msg['error']}")
            return
        if self.tracker.complete(item_id, msg["value"]):
            self._say(f"[{len(self.tracker.results)}/{self.tracker.total}] item {item_id} "
                      f"from {executor_id} ({float(msg.get('seconds', 0)):.2f}s)")
        if self.tracker.done:
            self._finish(driver)
        else:
            self._dispatch(driver)

    def executor_lost(self, driver: SchedulerDriver, executor_id: str, agent_id: str,
                      status: int) -> None:
        record = self.executors.get(executor_id)
        if record is not None and record.ended is None:
            self._ended(driver, record, TaskState.TASK_LOST, f"executor lost ({status})")

    def agent_lost(self, driver: SchedulerDriver, agent_id: str) -> None:
        for record in self.live():
            if record.agent_id == agent_id:
                self._ended(driver, record, TaskState.TASK_LOST, "agent lost")

    def error(self, driver: SchedulerDriver, message: str) -> None:
        self.error_message = message

    # --- the work ---------------------------------------------------------------------

    def _worker_task(self, offer: Offer) -> TaskInfo | None:
        if any(e.agent_id == offer.agent_id for e in self.live()):
            return None  # one executor per agent, as Spark's coarse-grained mode
        made = worker_task(offer, self.config, len(self.executors) + 1)
        if made is None:
            return None
        record, task = made
        self.executors[record.executor_id] = record
        self._say(f"launching {record.executor_id} on agent {offer.agent_id} "
                  f"({record.slots} slots)")
        return task

    def _dispatch(self, driver: SchedulerDriver, revive: bool = False) -> None:
        """Fill every running executor's free slots with pending items.

        ``revive``: items came back (an executor ended, results were late), so offers we
        declined may be worth seeing again. Not on every result: when we want executors
        that no agent can host, that would be a revive and a decline per result.
        """
        if self.finished_at is None:
            for e in self.live():
                if e.running:
                    free = e.slots - self.tracker.load(e.executor_id)
                    for item_id in self.tracker.assign(e.executor_id, free):
                        driver.send_framework_message(e.executor_id, e.agent_id,
                                                      protocol.work(self.items[item_id]))
        if not self._wants_offers():  # all launched, only results outstanding, or done
            self._idle(driver)
        elif revive:
            self._want(driver)

    def _ended(self, driver: SchedulerDriver, record: ExecutorRecord, state: TaskState,
               message: str) -> None:
        record.ended = state
        lost = self.tracker.lose(record.executor_id)
        note = f"; {len(lost)} items to reassign" if lost else ""
        self._say(f"{record.executor_id} {state.name}{note}" + (f" ({message})" if message
                                                                 and lost else ""))
        if self.finished_at is not None:
            if not self.live():
                self._complete(driver)
        elif sum(e.ended is not None for e in self.executors.values()) > MAX_LOST:
            self._fail(driver, f"more than {MAX_LOST} executors ended before the job did")
        else:
            self._dispatch(driver, revive=True)

    def _tick(self, driver: SchedulerDriver) -> None:
        if self.summary is not None:
            return
        late = self.tracker.expire()
        if late:
            self._say(f"results late for items {late}: sending them again")
            self._dispatch(driver, revive=True)
        if self.finished_at is not None:
            if self.now() >= self._stop_deadline:
                self._stop_rounds += 1
                for e in self.live():
                    if self._stop_rounds > 1:  # not even a kill ended it: give up on it
                        e.ended = TaskState.TASK_LOST
                    else:
                        driver.kill_task(e.task_id, e.agent_id)
                if not self.live():
                    self._complete(driver)
                    return
                self._stop_deadline = self.now() + self.config.stop_timeout
            for e in self.live():  # stop may have been lost: say it again
                if e.running:
                    driver.send_framework_message(e.executor_id, e.agent_id, protocol.stop())
        driver.delay(TICK_SECONDS, self._tick, driver)

    def _finish(self, driver: SchedulerDriver) -> None:
        """Every item has its result: reduce, then stop the executors."""
        if self.finished_at is not None:
            return
        self.finished_at = time.time()
        self._answer = self.job.reduce(self.tracker.ordered_results())
        self._stop_deadline = self.now() + self.config.stop_timeout
        self._idle(driver)
        self._say(f"all {self.tracker.total} items done; stopping {len(self.live())} executors")
        for e in self.live():
            if e.running:
                driver.send_framework_message(e.executor_id, e.agent_id, protocol.stop())
        if not self.live():
            self._complete(driver)

    def _complete(self, driver: SchedulerDriver) -> None:
        assert self.finished_at is not None
        self.summary = {"job": self.job.name, **self._answer,
                        "items": self.tracker.total, "executors": len(self.executors),
                        "started_at": self.started_at, "finished_at": self.finished_at,
                        "duration_s": round(self.finished_at - self.started_at, 3),
                        "reassigned": self.tracker.reassigned,
                        "duplicates": self.tracker.duplicates,
                        "executors_finished": sum(e.ended is TaskState.TASK_FINISHED
                                                  for e in self.executors.values()),
                        "suppressions": self.citizen.suppressions,
                        "revivals": self.citizen.revivals}
        print(json.dumps(self.summary), file=self.out, flush=True)
        driver.stop()

    def _fail(self, driver: SchedulerDriver, message: str) -> None:
        self.error_message = message
        self._say(f"error: {message}")
        driver.stop()

    # --- offers, through Citizen ------------------------------------------------------

    def _settle(self, driver: SchedulerDriver, offers: list[Offer], used: list[str]) -> None:
        before = self.citizen.suppressed
        self.citizen.settle(driver, offers, used)
        self._note(before)

    def _want(self, driver: SchedulerDriver) -> None:
        before = self.citizen.suppressed
        self.citizen.want(driver)
        self._note(before)

    def _idle(self, driver: SchedulerDriver) -> None:
        before = self.citizen.suppressed
        self.citizen.idle(driver)
        self._note(before)

    def _note(self, before: bool) -> None:
        after = self.citizen.suppressed
        if after != before:
            self._say("offers suppressed" if after else "offers revived")

    def _say(self, text: str) -> None:
        print(f"mapreduce: {text}", file=self.out, flush=True)
