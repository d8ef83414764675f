"""Agents as the master sees them: ``AgentRecord``, ``AgentBook`` and their life.

Agents register (``RegisterAgent``), re-register with what they run after a lost
connection or a master failover (``ReregisterAgent``), answer pings and leave
(``UnregisterAgent``), or are removed after ``max_agent_ping_timeouts`` missed pongs.
After a failover the book holds the agents the registry admitted (``recovered``) until
they re-register, or until ``agent_reregister_timeout`` marks them unreachable (the
decisions about the registry are in ``agent_registry``).
``MasterActor`` calls the functions here with its ``Books`` and sends what they put in
the ``Outbox``: ``AgentRegistered`` / ``AgentReregistered``, ``Allocator*Agent``
commands, and, when an agent is removed, status updates (TASK_LOST, or TASK_UNREACHABLE
/ TASK_GONE for PARTITION_AWARE frameworks), ``LostAgent`` and rescinded offers for
the frameworks; when an unreachable agent re-registers, its tasks' current states. A
registered agent that re-registers with a changed ``AgentInfo`` (restarted under an
agent ``--reconfiguration_policy`` that allowed it) gets it in its record and the
allocator its new total (``AllocatorUpdateAgent``).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import structlog

from actors.master.bounded import BoundedSet
from actors.master.tasks import TaskRecord, master_update
from actors.messages.agent import (
    AgentRegistered,
    AgentReregistered,
    RegisterAgent,
    ReregisterAgent,
    Shutdown,
    ShutdownFramework,
)
from actors.messages.framework import LostAgent, ReconcileTasks
from actors.messages.info import AgentCapability, AgentInfo, MasterAgentConnection
from actors.messages.internal import (
    AllocatorActivateAgent,
    AllocatorAddAgent,
    AllocatorAddFramework,
    AllocatorDeactivateAgent,
    AllocatorRemoveAgent,
    AllocatorUpdateAgent,
)
from actors.messages.task_state import Reason, TaskState, is_terminal
from actors.messages.tasks import ExecutorInfo, Task, TaskInfo, TaskStatus
from actors.resources import EMPTY, Resources
from transport.pid import PID

if TYPE_CHECKING:
    from actors.master.books import Books, Outbox

__all__ = [
    "AgentBook",
    "AgentRecord",
    "add_registered",
    "answer_retry",
    "disconnect",
    "ping_due",
    "register",
    "registrant",
    "remove",
    "reregister",
]

_log = structlog.get_logger("meseta.master")

MAX_REMOVED_AGENTS = 100_000
"""Ids of removed agents remembered (Mesos' ``MAX_REMOVED_SLAVES``)."""


@dataclass(eq=False)
class AgentRecord:
    """One agent the master knows (Mesos' ``Slave``)."""

    info: AgentInfo
    """With ``id`` set; ``resources`` is the agent's total."""
    pid: PID
    registered_time: float
    reregistered_time: float | None = None
    version: str = ""
    capabilities: frozenset[AgentCapability] = frozenset()
    connected: bool = True
    active: bool = True
    tasks: dict[tuple[str, str], TaskRecord] = field(default_factory=dict)
    """``(framework_id, task_id) -> task`` of the tasks it runs."""
    executors: dict[str, dict[str, ExecutorInfo]] = field(default_factory=dict)
    """``framework_id -> executor_id -> ExecutorInfo``."""
    pinged: bool = False
    """A ping is out and no pong came back yet."""
    missed_pings: int = 0

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def total(self) -> Resources:
        return self.info.resources

    def used_resources(self) -> Resources:
        total = EMPTY
        for task in self.tasks.values():
            total = total + task.used
        for executors in self.executors.values():
            for executor in executors.values():
                total = total + executor.resources
        return total


class AgentBook:
    """Registered agents, the ids of those removed as unreachable, and agent ids."""

    def __init__(self, master_id: str) -> None:
        self.master_id = master_id
        self.registered: dict[str, AgentRecord] = {}
        self.unreachable: dict[str, float] = {}
        """``agent_id -> when it was removed as unreachable`` (it may come back)."""
        self.removed = BoundedSet(MAX_REMOVED_AGENTS)
        """Agents that left for good (``UnregisterAgent``): the newest ``MAX_REMOVED_AGENTS``."""
        self.recovered: dict[str, AgentInfo] = {}
        """Agents the recovered registry admitted that have not re-registered yet."""
        self.gone: dict[str, float] = {}
        """``agent_id -> when an operator marked it gone`` (from the registry)."""
        self._seq = itertools.count()

    def new_id(self) -> str:
        return f"{self.master_id}-S{next(self._seq)}"

    def by_pid(self, pid: PID) -> AgentRecord | None:
        return next((a for a in self.registered.values() if a.pid == pid), None)


def _connection(total_ping_timeout: float) -> MasterAgentConnection:
    return MasterAgentConnection(total_ping_timeout_seconds=total_ping_timeout)


def registrant(books: Books, frm: PID, msg: RegisterAgent
               ) -> tuple[AgentRecord | None, AgentRecord | None]:
    """Who is registered at ``frm``: (this agent retrying, another agent), either or none."""
    existing = books.agents.by_pid(frm)
    if existing is None:
        return None, None
    if existing.info.hostname == msg.agent_info.hostname:
        return existing, None
    return None, existing


def answer_retry(books: Books, existing: AgentRecord, frm: PID, out: Outbox,
                 total_ping_timeout: float) -> None:
    """A registered agent asked again (its reply was lost): the same id again."""
    if not existing.connected:
        existing.connected = True
        out.tell_allocator(AllocatorActivateAgent(agent_id=existing.id))
    out.send(frm, AgentRegistered(agent_id=existing.id,
                                  connection=_connection(total_ping_timeout)))


def add_registered(books: Books, frm: PID, msg: RegisterAgent, info: AgentInfo, out: Outbox,
                   total_ping_timeout: float) -> AgentRecord:
    """A new agent (``info`` with its new id, admitted in the registry) joins the books."""
    record = AgentRecord(info=info, pid=frm, registered_time=books.now(), version=msg.version,
                         capabilities=msg.capabilities)
    books.agents.registered[info.id] = record
    out.tell_allocator(AllocatorAddAgent(agent_id=info.id, total=info.resources))
    out.links.append(frm)
    out.send(frm, AgentRegistered(agent_id=info.id,
                                  connection=_connection(total_ping_timeout)))
    _log.info("agent registered", agent_id=info.id, pid=str(frm), resources=str(info.resources))
    return record


def register(books: Books, frm: PID, msg: RegisterAgent, out: Outbox,
             total_ping_timeout: float) -> AgentRecord:
    """A new agent joins at once (no registry); a retry from the same agent gets the same id."""
    same, stale = registrant(books, frm, msg)
    if same is not None:
        answer_retry(books, same, frm, out, total_ping_timeout)
        return same
    if stale is not None:  # another agent now answers at that address
        remove(books, stale, out, "removed")
    info = dataclasses.replace(msg.agent_info, id=books.agents.new_id())
    return add_registered(books, frm, msg, info, out, total_ping_timeout)


def reregister(books: Books, frm: PID, msg: ReregisterAgent, out: Outbox,
               total_ping_timeout: float) -> AgentRecord | None:
    """An agent rejoins with what it runs; the master's books take what they lack."""
    agent_id = msg.agent_info.id
    if agent_id in books.agents.removed:
        out.send(frm, Shutdown(message=f"agent {agent_id} was removed"))
        return None
    record = books.agents.registered.get(agent_id)
    known = record is not None
    was_unreachable = agent_id in books.agents.unreachable
    if record is None:
        record = AgentRecord(info=msg.agent_info, pid=frm, registered_time=books.now())
        books.agents.registered[agent_id] = record
        books.agents.unreachable.pop(agent_id, None)
        books.agents.recovered.pop(agent_id, None)
    else:
        _update_info(record, msg.agent_info, out)  # before it is offered again
        if not record.connected or not record.active:
            out.tell_allocator(AllocatorActivateAgent(agent_id=agent_id))
    record.pid, record.connected, record.active = frm, True, True
    record.version, record.capabilities = msg.version, msg.capabilities
    record.reregistered_time = books.now()
    record.pinged, record.missed_pings = False, 0
    used = _adopt(books, record, msg, out)
    if was_unreachable:
        _announce_reachable(books, record, msg, out)
    if not known:
        out.tell_allocator(AllocatorAddAgent(agent_id=agent_id, total=record.total,
                                             used_by_framework=used or None))
    reconciliations = _reconciliations(books, record)
    out.links.append(frm)
    out.send(frm, AgentReregistered(agent_id=agent_id, reconciliations=reconciliations,
                                    connection=_connection(total_ping_timeout)))
    _log.info("agent re-registered", agent_id=agent_id, pid=str(frm), tasks=len(msg.tasks))
    return record


def _update_info(record: AgentRecord, info: AgentInfo, out: Outbox) -> None:
    """A registered agent came back with another (registry-stored) info: it was restarted
    with new flags its ``--reconfiguration_policy`` allows; the allocator gets the new total."""
    if info == record.info:
        return
    old_total = record.total
    record.info = info
    _log.info("agent info updated on re-registration", agent_id=info.id,
              resources=str(info.resources), previous=str(old_total))
    if info.resources != old_total:
        out.tell_allocator(AllocatorUpdateAgent(agent_id=info.id, total=info.resources))


def _adopt(books: Books, agent: AgentRecord, msg: ReregisterAgent, out: Outbox
           ) -> dict[str, dict[str, Resources]]:
    """Take in the frameworks, executors and tasks the agent reports; returns new usage."""
    infos = {f.id: f for f in msg.frameworks}
    used: dict[str, dict[str, Resources]] = {}

    def framework_of(framework_id: str) -> str | None:
        if framework_id in books.frameworks.completed_ids:
            out.send(agent.pid, ShutdownFramework(framework_id=framework_id))
            return None
        framework = books.frameworks.get(framework_id)
        if framework is None:
            info = infos.get(framework_id)
            if info is None:
                return None
            framework = books.frameworks.add(info, None, books.now())
            framework.connected = framework.active = False
            out.tell_allocator(AllocatorAddFramework(
                framework_id=framework_id, roles=info.roles, active=False,
                capabilities=info.capabilities))
        return framework.info.roles[0] if framework.info.roles else "*"

    for executor in msg.executor_infos:
        role = framework_of(executor.framework_id)
        if role is None or executor.executor_id in agent.executors.get(executor.framework_id, {}):
            continue
        agent.executors.setdefault(executor.framework_id, {})[executor.executor_id] = executor
        framework = books.frameworks.registered[executor.framework_id]
        framework.executors.setdefault(agent.id, {})[executor.executor_id] = executor
        _add_used(used, executor.framework_id, role, executor.resources)
    for task in msg.tasks:
        role = framework_of(task.framework_id)
        if role is None or (task.framework_id, task.task_id) in agent.tasks:
            continue
        record = _task_record(task, agent, role)
        framework = books.frameworks.registered[task.framework_id]
        framework.unreachable_tasks.pop(task.task_id, None)
        framework.tasks[task.task_id] = record
        agent.tasks[(task.framework_id, task.task_id)] = record
        _add_used(used, task.framework_id, role, record.used)
    return used


def _announce_reachable(books: Books, agent: AgentRecord, msg: ReregisterAgent,
                        out: Outbox) -> None:
    """An unreachable agent is back: tell each framework its tasks' current states.

    As Mesos (``REASON_AGENT_REREGISTERED``, from the master, no acknowledgement): the
    tasks keep running, and the TASK_UNREACHABLE or TASK_LOST the framework heard when
    the agent was removed is superseded, partition-aware or not.
    """
    now = books.now()
    for task in msg.tasks:
        framework = books.frameworks.get(task.framework_id)
        if (framework is None or not framework.connected
                or (task.framework_id, task.task_id) not in agent.tasks):
            continue
        out.send(framework.pid, master_update(
            framework.id, task.task_id, task.state, Reason.REASON_AGENT_REREGISTERED,
            "unreachable agent re-registered", now, agent_id=agent.id,
            executor_id=task.executor_id))


def _add_used(used: dict[str, dict[str, Resources]], framework_id: str, role: str,
              resources: Resources) -> None:
    if resources:
        by_role = used.setdefault(framework_id, {})
        by_role[role] = by_role.get(role, EMPTY) + resources


def _task_record(task: Task, agent: AgentRecord, role: str) -> TaskRecord:
    executor = agent.executors.get(task.framework_id, {}).get(task.executor_id)
    info = TaskInfo(name=task.name, task_id=task.task_id, agent_id=agent.id,
                    resources=task.resources, executor=executor, labels=task.labels,
                    discovery=task.discovery, health_check=task.health_check,
                    kill_policy=task.kill_policy)
    return TaskRecord(info=info, framework_id=task.framework_id, agent_id=agent.id, role=role,
                      state=task.state, user=task.user, statuses=list(task.statuses),
                      status_update_state=task.status_update_state,
                      status_update_uuid=task.status_update_uuid,
                      freed=is_terminal(task.state))


def _reconciliations(books: Books, agent: AgentRecord) -> tuple[ReconcileTasks, ...]:
    """Per framework, the live tasks the master believes run on ``agent``."""
    by_framework: dict[str, list[TaskStatus]] = {}
    for (framework_id, task_id), task in sorted(agent.tasks.items()):
        if not is_terminal(task.state):
            by_framework.setdefault(framework_id, []).append(TaskStatus(
                task_id=task_id, state=task.state, agent_id=agent.id))
    out = []
    for framework_id, statuses in by_framework.items():
        framework = books.frameworks.get(framework_id)
        out.append(ReconcileTasks(framework_id=framework_id, statuses=tuple(statuses),
                                  framework_info=framework.info if framework else None))
    return tuple(out)


def disconnect(books: Books, agent: AgentRecord, out: Outbox) -> None:
    """The agent's connection broke: no offers of it until it re-registers."""
    from actors.master.offers import rescind_agent_offers

    if agent.connected:
        agent.connected = False
        out.tell_allocator(AllocatorDeactivateAgent(agent_id=agent.id))
    rescind_agent_offers(books, agent.id, out)


def ping_due(agent: AgentRecord, max_missed: int) -> Literal["ping", "remove"]:
    """A ping period ended: count a missing pong; ``remove`` after ``max_missed`` in a row."""
    if agent.pinged:
        agent.missed_pings += 1
        if agent.missed_pings >= max_missed:
            return "remove"
    agent.pinged = True
    return "ping"


def remove(books: Books, agent: AgentRecord, out: Outbox,
           why: Literal["unreachable", "removed"]) -> None:
    """Remove an agent: its tasks are lost to the frameworks, its offers rescinded.

    ``unreachable`` (missed pings): TASK_UNREACHABLE for PARTITION_AWARE frameworks,
    TASK_LOST for others; the tasks are kept aside since the agent may come back.
    ``removed`` (it unregistered): TASK_GONE / TASK_LOST, and the tasks are gone.
    """
    from actors.master.offers import rescind_agent_offers
    from actors.master.tasks import remove_task

    now = books.now()
    rescind_agent_offers(books, agent.id, out)
    for task in list(agent.tasks.values()):
        framework = books.frameworks.get(task.framework_id)
        if framework is None:
            continue
        was_live = not is_terminal(task.state)
        if was_live:
            aware = framework.partition_aware
            state = (TaskState.TASK_LOST if not aware else
                     TaskState.TASK_UNREACHABLE if why == "unreachable" else TaskState.TASK_GONE)
            text = (f"agent {agent.info.hostname} is unreachable" if why == "unreachable"
                    else f"agent {agent.info.hostname} was removed")
            update = master_update(
                framework.id, task.task_id, state, Reason.REASON_AGENT_REMOVED, text, now,
                agent_id=agent.id, executor_id=task.executor_id,
                unreachable_time=now if state is TaskState.TASK_UNREACHABLE else None)
            task.state = state
            task.statuses.append(update.update.status)
            task.freed = True
            if framework.connected:
                out.send(framework.pid, update)
        if why == "unreachable" and was_live:  # it may come back with its agent
            framework.tasks.pop(task.task_id, None)
            framework.unreachable_tasks[task.task_id] = task
        else:
            remove_task(books, task)
    for framework_id in agent.executors:
        framework = books.frameworks.get(framework_id)
        if framework is not None:
            framework.executors.pop(agent.id, None)
    for framework in books.frameworks.registered.values():
        if framework.connected:
            out.send(framework.pid, LostAgent(agent_id=agent.id))
    out.tell_allocator(AllocatorRemoveAgent(agent_id=agent.id))
    del books.agents.registered[agent.id]
    if why == "unreachable":
        books.agents.unreachable[agent.id] = now
    else:
        books.agents.removed.add(agent.id)
    _log.warning("agent removed", agent_id=agent.id, why=why, tasks=len(agent.tasks))
