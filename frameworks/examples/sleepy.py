"""Sleepy: the smallest useful framework — run N command tasks, then stop.

::

    python -m frameworks.examples.sleepy --master=127.0.0.1:5050 --tasks=20

The scheduler deals its tasks (``echo task i; sleep 0.5``, each ``cpus:0.1;mem:32``)
round-robin over each batch of offers, as far as they fit, declines offers it cannot
use for an hour, and once every task is launched suppresses offers so the allocator
stops sending them. Each status update
prints as ``[3/20] task-3 TASK_FINISHED on agent <agent_id>`` (the count is of tasks
ended). When every task has ended the scheduler stops the driver, which tears the
framework down; the process exits 0 if all of them finished, 1 otherwise.

Everything happens in the callbacks, on the driver's thread: no locks needed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from actors.messages import (
    CommandInfo,
    Filters,
    FrameworkInfo,
    MasterInfo,
    Offer,
    TaskInfo,
    TaskState,
    TaskStatus,
    is_terminal,
)
from actors.resources import Resources
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import DriverStatus, SchedulerDriver, run_scheduler
from transport.flags import Flags
from transport.logs import configure

LONG_FILTER = Filters(refuse_seconds=3600)


class SleepyScheduler(Scheduler):
    """Launches ``tasks`` command tasks across offers; stops when all have ended."""

    def __init__(self, tasks: int, sleep: float = 0.5,
                 resources: str = "cpus:0.1;mem:32") -> None:
        self.total = tasks
        self.sleep = sleep
        self.per_task = Resources.parse(resources)
        self.launched = 0
        self.suppressed = False
        self.ended: dict[str, TaskState] = {}

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        print(f"registered as {framework_id}", flush=True)
        if self.total == 0:
            driver.stop()

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        # Deal the tasks out over this batch of offers round-robin, so they spread
        # over the agents instead of filling the first offer.
        left = {offer.id: offer.resources for offer in offers}
        tasks: dict[str, list[TaskInfo]] = {offer.id: [] for offer in offers}
        placed = True
        while self.launched < self.total and placed:
            placed = False
            for offer in offers:
                if self.launched < self.total and left[offer.id].contains(self.per_task):
                    left[offer.id] = left[offer.id] - self.per_task
                    tasks[offer.id].append(self._task(self.launched, offer.agent_id))
                    self.launched += 1
                    placed = True
        done_launching = self.launched == self.total
        for offer in offers:
            if tasks[offer.id]:
                driver.launch_tasks([offer.id], tasks[offer.id],
                                    LONG_FILTER if done_launching else None)
            else:
                driver.decline_offer(offer.id, LONG_FILTER)
        if done_launching and not self.suppressed:
            self.suppressed = True
            driver.suppress_offers()

    def _task(self, i: int, agent_id: str) -> TaskInfo:
        return TaskInfo(name=f"task-{i}", task_id=f"task-{i}", agent_id=agent_id,
                        resources=self.per_task,
                        command=CommandInfo(value=f"echo task {i}; sleep {self.sleep}"))

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        if is_terminal(status.state):
            self.ended[status.task_id] = status.state
        print(f"[{len(self.ended)}/{self.total}] {status.task_id} {status.state.name} "
              f"on agent {status.agent_id}", flush=True)
        if status.message and status.state is not TaskState.TASK_FINISHED:
            print(f"    {status.message}", flush=True)
        if len(self.ended) == self.total:
            driver.stop()

    @property
    def succeeded(self) -> bool:
        return len(self.ended) == self.total and all(
            s is TaskState.TASK_FINISHED for s in self.ended.values())


def main(argv: Sequence[str] | None = None) -> int:
    flags = Flags("sleepy", "Run N sleepy command tasks on a Meseta cluster.")
    flags.add("master", str, "127.0.0.1:5050", "the master, host:port")
    flags.add("tasks", int, 10, "how many tasks to run",
              lambda n: None if n >= 0 else "must not be negative")
    flags.add("sleep", float, 0.5, "seconds each task sleeps")
    flags.add("log_level", str, "warning", "log level of the driver's log lines (to stderr)")
    values = flags.parse(sys.argv[1:] if argv is None else argv)
    configure(values.log_level)
    scheduler = SleepyScheduler(values.tasks, values.sleep)
    status = run_scheduler(scheduler, FrameworkInfo(user="", name="sleepy"), values.master)
    ok = status is DriverStatus.DRIVER_STOPPED and scheduler.succeeded
    print(f"sleepy: {len(scheduler.ended)}/{scheduler.total} tasks ended; "
          f"{'all finished' if ok else 'not all finished'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
