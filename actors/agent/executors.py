"""The agent's records of frameworks and executors, and the pure rules about them.

``AgentActor`` keeps a ``FrameworkRecord`` per framework with tasks here, each holding
``ExecutorRecord``s (one per executor run) that hold the ``TaskRecord``s (``tasks``).
The rules are plain functions the actor applies:

- ``command_executor_info``: the executor synthesised for a command task (one per
  task, its id the task's, as in Mesos; the task's URIs are fetched for it);
- ``launch_command``: what starts an executor: its own command, or, for a DEFAULT
  executor without one (a task group's), Meseta's default executor
  (``python -m frameworks.default_executor``, Mesos' ``mesos-default-executor``);
- ``is_command_executor``: whether a (recovered) executor is a command executor;
- ``executor_environment``: the ``MESETA_*`` environment of the contract, and the
  ``MESOS_*`` one Mesos gives every executor (what HTTP executors written for Mesos
  read: ``MESOS_AGENT_ENDPOINT``, ``MESOS_FRAMEWORK_ID``, ``MESOS_EXECUTOR_ID``...);
- ``termination_status``: what an exited executor's live tasks become (Mesos'
  ``Slave::executorTerminated``): the pending termination if one was set (e.g. the
  registration timeout: TASK_FAILED / REASON_EXECUTOR_REGISTRATION_TIMEOUT), else
  TASK_FAILED / REASON_COMMAND_EXECUTOR_FAILED for a command executor, else TASK_GONE
  / REASON_EXECUTOR_TERMINATED (TASK_LOST for frameworks that are not PARTITION_AWARE).
"""

from __future__ import annotations

import enum
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from actors.agent.sandbox import Sandbox
from actors.agent.tasks import TaskRecord
from actors.messages.info import FrameworkCapability, FrameworkInfo
from actors.messages.task_state import Reason, TaskState
from actors.messages.tasks import CommandInfo, ExecutorInfo, ExecutorType, TaskInfo
from actors.resources import Resources
from transport.clock import Timer
from transport.pid import PID

if TYPE_CHECKING:
    from actors.agent.executor_http import ExecutorConnection

__all__ = [
    "COMMAND_EXECUTOR_MODULE",
    "DEFAULT_EXECUTOR_MODULE",
    "ExecutorRecord",
    "ExecutorState",
    "FrameworkRecord",
    "Termination",
    "command_executor_info",
    "executor_environment",
    "is_command_executor",
    "launch_command",
    "lost_or",
    "mesos_duration",
    "termination_status",
]

COMMAND_EXECUTOR_MODULE = "frameworks.command_executor"
DEFAULT_EXECUTOR_MODULE = "frameworks.default_executor"
MAX_COMPLETED_EXECUTORS = 150
"""Completed executors kept per framework (Mesos' MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK)."""


class ExecutorState(enum.Enum):
    REGISTERING = 1
    """Launched; its tasks wait in the queue until it registers."""
    RUNNING = 2
    TERMINATING = 3
    """Asked to shut down, or being killed."""
    TERMINATED = 4


@dataclass(frozen=True, slots=True)
class Termination:
    """What the live tasks of an executor that is being killed on purpose become."""

    state: TaskState
    reason: Reason
    message: str


@dataclass(slots=True, eq=False)
class ExecutorRecord:
    """One run of an executor on this agent."""

    info: ExecutorInfo
    framework_id: str
    run_id: str
    sandbox: Sandbox
    command_executor: bool
    state: ExecutorState = ExecutorState.REGISTERING
    pid: PID | None = None
    """The executor driver's PID, once registered (a native executor)."""
    http: ExecutorConnection | None = None
    """The open event stream of an HTTP executor (``executor_http``), once subscribed."""
    os_pid: int | None = None
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    pending_termination: Termination | None = None
    exit_status: int | None = None
    timer: Timer | None = None
    """The registration or shutdown timer."""
    create_time: float | None = None
    """When the OS process started (checkpointed: guards against pid reuse)."""
    recovered: bool = False
    """Recovered from the checkpoint after an agent restart (not this agent's child)."""

    @property
    def executor_id(self) -> str:
        return self.info.executor_id

    @property
    def link(self) -> PID | ExecutorConnection | None:
        """Where messages for the executor go: its stream, its PID, or nowhere yet."""
        return self.http if self.http is not None else self.pid

    def queued(self) -> Iterator[TaskRecord]:
        return (t for t in self.tasks.values() if not t.launched and not t.terminal)

    def live(self) -> Iterator[TaskRecord]:
        return (t for t in self.tasks.values() if not t.terminal)

    @property
    def resources(self) -> Resources:
        total = self.info.resources
        for task in self.tasks.values():
            total = total + task.resources
        return total

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


@dataclass(slots=True, eq=False)
class FrameworkRecord:
    """A framework with executors on this agent."""

    info: FrameworkInfo
    pid: PID | None = None
    executors: dict[str, ExecutorRecord] = field(default_factory=dict)
    completed_executors: deque[ExecutorRecord] = field(
        default_factory=lambda: deque(maxlen=MAX_COMPLETED_EXECUTORS))
    terminating: bool = False

    @property
    def framework_id(self) -> str:
        return self.info.id

    def find_task(self, task_id: str) -> tuple[ExecutorRecord, TaskRecord] | None:
        for executor in self.executors.values():
            task = executor.tasks.get(task_id)
            if task is not None:
                return executor, task
        return None


