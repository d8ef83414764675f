"""Task reconciliation: the master's answer to "what state are my tasks in?".

A scheduler sends ``ReconcileTasks`` (after it (re-)registers, and periodically, as
Mesos' docs/reconciliation.md recommends); ``KillTask`` of a task the master does not
hold is answered the same way. Every answer is a master-made ``StatusUpdate`` with
``reason=REASON_RECONCILIATION``, source MASTER and an empty uuid (nothing to ack):

- implicit (no statuses): the state of every task the master holds for the framework
  (live ones, terminal ones not yet acknowledged, and those of unreachable agents) --
  the state of the update being delivered to the scheduler, as Mesos answers, so a
  reconciliation never runs ahead of the reliable updates;
- explicit: for each task asked about, its latest state if known; else, by what the
  master knows of the agent named (Mesos' ``_reconcileTasks``, in this order):
  recovered from the registry after a failover but not re-registered yet -> no answer
  (also when no agent is named and any agent is still recovered: the scheduler asks
  again later, and hears once the agent re-registers or ``agent_reregister_timeout``
  marks it unreachable); registered -> TASK_GONE (TASK_LOST unless PARTITION_AWARE);
  unreachable -> TASK_UNREACHABLE with its ``unreachable_time`` (TASK_LOST); gone ->
  TASK_GONE_BY_OPERATOR (TASK_LOST); otherwise TASK_UNKNOWN (TASK_LOST).

Pure functions over ``Books``; ``MasterActor`` sends what they return.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from actors.master.tasks import TaskRecord, master_update
from actors.messages.agent import StatusUpdate
from actors.messages.task_state import Reason, TaskState
from actors.messages.tasks import TaskStatus

if TYPE_CHECKING:
    from actors.master.books import Books
    from actors.master.frameworks import FrameworkRecord

__all__ = ["reconcile", "reconcile_explicit", "reconcile_implicit"]

_R = Reason.REASON_RECONCILIATION


def _latest(books: Books, framework: FrameworkRecord, task: TaskRecord) -> StatusUpdate:
    unreachable = books.agents.unreachable.get(task.agent_id)
    # The state of the update being delivered, not a newer one the scheduler has not
    # seen yet: reconciliation never jumps ahead of the reliable updates (Mesos).
    # Tasks of a removed agent answer with the state the master gave them.
    state = task.state
    if task.task_id not in framework.unreachable_tasks and task.status_update_state:
        state = task.status_update_state
    return master_update(framework.id, task.task_id, state, _R,
                         "Reconciliation: latest task state", books.now(),
                         agent_id=task.agent_id, executor_id=task.executor_id,
                         unreachable_time=unreachable
                         if state is TaskState.TASK_UNREACHABLE else None)


def reconcile_implicit(books: Books, framework: FrameworkRecord) -> list[StatusUpdate]:
    """The latest state of every task the master holds for the framework."""
    tasks = list(framework.tasks.values()) + list(framework.unreachable_tasks.values())
    return [_latest(books, framework, task) for task in tasks]


def reconcile_explicit(books: Books, framework: FrameworkRecord,
                       statuses: Iterable[TaskStatus]) -> list[StatusUpdate]:
    """One answer per task asked about (see the module docstring)."""
    answers = []
    aware = framework.partition_aware
    now = books.now()
    for asked in statuses:
        task = framework.tasks.get(asked.task_id) or framework.unreachable_tasks.get(
            asked.task_id)
        if task is not None:
            answers.append(_latest(books, framework, task))
            continue
        agent_id = asked.agent_id
        unreachable_time = None
        recovered = books.agents.recovered
        if (agent_id in recovered) if agent_id else bool(recovered):
            continue  # not re-registered yet: the scheduler asks again (Mesos)
        if agent_id and agent_id in books.agents.registered:
            state, text = TaskState.TASK_GONE, "Reconciliation: task is unknown to the agent"
        elif agent_id and agent_id in books.agents.unreachable:
            state, text = TaskState.TASK_UNREACHABLE, "Reconciliation: agent is unreachable"
            unreachable_time = books.agents.unreachable[agent_id]
        elif agent_id and agent_id in books.agents.gone:
            state, text = TaskState.TASK_GONE_BY_OPERATOR, "Reconciliation: task is gone"
        else:
            state, text = TaskState.TASK_UNKNOWN, "Reconciliation: task is unknown"
        if not aware:
            state, unreachable_time = TaskState.TASK_LOST, None
        answers.append(master_update(framework.id, asked.task_id, state, _R, text, now,
                                     agent_id=agent_id, unreachable_time=unreachable_time))
    return answers


def reconcile(books: Books, framework: FrameworkRecord,
              statuses: tuple[TaskStatus, ...]) -> list[StatusUpdate]:
    """Implicit when ``statuses`` is empty, else explicit."""
    if not statuses:
        return reconcile_implicit(books, framework)
    return reconcile_explicit(books, framework, statuses)
