"""Hello scheduler: tasks run by a custom executor, with framework messages both ways.

::

    python -m frameworks.examples.hello_scheduler --master=127.0.0.1:5050 --tasks=6

Each task carries ``TaskInfo.executor``: the ``hello_executor`` example, started by
the agent as ``<python> -m frameworks.examples.hello_executor`` (the same ExecutorInfo
for every task, so an agent runs one such executor for all of this framework's tasks
there). The executor answers each task with TASK_RUNNING and a framework message
``hello from <task_id> on <hostname>``; this scheduler prints it and answers
``bye <task_id>``, on which the executor finishes the task. When every task has ended
the scheduler stops the driver (tearing the framework down, which shuts the executors
down); the exit status is 0 if all tasks finished.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from actors.messages import (
    CommandInfo,
    ExecutorInfo,
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


class HelloScheduler(Scheduler):
    """Launches ``tasks`` tasks on the hello executor and says bye to each greeting."""

    def __init__(self, tasks: int, python: str = sys.executable) -> None:
        self.total = tasks
        self.per_task = Resources.parse("cpus:0.1;mem:16")
        self.executor = ExecutorInfo(
            executor_id="hello-executor", name="hello executor",
            command=CommandInfo(value=f"{python} -m frameworks.examples.hello_executor"))
        self.launched = 0
        self.greetings: list[str] = []
        self.ended: dict[str, TaskState] = {}

    def registered(self, driver: SchedulerDriver, framework_id: str,
                   master_info: MasterInfo) -> None:
        print(f"registered as {framework_id}", flush=True)
        if self.total == 0:
            driver.stop()

    def resource_offers(self, driver: SchedulerDriver, offers: list[Offer]) -> None:
        for offer in offers:
            left, tasks = offer.resources, []
            while self.launched < self.total and left.contains(self.per_task):
                task_id = f"hello-{self.launched}"
                self.launched += 1
                left = left - self.per_task
                tasks.append(TaskInfo(name=task_id, task_id=task_id, agent_id=offer.agent_id,
                                      resources=self.per_task, executor=self.executor))
            if not tasks:
                driver.decline_offer(offer.id, LONG_FILTER)
                continue
            driver.launch_tasks([offer.id], tasks, LONG_FILTER)
            if self.launched == self.total:
                driver.suppress_offers()

    def framework_message(self, driver: SchedulerDriver, executor_id: str, agent_id: str,
                          data: bytes) -> None:
        text = data.decode(errors="replace")
        print(f"{executor_id}@{agent_id} says: {text}", flush=True)
        self.greetings.append(text)
        task_id = text.split(" ")[2] if text.startswith("hello from ") else ""
        if task_id:
            driver.send_framework_message(executor_id, agent_id, f"bye {task_id}".encode())

    def status_update(self, driver: SchedulerDriver, status: TaskStatus) -> None:
        if is_terminal(status.state):
            self.ended[status.task_id] = status.state
        print(f"[{len(self.ended)}/{self.total}] {status.task_id} {status.state.name} "
              f"on agent {status.agent_id}", flush=True)
        if len(self.ended) == self.total:
            driver.stop()

    @property
    def succeeded(self) -> bool:
        return len(self.ended) == self.total and all(
            s is TaskState.TASK_FINISHED for s in self.ended.values())


def main(argv: Sequence[str] | None = None) -> int:
    flags = Flags("hello_scheduler", "Run tasks on a custom executor that says hello.")
    flags.add("master", str, "127.0.0.1:5050", "the master, host:port")
    flags.add("tasks", int, 4, "how many tasks to run",
              lambda n: None if n >= 0 else "must not be negative")
    flags.add("log_level", str, "warning", "log level of the driver's log lines (to stderr)")
    values = flags.parse(sys.argv[1:] if argv is None else argv)
    configure(values.log_level)
    scheduler = HelloScheduler(values.tasks)
    status = run_scheduler(scheduler, FrameworkInfo(user="", name="hello"), values.master)
    ok = status is DriverStatus.DRIVER_STOPPED and scheduler.succeeded
    print(f"hello: {len(scheduler.ended)}/{scheduler.total} tasks ended, "
          f"{len(scheduler.greetings)} greetings; {'ok' if ok else 'not all finished'}",
          flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
