"""What runs and how it is going: commands, executors, tasks, statuses, status updates.

Frameworks build ``TaskInfo`` / ``ExecutorInfo`` / ``CommandInfo`` and send them in
``AcceptOffers``; the master validates them and forwards them in ``RunTask``; the agent
and executor run them. ``TaskStatus`` travels back (inside ``StatusUpdateInfo``, the
envelope the agent's status update manager checkpoints and retries). ``Task`` is the
master's and the agent's record of a launched task, sent at agent re-registration.
Fields follow Mesos' ``include/mesos/mesos.proto`` and ``src/messages/messages.proto``;
durations are float seconds (Mesos' ``DurationInfo`` nanoseconds), times are float
seconds since the epoch. Unset optional strings are ``""``, unset records ``None``.
"""

from __future__ import annotations

import enum

from actors.messages.info import FrameworkInfo, Labels
from actors.messages.task_state import Reason, Source, TaskState
from actors.resources import EMPTY, Resources
from transport.codec import record
from transport.pid import PID

__all__ = [
    "DEFAULT_KILL_GRACE_PERIOD",
    "URI",
    "CommandInfo",
    "CompletedFramework",
    "ContainerStatus",
    "DiscoveryInfo",
    "DiscoveryVisibility",
    "Environment",
    "EnvironmentVariable",
    "ExecutorInfo",
    "ExecutorType",
    "HTTPCheckInfo",
    "HealthCheck",
    "HealthCheckType",
    "KillPolicy",
    "Port",
    "StatusUpdateInfo",
    "StatusUpdateRecord",
    "StatusUpdateRecordType",
    "TCPCheckInfo",
    "Task",
    "TaskGroupInfo",
    "TaskInfo",
    "TaskStatus",
]

DEFAULT_KILL_GRACE_PERIOD = 3.0
"""Seconds between SIGTERM and SIGKILL for command tasks (src/launcher/executor.cpp)."""


# -- commands ---------------------------------------------------------------------------


@record
class URI:
    """A file fetched into the sandbox before the command runs."""

    value: str
    executable: bool = False
    extract: bool = True
    """Unpack recognised archives (tar, zip) into the sandbox."""
    cache: bool = False
    output_file: str = ""


@record
class EnvironmentVariable:
    name: str
    value: str = ""


@record
class Environment:
    """Environment variables set before the command runs."""

    variables: tuple[EnvironmentVariable, ...] = ()

    @classmethod
    def of(cls, env: dict[str, str]) -> Environment:
        return cls(variables=tuple(EnvironmentVariable(name=k, value=v) for k, v in env.items()))

    def to_dict(self) -> dict[str, str]:
        return {v.name: v.value for v in self.variables}


@record
class CommandInfo:
    """A command: ``/bin/sh -c value`` if ``shell``, else ``value`` run with ``arguments``."""

    value: str = ""
    shell: bool = True
    arguments: tuple[str, ...] = ()
    uris: tuple[URI, ...] = ()
    environment: Environment | None = None
    user: str = ""
    """Run as this user instead of ``FrameworkInfo.user``."""


# -- executors --------------------------------------------------------------------------


class ExecutorType(enum.Enum):
    """DEFAULT: Meseta's default executor (task groups); CUSTOM: the framework's own.

    Mesos leaves the type unset for v0 frameworks and treats that as CUSTOM.
    """

    DEFAULT = 1
    CUSTOM = 2


@record
class ExecutorInfo:
    """An executor: the process on the agent that runs a framework's tasks."""

    executor_id: str
    framework_id: str = ""
    command: CommandInfo | None = None
    resources: Resources = EMPTY
    name: str = ""
    source: str = ""
    """Deprecated in Mesos (use labels); kept for monitoring output."""
    data: bytes = b""
    """Opaque bytes handed to the executor when it registers."""
    type: ExecutorType = ExecutorType.CUSTOM
    shutdown_grace_period: float | None = None
    """Seconds between shutdown and kill; ``None``: the agent's flag (5 s)."""
    labels: Labels = Labels()


# -- health, kill, discovery ------------------------------------------------------------


@record
class KillPolicy:
    """How to kill: SIGTERM, then SIGKILL after ``grace_period`` seconds."""

    grace_period: float = DEFAULT_KILL_GRACE_PERIOD


class HealthCheckType(enum.Enum):
    COMMAND = 1
    HTTP = 2
    TCP = 3


@record
class HTTPCheckInfo:
    """Healthy when ``GET scheme://<task host>:port/path`` answers one of ``statuses``.

    An empty ``statuses`` means any 2xx or 3xx, as in Mesos.
    """

    port: int
    scheme: str = "http"
    path: str = "/"
    statuses: tuple[int, ...] = ()


@record
class TCPCheckInfo:
    """Healthy when a TCP connection to ``port`` succeeds."""

    port: int


