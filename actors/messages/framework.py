"""The scheduler driver <-> master conversation (and the messages that start there).

The ``SchedulerDriver`` (``frameworks/``) sends the commands; the master answers with
the past-tense replies and pushes offers, rescinds, errors and agent/executor losses.
Names follow Mesos' ``src/messages/messages.proto`` without the ``Message`` suffix;
``AcceptOffers``, ``DeclineOffers`` and ``SuppressOffers`` stand for the v1
``scheduler::Call`` types ACCEPT, DECLINE and SUPPRESS, which have no v0 message.

Some messages travel further than this conversation, as in Mesos, and are declared
here, where they first appear (one name, one declaration):

- ``KillTask``: scheduler -> master -> agent -> executor;
- ``StatusUpdateAcknowledgement``: scheduler -> master -> agent, then agent -> executor;
- ``ReconcileTasks``: scheduler -> master, and master -> agent (with ``framework_info``);
- ``FrameworkToExecutor``: scheduler -> master -> agent -> executor;
- ``ExecutorToFramework`` and ``ExitedExecutor``: agent (executor) -> master -> scheduler;
- ``UpdateFramework``: scheduler -> master, and master -> agents.

``StatusUpdate`` itself starts at the executor and is declared in ``agent``.
"""

from __future__ import annotations

from actors.messages.info import FrameworkInfo, MasterInfo
from actors.messages.maintenance import InverseOffer
from actors.messages.offers import Filters, Offer, Operation, Request
from actors.messages.tasks import KillPolicy, TaskInfo, TaskStatus
from transport.codec import message
from transport.pid import PID

__all__ = [
    "AcceptInverseOffers",
    "AcceptOffers",
    "DeactivateFramework",
    "DeclineInverseOffers",
    "DeclineOffers",
    "ExecutorToFramework",
    "ExitedExecutor",
    "FrameworkError",
    "FrameworkRegistered",
    "FrameworkReregistered",
    "FrameworkToExecutor",
    "KillTask",
    "LaunchTasks",
    "LostAgent",
    "ReconcileTasks",
    "RegisterFramework",
    "ReregisterFramework",
    "RescindInverseOffer",
    "RescindResourceOffer",
    "ResourceOffers",
    "ResourceRequest",
    "ReviveOffers",
    "StatusUpdateAcknowledgement",
    "SuppressOffers",
    "UnregisterFramework",
    "UpdateFramework",
]


# -- (re-)registration ------------------------------------------------------------------


@message
class RegisterFramework:
    """Scheduler -> master: subscribe a new framework (retried until FrameworkRegistered)."""

    framework_info: FrameworkInfo
    """Without ``id``: the master assigns one."""
    suppressed_roles: tuple[str, ...] = ()
    """Roles to subscribe with but not get offers for yet (v1 SUBSCRIBE)."""


@message
class ReregisterFramework:
    """Scheduler -> master: subscribe again with a known id (after master or scheduler failover)."""

    framework_info: FrameworkInfo
    """With ``id`` set."""
    failover: bool = False
    """True when this is a new scheduler instance taking over (the old one gets an error)."""
    suppressed_roles: tuple[str, ...] = ()


@message
class FrameworkRegistered:
    """Master -> scheduler: the framework is subscribed under ``framework_id``."""

    framework_id: str
    master_info: MasterInfo


@message
class FrameworkReregistered:
    """Master -> scheduler: the framework is subscribed again (reconcile now)."""

    framework_id: str
    master_info: MasterInfo


@message
class UnregisterFramework:
    """Scheduler -> master: tear the framework down, killing all its tasks and executors."""

    framework_id: str


@message
class DeactivateFramework:
    """Scheduler -> master: stop offers and callbacks but keep tasks (driver abort)."""

    framework_id: str


@message
class UpdateFramework:
    """Scheduler -> master: change FrameworkInfo; master -> agents: its info or pid changed.

    Scheduler -> master (v1 UPDATE_FRAMEWORK): ``framework_info`` is required and may
    change anything but ``user``, ``checkpoint`` and ``principal``. Master -> agent
    (Mesos' ``UpdateFrameworkMessage``, after failover or update): the new scheduler
    ``pid`` and/or ``framework_info``.
    """

    framework_id: str
    framework_info: FrameworkInfo | None = None
    suppressed_roles: tuple[str, ...] = ()
    pid: PID | None = None
    """The framework's scheduler PID (master -> agent); ``None`` for HTTP frameworks."""


@message
class FrameworkError:
    """Master -> scheduler: a fatal error (the driver aborts), e.g. replaced by a new scheduler."""

    message: str


# -- offers -----------------------------------------------------------------------------


@message
class ResourceRequest:
    """Scheduler -> master: a hint of wanted resources (ignored by the default allocator)."""

    framework_id: str
    requests: tuple[Request, ...] = ()


