"""Frameworks as the master sees them: ``FrameworkRecord``, ``FrameworkBook`` and their life.

Schedulers (through their drivers) register (``RegisterFramework``), re-register after a
failover (``ReregisterFramework``), update their ``FrameworkInfo``, deactivate (driver
abort) and tear down (``UnregisterFramework``). ``MasterActor`` calls the functions
here with its ``Books`` and sends what they put in the ``Outbox``: replies to the
scheduler, ``Allocator*`` commands, and ``ShutdownFramework`` / ``UpdateFramework`` to
the agents the framework runs on. A scheduler whose connection breaks is deactivated;
after its ``failover_timeout`` the actor removes it (``remove``).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from actors.master.bounded import BoundedSet
from actors.master.tasks import TaskRecord
from actors.messages.agent import ShutdownFramework
from actors.messages.framework import (
    FrameworkError,
    FrameworkRegistered,
    FrameworkReregistered,
    RegisterFramework,
    ReregisterFramework,
    RescindResourceOffer,
    UpdateFramework,
)
from actors.messages.info import FrameworkCapability, FrameworkInfo
from actors.messages.internal import (
    AllocatorActivateFramework,
    AllocatorAddFramework,
    AllocatorDeactivateFramework,
    AllocatorRemoveFramework,
    AllocatorUpdateFramework,
)
from actors.messages.task_state import Reason, Source, TaskState, is_terminal
from actors.messages.tasks import ExecutorInfo, TaskStatus
from actors.resources import EMPTY, Resources
from transport.pid import PID

if TYPE_CHECKING:
    from actors.master.books import Books, Outbox

__all__ = [
    "HTTP_SCHEDULER_HOST",
    "FrameworkBook",
    "FrameworkRecord",
    "deactivate",
    "http_scheduler_pid",
    "is_http_scheduler",
    "native_pid",
    "register",
    "remove",
    "reregister",
    "update",
]

_log = structlog.get_logger("meseta.master")


HTTP_SCHEDULER_HOST = "v1-scheduler-api"
"""The host of the PID by which the master addresses an HTTP (v1 API) framework.