@record
class HealthCheck:
    """A health check the executor runs for a task (Mesos' defaults)."""

    type: HealthCheckType
    delay_seconds: float = 15.0
    interval_seconds: float = 10.0
    timeout_seconds: float = 20.0
    consecutive_failures: int = 3
    """Kill the task after this many failures in a row."""
    grace_period_seconds: float = 10.0
    """Failures during this time after start are not counted."""
    command: CommandInfo | None = None
    http: HTTPCheckInfo | None = None
    tcp: TCPCheckInfo | None = None


class DiscoveryVisibility(enum.Enum):
    FRAMEWORK = 0
    CLUSTER = 1
    EXTERNAL = 2


@record
class Port:
    number: int
    name: str = ""
    protocol: str = ""


@record
class DiscoveryInfo:
    """Service discovery information for a task (Mesos' ``DiscoveryInfo``)."""

    visibility: DiscoveryVisibility
    name: str = ""
    environment: str = ""
    location: str = ""
    version: str = ""
    ports: tuple[Port, ...] = ()
    labels: Labels = Labels()


# -- tasks ------------------------------------------------------------------------------


@record
class TaskInfo:
    """A task a framework launches: exactly one of ``executor`` or ``command``.

    With ``command`` the agent runs it under the built-in command executor.
    """

    name: str
    task_id: str
    agent_id: str
    resources: Resources = EMPTY
    executor: ExecutorInfo | None = None
    command: CommandInfo | None = None
    data: bytes = b""
    health_check: HealthCheck | None = None
    kill_policy: KillPolicy | None = None
    """``None``: the executor's default (3 s for the command executor)."""
    labels: Labels = Labels()
    discovery: DiscoveryInfo | None = None
    max_completion_time: float | None = None
    """Seconds after which the executor kills the task (REASON_MAX_COMPLETION_TIME_REACHED)."""


@record
class TaskGroupInfo:
    """Tasks delivered to one executor atomically (all or none are launched)."""

    tasks: tuple[TaskInfo, ...] = ()


@record
class ContainerStatus:
    """What the containerizer knows of the container a task runs in."""

    container_id: str = ""
    executor_pid: int | None = None
    ip_addresses: tuple[str, ...] = ()
    """Mesos' ``network_infos[].ip_addresses``, flattened."""


@record
class TaskStatus:
    """A task's state at one moment, with why and who says so (Mesos' ``TaskStatus``)."""

    task_id: str
    state: TaskState
    message: str = ""
    source: Source | None = None
    reason: Reason | None = None
    data: bytes = b""
    agent_id: str = ""
    executor_id: str = ""
    timestamp: float = 0.0
    uuid: bytes = b""
    """Non-empty: a reliable update that must be acknowledged with this uuid."""
    healthy: bool | None = None
    """Set on RUNNING updates when the task has a health check."""
    labels: Labels = Labels()
    container_status: ContainerStatus | None = None
    unreachable_time: float | None = None
    """When the agent became unreachable (UNREACHABLE updates only)."""


@record
class StatusUpdateInfo:
    """A status update as it travels and is checkpointed (Mesos' internal ``StatusUpdate``).

    ``uuid`` identifies the update (acknowledgements carry it); ``latest_state`` is
    the newest state the agent knows (the tail of its queue), so the master can free
    resources at a terminal state before earlier updates are acknowledged.
    """

    framework_id: str
    status: TaskStatus
    timestamp: float
    executor_id: str = ""
    agent_id: str = ""
    uuid: bytes = b""
    latest_state: TaskState | None = None


class StatusUpdateRecordType(enum.Enum):
    UPDATE = 0
    ACK = 1


@record
class StatusUpdateRecord:
    """One line of a task's checkpointed update stream: an UPDATE, or an ACK of ``uuid``."""

    type: StatusUpdateRecordType
    update: StatusUpdateInfo | None = None
    uuid: bytes = b""


@record
class Task:
    """The master's and the agent's record of a launched task (Mesos' ``Task``)."""

    name: str
    task_id: str
    framework_id: str
    agent_id: str
    state: TaskState
    """The latest state (which may not have reached the framework yet)."""
    executor_id: str = ""
    resources: Resources = EMPTY
    statuses: tuple[TaskStatus, ...] = ()
    status_update_state: TaskState | None = None
    """The state of the update being delivered (the head of the agent's queue)."""
    status_update_uuid: bytes = b""
    labels: Labels = Labels()
    discovery: DiscoveryInfo | None = None
    health_check: HealthCheck | None = None
    kill_policy: KillPolicy | None = None
    user: str = ""


@record
class CompletedFramework:
    """A finished framework the agent still remembers (Mesos' ``Archive.Framework``)."""

    framework_info: FrameworkInfo
    pid: PID | None = None
    tasks: tuple[Task, ...] = ()
