"""The executor <-> agent conversation: an executor process joining its agent.

The ``ExecutorDriver`` (``frameworks/``), inside the executor's OS process, registers
with the agent that spawned it; a restarted agent asks surviving executors to
reconnect. Names follow Mesos' ``src/messages/messages.proto``.

The rest of what the two say to each other is declared where it first appears and
reused here, as in Mesos: agent -> executor ``RunTask`` and ``ShutdownExecutor``
(``agent``), ``KillTask``, ``StatusUpdateAcknowledgement`` and ``FrameworkToExecutor``
(``framework``); executor -> agent ``StatusUpdate`` (``agent``) and
``ExecutorToFramework`` (``framework``). There is no LaunchTask message: an executor
receives ``RunTask`` and calls its ``launch_task`` callback.
"""

from __future__ import annotations

from actors.messages.info import AgentInfo, FrameworkInfo
from actors.messages.tasks import ExecutorInfo, StatusUpdateInfo, TaskInfo
from transport.codec import message

__all__ = [
    "ExecutorRegistered",
    "ExecutorReregistered",
    "ReconnectExecutor",
    "RegisterExecutor",
    "ReregisterExecutor",
    "TaskHealthStatus",
]


@message
class RegisterExecutor:
    """Executor -> agent: the executor process started and wants its tasks."""

    framework_id: str
    executor_id: str


@message
class ExecutorRegistered:
    """Agent -> executor: registered; queued tasks follow as RunTask."""

    executor_info: ExecutorInfo
    framework_id: str
    framework_info: FrameworkInfo
    agent_id: str
    agent_info: AgentInfo


@message
class ReconnectExecutor:
    """Agent -> executor: a restarted agent recovered; re-register with it (ReregisterExecutor)."""

    agent_id: str


@message
class ReregisterExecutor:
    """Executor -> agent: rejoin a restarted agent, with what it has not seen acknowledged."""

    executor_id: str
    framework_id: str
    tasks: tuple[TaskInfo, ...] = ()
    """Tasks launched but without an acknowledged update."""
    updates: tuple[StatusUpdateInfo, ...] = ()
    """Updates sent but not acknowledged (the agent re-sends what it lost)."""


@message
class ExecutorReregistered:
    """Agent -> executor: re-registered with the restarted agent."""

    agent_id: str
    agent_info: AgentInfo


@message
class TaskHealthStatus:
    """Health checker -> executor: a task's health changed (kill it if ``kill_task``)."""

    task_id: str
    healthy: bool
    kill_task: bool = False
    consecutive_failures: int = 0
