"""The default executor's bookkeeping and decisions: pure, no threads, no processes.

``TaskBook`` holds every task the executor was given, grouped by the LAUNCH_GROUP that
brought it, until its terminal update is acknowledged, and every update the agent
has not acknowledged yet (re-sent with the next SUBSCRIBE). The rules, after Mesos'
``src/launcher/default_executor.cpp``:

- ``outcome``: a task whose command ended is TASK_KILLED if it was being killed, else
  TASK_FINISHED (exit 0) or TASK_FAILED, with the exit in words;
- ``siblings_to_kill``: a task of a group that ends other than TASK_FINISHED (failed,
  killed) or is asked to be killed takes the rest of its group with it: its live
  siblings not already being killed;
- ``done``: the executor may exit once no task is live and no update is unacknowledged.

``frameworks.default_executor.executor`` applies them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from actors.messages.task_state import TaskState
from actors.messages.tasks import TaskInfo, TaskStatus
from frameworks.exits import describe_exit

__all__ = ["TERMINAL", "TaskBook", "TaskRun", "outcome"]

TERMINAL = frozenset({TaskState.TASK_FINISHED, TaskState.TASK_FAILED, TaskState.TASK_KILLED,
                      TaskState.TASK_ERROR, TaskState.TASK_LOST, TaskState.TASK_DROPPED,
                      TaskState.TASK_GONE})


@dataclass(slots=True, eq=False)
class TaskRun:
    """One task of a group, from LAUNCH_GROUP until its terminal update is acknowledged."""

    info: TaskInfo
    group: int
    """Which LAUNCH_GROUP brought it (a counter)."""
    pid: int | None = None
    """Its command's process (the leader of its own process group), once started."""
    killing: bool = False
    state: TaskState | None = None
    """The last state sent for it."""

    @property
    def task_id(self) -> str:
        return self.info.task_id

    @property
    def live(self) -> bool:
        return self.state not in TERMINAL


def outcome(returncode: int, killing: bool) -> tuple[TaskState, str]:
    """The terminal state and message of a task whose command ended with ``returncode``."""
    if killing:
        return TaskState.TASK_KILLED, describe_exit(returncode)
    if returncode == 0:
        return TaskState.TASK_FINISHED, describe_exit(returncode)
    return TaskState.TASK_FAILED, describe_exit(returncode)


def uuid_key(uuid: bytes) -> str:
    """An update's uuid as the ACKNOWLEDGED event carries it (base64)."""
    return base64.b64encode(uuid).decode()


class TaskBook:
    """See the module docstring."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskRun] = {}
        self.unacked: dict[str, TaskStatus] = {}
        self._groups = 0

    @property
    def launched(self) -> bool:
        """Whether any LAUNCH_GROUP came (before one, no task is no reason to exit)."""
        return self._groups > 0

    def add_group(self, tasks: Iterable[TaskInfo]) -> tuple[list[TaskRun], list[TaskInfo]]:
        """Record a LAUNCH_GROUP's tasks: ``(new runs, duplicates of tasks already here)``."""
        self._groups += 1
        runs, duplicates = [], []
        for info in tasks:
            if info.task_id in self.tasks:
                duplicates.append(info)
                continue
            run = self.tasks[info.task_id] = TaskRun(info=info, group=self._groups)
            runs.append(run)
        return runs, duplicates

    def live(self) -> list[TaskRun]:
        return [run for run in self.tasks.values() if run.live]

    def sent(self, status: TaskStatus) -> None:
        """``status`` went out (or will, with the next SUBSCRIBE): await its ack."""
        run = self.tasks.get(status.task_id)
        if run is not None:
            run.state = status.state
        self.unacked[uuid_key(status.uuid)] = status

    def acknowledged(self, uuid: str) -> TaskStatus | None:
        """The agent took an update; a task whose terminal one it took is forgotten."""
        status = self.unacked.pop(uuid, None)
        if status is not None and status.state in TERMINAL:
            self.tasks.pop(status.task_id, None)
        return status

    def siblings_to_kill(self, task_id: str) -> list[TaskRun]:
        """The live tasks of ``task_id``'s group, other than it, not being killed yet."""
        run = self.tasks.get(task_id)
        if run is None:
            return []
        return [other for other in self.tasks.values()
                if other.group == run.group and other is not run and other.live
                and not other.killing]

    def done(self) -> bool:
        return not self.unacked and not self.live()