An HTTP scheduler is no process on a node: the master names its event stream with a
PID on this host (never a real one) so that the handlers treat both kinds of framework
alike; ``MasterProcess._apply`` writes what is sent there to the stream
(``actors.master.scheduler_api``) and agents and endpoints see no pid for it."""


def http_scheduler_pid(stream_id: str) -> PID:
    """The PID the master uses for the HTTP framework subscribed on stream ``stream_id``."""
    return PID(f"scheduler({stream_id})", HTTP_SCHEDULER_HOST, 0)


def is_http_scheduler(pid: PID | None) -> bool:
    return pid is not None and pid.host == HTTP_SCHEDULER_HOST


def native_pid(pid: PID | None) -> PID | None:
    """``pid`` for a native (PID-based) scheduler, ``None`` for an HTTP one (as Mesos)."""
    return None if is_http_scheduler(pid) else pid


@dataclass(eq=False)
class FrameworkRecord:
    """One framework the master knows (Mesos' ``Framework``)."""

    info: FrameworkInfo
    """With ``id`` set."""
    pid: PID | None
    registered_time: float
    reregistered_time: float | None = None
    unregistered_time: float | None = None
    connected: bool = True
    active: bool = True
    suppressed_roles: frozenset[str] = frozenset()
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    unreachable_tasks: dict[str, TaskRecord] = field(default_factory=dict)
    """Tasks of agents that were removed as unreachable (they may come back)."""
    completed_tasks: deque[TaskRecord] = field(default_factory=lambda: deque(maxlen=1000))
    executors: dict[str, dict[str, ExecutorInfo]] = field(default_factory=dict)
    """``agent_id -> executor_id -> ExecutorInfo`` of its executors that run."""
    generation: int = 0
    """Bumped at each (re-)connection; a failover timer of an older one does nothing."""

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def http(self) -> bool:
        """Subscribed through the v1 scheduler HTTP API (not a native driver)."""
        return is_http_scheduler(self.pid)

    @property
    def partition_aware(self) -> bool:
        return self.info.has(FrameworkCapability.PARTITION_AWARE)

    def used_resources(self) -> Resources:
        total = EMPTY
        for task in self.tasks.values():
            total = total + task.used
        for executors in self.executors.values():
            for executor in executors.values():
                total = total + executor.resources
        return total

    def complete_task(self, task: TaskRecord) -> None:
        self.completed_tasks.append(task)

    def agents_in_use(self) -> set[str]:
        """Agents where it has tasks or executors."""
        return {t.agent_id for t in self.tasks.values()} | {
            a for a, execs in self.executors.items() if execs}


class FrameworkBook:
    """Registered and completed frameworks, and framework ids."""

    def __init__(self, master_id: str, max_completed: int = 50,
                 max_completed_tasks: int = 1000) -> None:
        self.master_id = master_id
        self.registered: dict[str, FrameworkRecord] = {}
        self.completed: deque[FrameworkRecord] = deque(maxlen=max_completed)
        self.completed_ids = BoundedSet(max_completed)
        """Ids of the ``completed`` frameworks (a removed framework may not come back)."""
        self.max_completed_tasks = max_completed_tasks
        self._seq = itertools.count()

    def new_id(self) -> str:
        return f"{self.master_id}-{next(self._seq):04d}"

    def get(self, framework_id: str) -> FrameworkRecord | None:
        return self.registered.get(framework_id)

    def by_pid(self, pid: PID) -> FrameworkRecord | None:
        return next((f for f in self.registered.values() if f.pid == pid), None)

    def add(self, info: FrameworkInfo, pid: PID | None, now: float) -> FrameworkRecord:
        record = FrameworkRecord(info=info, pid=pid, registered_time=now,
                                 completed_tasks=deque(maxlen=self.max_completed_tasks))
        self.registered[info.id] = record
        return record

    def complete(self, record: FrameworkRecord) -> None:
        self.registered.pop(record.id, None)
        self.completed.append(record)
        self.completed_ids.add(record.id)


def _check_info(info: FrameworkInfo) -> str | None:
    if not info.roles:
        return "FrameworkInfo.roles is empty"
    if len(info.roles) > 1 and not info.has(FrameworkCapability.MULTI_ROLE):
        return "several roles need the MULTI_ROLE capability"
    if len(set(info.roles)) != len(info.roles):
        return "FrameworkInfo.roles has duplicates"
    return None


def _unauthorized_roles(books: Books, info: FrameworkInfo) -> str | None:
    """Mesos' refusal when the framework's principal may not use all its roles."""
    principal = info.principal or None
    if all(books.acls.authorized("register_frameworks", principal, role)
           for role in info.roles):
        return None
    return f"Not authorized to use roles '{', '.join(info.roles)}'"


def _min_allocatable(info: FrameworkInfo) -> dict[str, str] | None:
    if not info.offer_filters:
        return None
    return {f.role: f.min_allocatable_resources for f in info.offer_filters}


def _add_to_allocator(record: FrameworkRecord, out: Outbox) -> None:
    out.tell_allocator(AllocatorAddFramework(
        framework_id=record.id, roles=record.info.roles,
        suppressed_roles=tuple(sorted(record.suppressed_roles)), active=record.active,
        capabilities=record.info.capabilities,
        min_allocatable_resources=_min_allocatable(record.info)))


def register(books: Books, frm: PID, msg: RegisterFramework, out: Outbox) -> None:
    """A new framework subscribes; a retry from the same scheduler gets the same id."""
    if msg.framework_info.id:
        reregister(books, frm, ReregisterFramework(
            framework_info=msg.framework_info, suppressed_roles=msg.suppressed_roles), out)
        return
    existing = books.frameworks.by_pid(frm)
    if existing is not None:  # the driver retried before our answer arrived
        out.send(frm, FrameworkRegistered(framework_id=existing.id,
                                          master_info=books.master_info))
        return
    problem = _check_info(msg.framework_info)
    if problem is not None:
        out.send(frm, FrameworkError(message=f"framework refused: {problem}"))
        return
    denied = _unauthorized_roles(books, msg.framework_info)
    if denied is not None:
        _refuse_unauthorized(frm, msg.framework_info, denied, out)
        return
    info = dataclasses.replace(msg.framework_info, id=books.frameworks.new_id())
    record = books.frameworks.add(info, frm, books.now())
    record.suppressed_roles = frozenset(msg.suppressed_roles)
    _add_to_allocator(record, out)
    out.links.append(frm)
    out.send(frm, FrameworkRegistered(framework_id=info.id, master_info=books.master_info))
    _log.info("framework registered", framework_id=info.id, name=info.name, pid=str(frm))


def _refuse_unauthorized(frm: PID, info: FrameworkInfo, denied: str, out: Outbox) -> None:
    _log.info("refusing subscription of framework", name=info.name,
              principal=info.principal, reason=denied)
    out.send(frm, FrameworkError(message=denied))


def reregister(books: Books, frm: PID, msg: ReregisterFramework, out: Outbox) -> None:
    """A known framework subscribes again (scheduler or master failover); one changing its
    principal is refused (Mesos: the principal is fixed, e.g. no one may take over another
    principal's framework by its id)."""
    info = msg.framework_info
    if info.id in books.frameworks.completed_ids:
        out.send(frm, FrameworkError(message=f"framework {info.id} has been removed"))
        return
    problem = _check_info(info)
    if problem is not None:
        out.send(frm, FrameworkError(message=f"framework refused: {problem}"))
        return
    record = books.frameworks.get(info.id)
    if record is not None and record.info.principal != info.principal:
        # Mesos' validateUpdate: the old principal is logged, never told to the caller.
        _log.warning("framework tried to re-subscribe with a new principal",
                     framework_id=info.id, principal=record.info.principal or "<NONE>",
                     new_principal=info.principal or "<NONE>")
        out.send(frm, FrameworkError(message="Changing framework's principal is not allowed."))
        return
    denied = _unauthorized_roles(books, info)
    if denied is not None:
        _refuse_unauthorized(frm, info, denied, out)
        return
    if record is None:  # a new master: frameworks come back as they re-register
        record = books.frameworks.add(info, frm, books.now())
        record.suppressed_roles = frozenset(msg.suppressed_roles)
        _add_to_allocator(record, out)
    else:
        if record.pid is not None and record.pid != frm:
            out.send(record.pid, FrameworkError(message="framework failed over"))
        from actors.master.offers import rescind_framework_offers

        # Offers are rescinded and made again at each re-registration (Mesos).
        rescind_framework_offers(books, record, out, notify=record.pid == frm)
        old_roles = record.info.roles
        record.info = dataclasses.replace(info, user=record.info.user,
                                          principal=record.info.principal)
        record.pid = frm
        record.suppressed_roles = frozenset(msg.suppressed_roles)
        if old_roles != info.roles or msg.suppressed_roles:
            out.tell_allocator(AllocatorUpdateFramework(
                framework_id=record.id, roles=info.roles,
                suppressed_roles=msg.suppressed_roles, capabilities=info.capabilities,
                min_allocatable_resources=_min_allocatable(info)))
        if not record.active:
            out.tell_allocator(AllocatorActivateFramework(framework_id=record.id))
        for agent_id in record.agents_in_use():
            agent = books.agents.registered.get(agent_id)
            if agent is not None and agent.connected:
                out.send(agent.pid, UpdateFramework(framework_id=record.id,
                                                    framework_info=record.info,
                                                    pid=native_pid(frm)))
    record.connected = record.active = True
    record.reregistered_time = books.now()
    record.generation += 1
    out.links.append(frm)
    out.send(frm, FrameworkReregistered(framework_id=record.id, master_info=books.master_info))
    _log.info("framework re-registered", framework_id=record.id, pid=str(frm))


def update(books: Books, record: FrameworkRecord, msg: UpdateFramework, out: Outbox) -> None:
    """The scheduler changes its FrameworkInfo (roles, capabilities, name...)."""
    info = msg.framework_info
    if info is None:
        return
    if info.id and info.id != record.id:
        _log.warning("UpdateFramework with another framework id ignored", framework_id=record.id)
        return
    problem = _check_info(info) or _unauthorized_roles(books, info)
    if problem is not None or (info.user, info.checkpoint, info.principal) != (
            record.info.user, record.info.checkpoint, record.info.principal):
        out.send(record.pid, FrameworkError(
            message=f"update refused: {problem or 'user, checkpoint and principal are fixed'}"))
        return
    dropped = set(record.info.roles) - set(info.roles)
    record.info = dataclasses.replace(info, id=record.id)
    record.suppressed_roles = frozenset(msg.suppressed_roles)
    from actors.master.offers import rescind

    for offer in list(books.offers.of_framework(record.id)):
        if offer.role in dropped:
            rescind(books, offer.id, out)
    out.tell_allocator(AllocatorUpdateFramework(
        framework_id=record.id, roles=info.roles, suppressed_roles=msg.suppressed_roles,
        capabilities=info.capabilities, min_allocatable_resources=_min_allocatable(info)))
    for agent_id in record.agents_in_use():
        agent = books.agents.registered.get(agent_id)
        if agent is not None and agent.connected:
            out.send(agent.pid, UpdateFramework(framework_id=record.id,
                                                framework_info=record.info,
                                                pid=native_pid(record.pid)))


def deactivate(books: Books, record: FrameworkRecord, out: Outbox) -> None:
    """Stop offering to the framework and take back its offers (it keeps its tasks)."""
    from actors.master.offers import rescind_framework_offers

    if record.active:
        record.active = False
        out.tell_allocator(AllocatorDeactivateFramework(framework_id=record.id))
    rescind_framework_offers(books, record, out, notify=record.connected)


def remove(books: Books, record: FrameworkRecord, out: Outbox) -> None:
    """Tear the framework down: its agents shut its executors, everything is recovered."""
    now = books.now()
    for agent_id in sorted(record.agents_in_use()):
        agent = books.agents.registered.get(agent_id)
        if agent is not None:
            out.send(agent.pid, ShutdownFramework(framework_id=record.id))
            agent.executors.pop(record.id, None)
    for offer in list(books.offers.of_framework(record.id)):
        books.offers.pop(offer.id)  # the allocator recovers offers with the framework
        if record.connected:
            out.send(record.pid, RescindResourceOffer(offer_id=offer.id))
    for task in list(record.tasks.values()) + list(record.unreachable_tasks.values()):
        if not is_terminal(task.state):
            task.state = TaskState.TASK_KILLED
            task.statuses.append(_removed_status(task, now))
        task.freed = True
        agent = books.agents.registered.get(task.agent_id)
        if agent is not None:
            agent.tasks.pop((record.id, task.task_id), None)
        record.complete_task(task)
    record.tasks.clear()
    record.unreachable_tasks.clear()
    record.executors.clear()
    record.connected = record.active = False
    record.unregistered_time = now
    record.generation += 1
    out.tell_allocator(AllocatorRemoveFramework(framework_id=record.id))
    books.frameworks.complete(record)
    _log.info("framework removed", framework_id=record.id)


def _removed_status(task: TaskRecord, now: float) -> TaskStatus:
    return TaskStatus(task_id=task.task_id, state=TaskState.TASK_KILLED,
                      message="framework removed", source=Source.SOURCE_MASTER,
                      reason=Reason.REASON_FRAMEWORK_REMOVED, agent_id=task.agent_id,
                      timestamp=now)
