"""Offers and what frameworks do with them: ``Offer``, ``Operation``, ``Filters``, ``Request``.

The master builds ``Offer`` records from the allocator's ``OffersAllocated`` and sends
them in ``ResourceOffers``; the scheduler answers with ``AcceptOffers`` (a list of
``Operation``: LAUNCH, LAUNCH_GROUP, RESERVE, UNRESERVE, CREATE, DESTROY) or
``DeclineOffers``, both carrying ``Filters``. Fields follow Mesos' ``Offer`` and
``Offer.Operation`` (``include/mesos/mesos.proto``). Mesos nests each operation's
payload as ``Offer.Operation.Launch`` etc.; here they are ``OperationLaunch`` etc.
"""

from __future__ import annotations

import enum

from actors.messages.info import URL, Attribute, DomainInfo
from actors.messages.maintenance import Unavailability
from actors.messages.tasks import ExecutorInfo, TaskGroupInfo, TaskInfo
from actors.resources import EMPTY, Resources
from transport.codec import record

__all__ = [
    "DEFAULT_REFUSE_SECONDS",
    "Filters",
    "Offer",
    "Operation",
    "OperationCreate",
    "OperationDestroy",
    "OperationLaunch",
    "OperationLaunchGroup",
    "OperationReserve",
    "OperationType",
    "OperationUnreserve",
    "Request",
    "launch",
    "launch_group",
]

DEFAULT_REFUSE_SECONDS = 5.0
"""Mesos' ``Filters.refuse_seconds`` default."""


@record
class Filters:
    """How long the allocator should not re-offer declined or unused resources.

    Values above 365 days are capped; negative values mean the default (Mesos).
    """

    refuse_seconds: float = DEFAULT_REFUSE_SECONDS


@record
class Request:
    """A resource wish sent to the allocator (the default allocator ignores it)."""

    agent_id: str = ""
    resources: Resources = EMPTY


@record
class Offer:
    """Resources of one agent, for one role, offered to one framework."""

    id: str
    framework_id: str
    agent_id: str
    hostname: str
    resources: Resources = EMPTY
    attributes: tuple[Attribute, ...] = ()
    executor_ids: tuple[str, ...] = ()
    """This framework's executors already running on the agent."""
    role: str = ""
    """The role the resources are allocated to (Mesos' ``allocation_info.role``)."""
    url: URL | None = None
    """The agent's HTTP endpoint."""
    domain: DomainInfo | None = None
    unavailability: Unavailability | None = None
    """Set when the agent's machine is scheduled for maintenance (DRAINING)."""


class OperationType(enum.Enum):
    """What an ``Operation`` does (Mesos' ``Offer.Operation.Type``)."""

    LAUNCH = 1
    LAUNCH_GROUP = 6
    RESERVE = 2
    UNRESERVE = 3
    CREATE = 4
    DESTROY = 5


@record
class OperationLaunch:
    """Launch tasks, each with its own executor or command."""

    task_infos: tuple[TaskInfo, ...] = ()


@record
class OperationLaunchGroup:
    """Launch a task group atomically under one executor."""

    executor: ExecutorInfo
    task_group: TaskGroupInfo


@record
class OperationReserve:
    """Dynamically reserve ``resources`` (``source``: the resources they come from)."""

    resources: Resources = EMPTY
    source: Resources = EMPTY


@record
class OperationUnreserve:
    resources: Resources = EMPTY


@record
class OperationCreate:
    """Create persistent volumes (needs reserved disk)."""

    volumes: Resources = EMPTY


@record
class OperationDestroy:
    volumes: Resources = EMPTY


@record
class Operation:
    """One thing to do with accepted offers; the payload named by ``type`` is set."""

    type: OperationType
    id: str = ""
    """Optional operation id, for operation status feedback."""
    launch: OperationLaunch | None = None
    launch_group: OperationLaunchGroup | None = None
    reserve: OperationReserve | None = None
    unreserve: OperationUnreserve | None = None
    create: OperationCreate | None = None
    destroy: OperationDestroy | None = None


def launch(*tasks: TaskInfo) -> Operation:
    """A LAUNCH operation for ``tasks``."""
    return Operation(type=OperationType.LAUNCH, launch=OperationLaunch(task_infos=tasks))


def launch_group(executor: ExecutorInfo, *tasks: TaskInfo) -> Operation:
    """A LAUNCH_GROUP operation: ``tasks`` as one group under ``executor``."""
    return Operation(
        type=OperationType.LAUNCH_GROUP,
        launch_group=OperationLaunchGroup(executor=executor, task_group=TaskGroupInfo(tasks=tasks)),
    )