@message
class ResourceOffers:
    """Master -> scheduler: new offers, each for one agent and one role."""

    offers: tuple[Offer, ...]
    pids: tuple[PID, ...] = ()
    """The agent PID of each offer, in order (for direct framework messages)."""
    inverse_offers: tuple[InverseOffer, ...] = ()
    """Maintenance: give these agents' resources back (Mesos' field 3); sent alone, with
    no offers (the driver calls ``Scheduler.inverse_offers``)."""


@message
class RescindInverseOffer:
    """Master -> scheduler: an inverse offer is no longer valid (schedule changed, agent
    gone, the framework left the agent)."""

    inverse_offer_id: str


@message
class AcceptInverseOffers:
    """Scheduler -> master: it will free the inverse offers' resources in time; no new
    inverse offer for those agents for ``filters.refuse_seconds``."""

    framework_id: str
    inverse_offer_ids: tuple[str, ...]
    filters: Filters = Filters()


@message
class DeclineInverseOffers:
    """Scheduler -> master: it cannot (or will not) free them in time (a hint for the
    operator); no new inverse offer for those agents for ``filters.refuse_seconds``."""

    framework_id: str
    inverse_offer_ids: tuple[str, ...]
    filters: Filters = Filters()


@message
class RescindResourceOffer:
    """Master -> scheduler: an offer is no longer valid (agent lost, resources changed, timeout)."""

    offer_id: str


@message
class AcceptOffers:
    """Scheduler -> master: use offers (all of one agent) for operations; the rest is declined."""

    framework_id: str
    offer_ids: tuple[str, ...]
    operations: tuple[Operation, ...] = ()
    filters: Filters = Filters()
    """Applied to the unused part of the offers."""


@message
class LaunchTasks:
    """Scheduler -> master: legacy form of AcceptOffers with one LAUNCH operation."""

    framework_id: str
    offer_ids: tuple[str, ...]
    tasks: tuple[TaskInfo, ...] = ()
    filters: Filters = Filters()


@message
class DeclineOffers:
    """Scheduler -> master: decline offers; do not re-offer them for ``filters.refuse_seconds``."""

    framework_id: str
    offer_ids: tuple[str, ...]
    filters: Filters = Filters()


@message
class ReviveOffers:
    """Scheduler -> master: clear refusal filters and un-suppress these roles (all if empty)."""

    framework_id: str
    roles: tuple[str, ...] = ()


@message
class SuppressOffers:
    """Scheduler -> master: stop sending offers for these roles (all if empty) until revived."""

    framework_id: str
    roles: tuple[str, ...] = ()


# -- tasks ------------------------------------------------------------------------------


@message
class KillTask:
    """Scheduler -> master -> agent -> executor: kill a task (unreliable; retry after failover).

    A task unknown to the master gets TASK_LOST (or TASK_UNKNOWN if partition-aware).
    """

    framework_id: str
    task_id: str
    agent_id: str = ""
    """Where the task runs, if the scheduler knows (v1 KILL)."""
    kill_policy: KillPolicy | None = None
    """Overrides the task's kill policy (a shorter grace period speeds the kill up)."""


@message
class StatusUpdateAcknowledgement:
    """Scheduler -> master -> agent, then agent -> executor: update processed; send the next."""

    agent_id: str
    framework_id: str
    task_id: str
    uuid: bytes
    """The acknowledged update's ``uuid``."""


@message
class ReconcileTasks:
    """Scheduler -> master: report these tasks' latest states (all non-terminal if empty).

    Master -> agent (inside ``AgentReregistered`` or alone, with ``framework_info``
    set): the non-terminal tasks the master believes run there; the agent answers
    TASK_DROPPED for those it does not know. Answers are status updates with
    REASON_RECONCILIATION.
    """

    framework_id: str
    statuses: tuple[TaskStatus, ...] = ()
    """Non-terminal tasks (task_id, agent_id, last known state); empty: implicit."""
    framework_info: FrameworkInfo | None = None


# -- agents and executors ---------------------------------------------------------------


@message
class LostAgent:
    """Master -> scheduler: an agent is unreachable or removed (best effort)."""

    agent_id: str


@message
class ExitedExecutor:
    """Agent -> master -> scheduler: an executor exited with ``status`` (best effort)."""

    agent_id: str
    framework_id: str
    executor_id: str
    status: int
    """The wait status of the executor process."""


@message
class FrameworkToExecutor:
    """Scheduler -> master -> agent -> executor: opaque bytes (best effort, no retries)."""

    agent_id: str
    framework_id: str
    executor_id: str
    data: bytes


@message
class ExecutorToFramework:
    """Executor -> agent -> master -> scheduler: opaque bytes (best effort, no retries)."""

    agent_id: str
    framework_id: str
    executor_id: str
    data: bytes
