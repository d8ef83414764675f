"""The agent <-> master conversation: joining, health, launching, killing, status updates.

The ``AgentActor`` registers with the leading master and answers its pings; the
master sends it tasks, kills, shutdowns and checkpointed resources. Names follow
Mesos' ``src/messages/messages.proto`` with Agent for Slave and no ``Message`` suffix.

Shared with other conversations, as in Mesos:

- ``RunTask`` also goes agent -> executor (there is no separate LaunchTask);
- ``ShutdownExecutor`` also goes agent -> executor;
- ``StatusUpdate`` starts executor -> agent and continues agent -> master -> scheduler;
- ``KillTask``, ``StatusUpdateAcknowledgement``, ``ReconcileTasks``, ``UpdateFramework``,
  ``FrameworkToExecutor``, ``ExecutorToFramework`` and ``ExitedExecutor`` reach the
  agent too; they are declared once, in ``framework``, where they start.

``StatusUpdate`` (the message) carries a ``StatusUpdateInfo`` (the record that Mesos
calls ``StatusUpdate`` and the status update manager checkpoints) plus the PID of the
agent that forwarded it.
"""

from __future__ import annotations

from actors.messages.framework import ReconcileTasks
from actors.messages.info import AgentCapability, AgentInfo, FrameworkInfo, MasterAgentConnection
from actors.messages.tasks import (
    CompletedFramework,
    ExecutorInfo,
    StatusUpdateInfo,
    Task,
    TaskGroupInfo,
    TaskInfo,
)
from actors.resources import EMPTY, Resources
from transport.codec import message
from transport.pid import PID

__all__ = [
    "AgentRegistered",
    "AgentReregistered",
    "CheckpointResources",
    "PingAgent",
    "PongAgent",
    "RegisterAgent",
    "ReregisterAgent",
    "RunTask",
    "RunTaskGroup",
    "Shutdown",
    "ShutdownExecutor",
    "ShutdownFramework",
    "StatusUpdate",
    "UnregisterAgent",
    "UpdateAgent",
]


# -- joining and leaving ----------------------------------------------------------------


@message
class RegisterAgent:
    """Agent -> master: ask to join the cluster (retried with backoff until AgentRegistered)."""

    agent_info: AgentInfo
    """Without ``id``: the master assigns one."""
    checkpointed_resources: Resources = EMPTY
    """Dynamic reservations and volumes the agent has persisted."""
    version: str = ""
    capabilities: frozenset[AgentCapability] = frozenset()


@message
class ReregisterAgent:
    """Agent -> master: rejoin with a known id, after a master failover or a lost connection.

    Carries everything the agent runs, so a new master can rebuild its books (the
    master keeps no durable record of frameworks or tasks).
    """

    agent_info: AgentInfo
    """With ``id`` set."""
    checkpointed_resources: Resources = EMPTY
    executor_infos: tuple[ExecutorInfo, ...] = ()
    tasks: tuple[Task, ...] = ()
    frameworks: tuple[FrameworkInfo, ...] = ()
    """The frameworks of ``tasks`` and ``executor_infos``."""
    completed_frameworks: tuple[CompletedFramework, ...] = ()
    version: str = ""
    capabilities: frozenset[AgentCapability] = frozenset()


@message
class AgentRegistered:
    """Master -> agent: the agent joined under ``agent_id``."""

    agent_id: str
    connection: MasterAgentConnection = MasterAgentConnection()


@message
class AgentReregistered:
    """Master -> agent: the agent rejoined; here are the tasks the master believes it runs."""

    agent_id: str
    reconciliations: tuple[ReconcileTasks, ...] = ()
    """Per framework, the non-terminal tasks the master knows on this agent; the
    agent sends TASK_DROPPED for each one it does not know."""
    connection: MasterAgentConnection = MasterAgentConnection()


@message
class UnregisterAgent:
    """Agent -> master: the agent is shutting down gracefully; remove it."""

    agent_id: str


@message
class UpdateAgent:
    """Agent -> master: the agent's oversubscribed (revocable) resources changed."""

    agent_id: str
    update_oversubscribed_resources: bool = False
    """True when ``oversubscribed_resources`` replaces the previous estimate."""
    oversubscribed_resources: Resources = EMPTY


@message
class Shutdown:
    """Master -> agent: shut down all executors and exit (e.g. a removed agent came back)."""

    message: str = ""


# -- health -----------------------------------------------------------------------------


@message
class PingAgent:
    """Master -> agent: are you alive? (every agent_ping_timeout; five misses = unreachable)."""

    connected: bool = True
    """False when the master does not consider the agent registered (it should re-register)."""


@message
class PongAgent:
    """Agent -> master: alive (the answer to PingAgent)."""


# -- work -------------------------------------------------------------------------------


@message
class RunTask:
    """Master -> agent, then agent -> executor: launch a task (its executor first if needed)."""

    framework_info: FrameworkInfo
    task: TaskInfo
    pid: PID | None = None
    """The scheduler's PID; ``None`` for HTTP frameworks."""
    launch_executor: bool = True
    """False: the executor must already run (it may have exited: then TASK_DROPPED)."""


@message
class RunTaskGroup:
    """Master -> agent: launch a task group atomically under one executor."""

    framework_info: FrameworkInfo
    executor_info: ExecutorInfo
    task_group: TaskGroupInfo
    launch_executor: bool = True


@message
class ShutdownFramework:
    """Master -> agent: kill all of this framework's executors and tasks."""

    framework_id: str


@message
class ShutdownExecutor:
    """Master -> agent, then agent -> executor: shut the executor down (kill its tasks).

    Also scheduler -> master (v1 SHUTDOWN), with ``agent_id`` saying where it runs.
    """

    executor_id: str
    framework_id: str
    agent_id: str = ""


@message
class CheckpointResources:
    """Master -> agent: persist these resources (all dynamic reservations and volumes)."""

    resources: Resources = EMPTY


@message
class StatusUpdate:
    """Executor -> agent -> master -> scheduler: a task changed state (retried until acked)."""

    update: StatusUpdateInfo
    pid: PID | None = None
    """The agent that forwarded the update (where a legacy ack would go); ``None``
    when the master generated the update itself."""
