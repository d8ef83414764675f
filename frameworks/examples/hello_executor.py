"""Hello executor: a custom executor that greets its scheduler before finishing a task.

The agent starts it (``python -m frameworks.examples.hello_executor``) for the
``hello_scheduler`` example's tasks, one executor per framework and agent; every task
of that framework on that agent comes to the same process. For each task it

1. sends TASK_RUNNING,
2. sends the scheduler a framework message ``hello from <task_id> on <hostname>``,
3. waits for the scheduler's answer ``bye <task_id>`` (a framework message back), and
4. sends TASK_FINISHED with the answer as the status message.

So a task finishes only when messages went both ways. ``kill_task`` ends a waiting
task with TASK_KILLED; ``shutdown`` (framework teardown) stops the driver, and the
process exits.
"""

from __future__ import annotations

from actors.messages import AgentInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus
from frameworks.executor import Executor
from frameworks.executor_driver import ExecutorDriver, run_executor


class HelloExecutor(Executor):
    """See the module docstring."""

    def __init__(self) -> None:
        self.hostname = ""
        self.waiting: set[str] = set()
        """Tasks running, waiting for their ``bye``."""

    def registered(self, driver: ExecutorDriver, executor_info: ExecutorInfo,
                   framework_info: FrameworkInfo, agent_info: AgentInfo) -> None:
        self.hostname = agent_info.hostname

    def launch_task(self, driver: ExecutorDriver, task: TaskInfo) -> None:
        driver.send_status_update(TaskStatus(task_id=task.task_id, state=TaskState.TASK_RUNNING))
        self.waiting.add(task.task_id)
        driver.send_framework_message(f"hello from {task.task_id} on {self.hostname}".encode())

    def framework_message(self, driver: ExecutorDriver, data: bytes) -> None:
        word, _, task_id = data.decode(errors="replace").partition(" ")
        if word == "bye" and task_id in self.waiting:
            self.waiting.discard(task_id)
            driver.send_status_update(TaskStatus(task_id=task_id, state=TaskState.TASK_FINISHED,
                                                 message=data.decode()))

    def kill_task(self, driver: ExecutorDriver, task_id: str) -> None:
        if task_id in self.waiting:
            self.waiting.discard(task_id)
            driver.send_status_update(TaskStatus(task_id=task_id, state=TaskState.TASK_KILLED))

    def shutdown(self, driver: ExecutorDriver) -> None:
        for task_id in sorted(self.waiting):
            driver.send_status_update(TaskStatus(task_id=task_id, state=TaskState.TASK_KILLED))
        self.waiting.clear()
        driver.stop()


def main() -> int:
    return run_executor(HelloExecutor())


if __name__ == "__main__":
    raise SystemExit(main())