def command_executor_info(task: TaskInfo, framework_id: str,
                          python: str = sys.executable) -> ExecutorInfo:
    """The executor Mesos synthesises for a command task: id = task id, DEFAULT type, the
    task's command's user (so it runs as that user, ``actors.agent.users``)."""
    return ExecutorInfo(
        executor_id=task.task_id, framework_id=framework_id, name=f"Command Executor (Task: "
        f"{task.task_id})", source=task.task_id, type=ExecutorType.DEFAULT,
        command=CommandInfo(value=f"{python} -m {COMMAND_EXECUTOR_MODULE}", shell=True,
                            uris=task.command.uris if task.command is not None else (),
                            user=task.command.user if task.command is not None else ""))


def launch_command(executor: ExecutorInfo, python: str = sys.executable) -> CommandInfo | None:
    """The command that starts ``executor``; ``None`` if nothing can (a CUSTOM one
    without a command). The default executor's keeps no URIs: a group's tasks have none
    to fetch for it, and the executor's own ``resources`` are what it is given."""
    if executor.command is not None:
        return executor.command
    if executor.type is ExecutorType.DEFAULT:
        return CommandInfo(value=f"{python} -m {DEFAULT_EXECUTOR_MODULE}", shell=True)
    return None


def is_command_executor(executor: ExecutorInfo) -> bool:
    """A command executor's info is DEFAULT with the command executor's command (the
    default executor's has no command)."""
    return (executor.type is ExecutorType.DEFAULT and executor.command is not None
            and COMMAND_EXECUTOR_MODULE in executor.command.value)


def executor_environment(*, agent: PID, framework: FrameworkInfo, executor: ExecutorInfo,
                         directory: str, run_id: str, grace_period: float, host: str,
                         recovery_timeout: float | None = None, agent_id: str = "",
                         agent_endpoint: str = "", subscription_backoff_max: float = 15.0,
                         parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The executor process's environment (contract: "Executor environment"), with the
    variables of Mesos' ``executorEnvironment()`` (its durations as Mesos writes them:
    ``5secs``, ``15mins``); ``agent_endpoint`` is ``host:port`` of the agent's HTTP."""
    parent = os.environ if parent is None else parent
    env = {name: parent[name] for name in ("PATH", "HOME", "PYTHONPATH", "MESETA_TRACE",
                                          "MESETA_LOG_LEVEL", "MESETA_LOG_FORMAT")
           if name in parent}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    if executor.command is not None and executor.command.environment is not None:
        env.update(executor.command.environment.to_dict())
    env.update({
        "MESETA_AGENT_PID": str(agent),
        "MESETA_FRAMEWORK_ID": framework.id,
        "MESETA_EXECUTOR_ID": executor.executor_id,
        "MESETA_DIRECTORY": directory,
        "MESETA_SANDBOX": directory,
        "MESETA_CHECKPOINT": "1" if framework.checkpoint else "0",
        "MESETA_RUN_ID": run_id,
        "MESETA_EXECUTOR_SHUTDOWN_GRACE_PERIOD": str(grace_period),
        "MESETA_HOST": host,
        "MESOS_FRAMEWORK_ID": framework.id,
        "MESOS_EXECUTOR_ID": executor.executor_id,
        "MESOS_DIRECTORY": directory,
        "MESOS_SANDBOX": directory,
        "MESOS_SLAVE_ID": agent_id,  # Mesos' name for it (no MESOS_AGENT_ID exists)
        "MESOS_AGENT_ENDPOINT": agent_endpoint,
        "MESOS_CHECKPOINT": "1" if framework.checkpoint else "0",
        "MESOS_HTTP_COMMAND_EXECUTOR": "0",
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": mesos_duration(grace_period),
    })
    if framework.checkpoint and recovery_timeout is not None:
        env["MESETA_RECOVERY_TIMEOUT"] = str(recovery_timeout)
        env["MESOS_RECOVERY_TIMEOUT"] = mesos_duration(recovery_timeout)
        env["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = mesos_duration(subscription_backoff_max)
    return env


_UNITS = (("weeks", 604800.0), ("days", 86400.0), ("hrs", 3600.0), ("mins", 60.0),
          ("secs", 1.0), ("ms", 1e-3))


def mesos_duration(seconds: float) -> str:
    """``seconds`` as Mesos prints a duration: the largest unit it is a whole number of
    (``900.0`` -> ``15mins``, ``0.5`` -> ``500ms``), else fractional seconds."""
    for unit, size in _UNITS:
        count = seconds / size
        if seconds >= size and abs(count - round(count)) < 1e-9:
            return f"{round(count)}{unit}"
    return f"{seconds:g}secs"


def lost_or(state: TaskState, framework: FrameworkInfo) -> TaskState:
    """TASK_GONE/DROPPED/UNKNOWN become TASK_LOST for frameworks not PARTITION_AWARE."""
    if framework.has(FrameworkCapability.PARTITION_AWARE):
        return state
    if state in (TaskState.TASK_GONE, TaskState.TASK_DROPPED, TaskState.TASK_UNKNOWN):
        return TaskState.TASK_LOST
    return state


def termination_status(executor: ExecutorRecord, framework: FrameworkInfo,
                       wait_status: int | None) -> Termination:
    """What the live tasks of an exited executor become (see the module docstring)."""
    if executor.pending_termination is not None:
        return executor.pending_termination
    how = _describe(wait_status)
    if executor.command_executor:
        return Termination(TaskState.TASK_FAILED, Reason.REASON_COMMAND_EXECUTOR_FAILED,
                           f"Command executor {how}")
    return Termination(lost_or(TaskState.TASK_GONE, framework),
                       Reason.REASON_EXECUTOR_TERMINATED, f"Executor {how}")


def _describe(wait_status: int | None) -> str:
    if wait_status is None:
        return "terminated"
    if os.WIFSIGNALED(wait_status):
        return f"terminated with signal {os.WTERMSIG(wait_status)}"
    if os.WIFEXITED(wait_status):
        return f"exited with status {os.WEXITSTATUS(wait_status)}"
    return "terminated"
