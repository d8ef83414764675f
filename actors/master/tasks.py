"""Tasks as the master sees them: ``TaskRecord``, status updates, acknowledgements, kills.

A task enters the books when ``launch`` sends it to an agent (TASK_STAGING) or when an
agent re-registers reporting it. Agents forward status updates (``StatusUpdate``);
``status_update`` walks the task's state with ``task_state.transition`` using the
update's ``latest_state`` (so a terminal state frees the task's resources at once,
even while earlier updates still wait for their acknowledgement, as Mesos'
``Master::updateTask``) and forwards the update to the scheduler. The scheduler's
``StatusUpdateAcknowledgement`` goes back to the agent; once the acknowledged update
is terminal the task leaves the books (``remove_task``). ``kill`` forwards a
``KillTask`` to the task's agent, or answers as reconciliation for an unknown task.
``master_update`` builds the updates the master makes itself (source MASTER, no uuid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from actors.messages.agent import StatusUpdate
from actors.messages.framework import (
    ExitedExecutor,
    KillTask,
    StatusUpdateAcknowledgement,
)
from actors.messages.internal import AllocatorRecoverResources
from actors.messages.task_state import Reason, Source, TaskState, can_transition, is_terminal
from actors.messages.tasks import StatusUpdateInfo, Task, TaskInfo, TaskStatus
from actors.resources import EMPTY, Resources
from transport.pid import PID

if TYPE_CHECKING:
    from actors.master.books import Books, Outbox
    from actors.master.frameworks import FrameworkRecord

__all__ = [
    "TaskRecord",
    "acknowledge",
    "apply_update",
    "exited_executor",
    "kill",
    "master_update",
    "remove_task",
    "status_update",
]

_log = structlog.get_logger("meseta.master")

MAX_STATUSES = 20
"""Statuses kept per task (for /state); Mesos keeps them all, we keep the newest."""


@dataclass(eq=False)
class TaskRecord:
    """The master's copy of one task (Mesos' ``Task``), mutable, owned by the books."""

    info: TaskInfo
    framework_id: str
    agent_id: str
    role: str = "*"
    """The role whose offer paid for it (where its resources go back)."""
    state: TaskState = TaskState.TASK_STAGING
    user: str = ""
    statuses: list[TaskStatus] = field(default_factory=list)
    status_update_state: TaskState | None = None
    status_update_uuid: bytes = b""
    freed: bool = False
    """Its resources went back to the allocator (it reached a terminal state)."""

    @property
    def task_id(self) -> str:
        return self.info.task_id

    @property
    def executor_id(self) -> str:
        return self.info.executor.executor_id if self.info.executor is not None else ""

    @property
    def resources(self) -> Resources:
        return self.info.resources

    @property
    def used(self) -> Resources:
        """What it holds now: its resources until it ends, then nothing."""
        return EMPTY if self.freed else self.info.resources

    def to_task(self) -> Task:
        """The wire/JSON form (``Task``)."""
        return Task(name=self.info.name, task_id=self.task_id, framework_id=self.framework_id,
                    agent_id=self.agent_id, state=self.state, executor_id=self.executor_id,
                    resources=self.resources, statuses=tuple(self.statuses),
                    status_update_state=self.status_update_state,
                    status_update_uuid=self.status_update_uuid, labels=self.info.labels,
                    discovery=self.info.discovery, health_check=self.info.health_check,
                    kill_policy=self.info.kill_policy, user=self.user)


def master_update(framework_id: str, task_id: str, state: TaskState, reason: Reason | None,
                  message: str, now: float, *, agent_id: str = "", executor_id: str = "",
                  unreachable_time: float | None = None) -> StatusUpdate:
    """An update the master makes itself: source MASTER, empty uuid (no ack expected)."""
    status = TaskStatus(task_id=task_id, state=state, message=message,
                        source=Source.SOURCE_MASTER, reason=reason, agent_id=agent_id,
                        executor_id=executor_id, timestamp=now,
                        unreachable_time=unreachable_time)
    return StatusUpdate(update=StatusUpdateInfo(framework_id=framework_id, status=status,
                                                timestamp=now, executor_id=executor_id,
                                                agent_id=agent_id))


def apply_update(task: TaskRecord, update: StatusUpdateInfo) -> Resources:
    """Walk ``task`` to the update's latest state; returns the resources freed by it.

    ``latest_state`` (the newest state the agent knows) wins over ``status.state``;
    an illegal move leaves the state as it is (logged: the agent is the source of
    truth, and the update is still forwarded). Resources are freed once, at the first
    terminal state.
    """
    new = update.latest_state or update.status.state
    if new is not task.state:
        if can_transition(task.state, new):
            task.state = new
        else:
            _log.warning("ignoring an illegal task state change", task_id=task.task_id,
                         old=task.state.name, new=new.name)
    task.statuses.append(update.status)
    del task.statuses[:-MAX_STATUSES]
    task.status_update_state = update.status.state
    task.status_update_uuid = update.uuid
    if is_terminal(task.state) and not task.freed:
        task.freed = True
        return task.resources
    if not is_terminal(task.state) and task.freed:
        # LOST -> RUNNING (a re-registered agent): it holds its resources again.
        task.freed = False
    return EMPTY


def remove_task(books: Books, task: TaskRecord) -> None:
    """Take a task out of its framework and agent (into the completed tasks)."""
    framework = books.frameworks.get(task.framework_id)
    if framework is not None:
        framework.tasks.pop(task.task_id, None)
        framework.unreachable_tasks.pop(task.task_id, None)
        framework.complete_task(task)
    agent = books.agents.registered.get(task.agent_id)
    if agent is not None:
        agent.tasks.pop((task.framework_id, task.task_id), None)


def scheduler_of(books: Books, frm: PID, framework_id: str, what: str) -> FrameworkRecord | None:
    """The registered framework ``framework_id`` if ``frm`` is its scheduler, else None."""
    framework = books.frameworks.get(framework_id)
    if framework is None:
        _log.warning("ignoring a call of an unknown framework", call=what,
                     framework_id=framework_id, frm=str(frm))
        return None
    if framework.pid != frm:
        _log.warning("ignoring a call not from the framework's scheduler", call=what,
                     framework_id=framework_id, frm=str(frm), scheduler=str(framework.pid))
        return None
    return framework


def status_update(books: Books, frm: PID, msg: StatusUpdate, out: Outbox) -> None:
    """Agent -> master: record the update, free resources at the end, forward it."""
    update = msg.update
    agent = books.agents.registered.get(update.agent_id)
    if agent is None or agent.pid not in (frm, msg.pid):
        _log.warning("ignoring a status update from an unknown agent",
                     agent_id=update.agent_id, frm=str(frm), task_id=update.status.task_id)
        return
    framework = books.frameworks.get(update.framework_id)
    if framework is None:
        _log.warning("ignoring a status update of an unknown framework",
                     framework_id=update.framework_id, task_id=update.status.task_id)
        return
    task = framework.tasks.get(update.status.task_id)
    if task is None:
        _log.warning("status update for an unknown task", task_id=update.status.task_id,
                     state=update.status.state.name)
    else:
        freed = apply_update(task, update)
        if freed:
            out.tell_allocator(AllocatorRecoverResources(
                framework_id=framework.id, agent_id=task.agent_id, resources=freed,
                role=task.role))
    if framework.connected:
        out.send(framework.pid, StatusUpdate(update=update, pid=msg.pid or frm))


def acknowledge(books: Books, frm: PID, msg: StatusUpdateAcknowledgement, out: Outbox) -> None:
    """Scheduler -> master: forget an acknowledged terminal task; pass the ack on."""
    framework = scheduler_of(books, frm, msg.framework_id, "acknowledge")
    if framework is None:
        return
    agent = books.agents.registered.get(msg.agent_id)
    if agent is None or not agent.connected:
        _log.warning("dropping an acknowledgement for an unknown or disconnected agent",
                     agent_id=msg.agent_id, task_id=msg.task_id)
        return
    task = framework.tasks.get(msg.task_id)
    if (task is not None and task.status_update_uuid == msg.uuid
            and task.status_update_state is not None
            and is_terminal(task.status_update_state)):
        remove_task(books, task)
    out.send(agent.pid, msg)


def kill(books: Books, frm: PID, msg: KillTask, out: Outbox) -> None:
    """Scheduler -> master: kill on the task's agent; an unknown task is reconciled."""
    framework = scheduler_of(books, frm, msg.framework_id, "kill")
    if framework is None:
        return
    task = framework.tasks.get(msg.task_id)
    if task is None:
        from actors.master.reconciliation import reconcile_explicit

        asked = TaskStatus(task_id=msg.task_id, state=TaskState.TASK_STAGING,
                           agent_id=msg.agent_id)
        for update in reconcile_explicit(books, framework, (asked,)):
            out.send(framework.pid, update)
        return
    agent = books.agents.registered.get(task.agent_id)
    if agent is None or not agent.connected:
        _log.warning("cannot kill a task on a disconnected agent (retry later)",
                     task_id=task.task_id, agent_id=task.agent_id)
        return
    out.send(agent.pid, KillTask(framework_id=framework.id, task_id=task.task_id,
                                 agent_id=task.agent_id, kill_policy=msg.kill_policy))


def exited_executor(books: Books, frm: PID, msg: ExitedExecutor, out: Outbox) -> None:
    """Agent -> master: an executor ended; recover what it held and tell the scheduler."""
    agent = books.agents.registered.get(msg.agent_id)
    if agent is None:
        _log.warning("ignoring ExitedExecutor from an unknown agent", agent_id=msg.agent_id)
        return
    info = agent.executors.get(msg.framework_id, {}).pop(msg.executor_id, None)
    framework = books.frameworks.get(msg.framework_id)
    if framework is not None:
        framework.executors.get(agent.id, {}).pop(msg.executor_id, None)
    if info is not None and info.resources:
        out.tell_allocator(AllocatorRecoverResources(
            framework_id=msg.framework_id, agent_id=agent.id, resources=info.resources))
    if framework is not None and framework.connected:
        out.send(framework.pid, msg)
