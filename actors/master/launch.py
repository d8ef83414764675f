"""Accepting offers: validate, launch on the agent, answer failures, give back the rest.

``accept`` handles a scheduler's ``AcceptOffers`` (and the legacy ``LaunchTasks``,
turned into one LAUNCH operation): it checks the offers (``validation
.validate_offers``), uses them up, walks the LAUNCH and LAUNCH_GROUP operations through
a ``validation.TaskValidator``, records each valid task as TASK_STAGING and sends
``RunTask`` (``RunTaskGroup``) to the agent with the scheduler's PID. A task whose user
(``run_as``) the framework's principal may not run as (``--acls`` ``run_tasks``) gets
TASK_ERROR / REASON_TASK_UNAUTHORIZED (a group: REASON_TASK_GROUP_UNAUTHORIZED). Invalid tasks get
a master-made ``StatusUpdate`` (TASK_ERROR / REASON_TASK_INVALID, or TASK_DROPPED /
TASK_LOST with REASON_INVALID_OFFERS when the offers are bad). What the tasks do not
use goes back to the allocator with the call's ``filters.refuse_seconds``. Called by
``MasterActor``; everything it decides lands in the ``Outbox``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import structlog

from actors.master.frameworks import native_pid
from actors.master.tasks import TaskRecord, master_update
from actors.master.validation import Accepted, TaskValidator, validate_offers
from actors.messages.agent import RunTask, RunTaskGroup, StatusUpdate
from actors.messages.framework import AcceptOffers, LaunchTasks
from actors.messages.info import FrameworkInfo
from actors.messages.internal import AllocatorRecoverResources
from actors.messages.offers import Operation, OperationType, launch
from actors.messages.task_state import Reason, TaskState
from actors.messages.tasks import ExecutorInfo, TaskGroupInfo, TaskInfo
from actors.resources import EMPTY, Resources

if TYPE_CHECKING:
    from actors.master.agents import AgentRecord
    from actors.master.books import Books, Outbox
    from actors.master.frameworks import FrameworkRecord

__all__ = ["accept", "as_accept", "run_as"]

_log = structlog.get_logger("meseta.master")


def as_accept(msg: LaunchTasks) -> AcceptOffers:
    """The legacy ``LaunchTasks`` as the ``AcceptOffers`` it stands for."""
    operations = (launch(*msg.tasks),) if msg.tasks else ()
    return AcceptOffers(framework_id=msg.framework_id, offer_ids=msg.offer_ids,
                        operations=operations, filters=msg.filters)


def run_as(task: TaskInfo, framework: FrameworkInfo,
           executor: ExecutorInfo | None = None) -> str:
    """The OS user a task runs as: its command's user, its executor's, else the
    framework's (Mesos' ``run_tasks`` object, and the agent's ``--switch_user``)."""
    executor = executor or task.executor
    if task.command is not None and task.command.user:
        return task.command.user
    if executor is not None and executor.command is not None and executor.command.user:
        return executor.command.user
    return framework.user


def _unauthorized(books: Books, framework: FrameworkRecord, task: TaskInfo,
                  executor: ExecutorInfo | None = None) -> str | None:
    user = run_as(task, framework.info, executor)
    if books.acls.authorized("run_tasks", framework.info.principal or None, user):
        return None
    return f"Not authorized to launch task as user '{user}'"


def _tasks_of(operation: Operation) -> tuple[TaskInfo, ...]:
    if operation.type is OperationType.LAUNCH and operation.launch is not None:
        return operation.launch.task_infos
    if operation.type is OperationType.LAUNCH_GROUP and operation.launch_group is not None:
        return operation.launch_group.task_group.tasks
    return ()


def accept(books: Books, framework: FrameworkRecord, msg: AcceptOffers, out: Outbox) -> None:
    """Scheduler -> master: use offers for operations (see the module docstring)."""
    now = books.now()
    available_agents = [a.id for a in books.agents.registered.values() if a.connected]
    error = validate_offers(msg.offer_ids, books.offers.offers, framework.id, available_agents)
    if error is not None:
        _reject_all(books, framework, msg, error, out)
        return
    offers = [o for o in (books.offers.pop(i) for i in msg.offer_ids) if o is not None]
    agent = books.agents.registered[offers[0].agent_id]
    offered: dict[str, Resources] = {}
    for offer in offers:
        offered[offer.role] = offered.get(offer.role, EMPTY) + offer.resources
    validator = TaskValidator(framework.id, agent.id, offered, framework.tasks.keys(),
                              framework.executors.get(agent.id, {}))
    for operation in msg.operations:
        if operation.type is OperationType.LAUNCH:
            for task in _tasks_of(operation):
                denied = _unauthorized(books, framework, task)
                if denied is not None:
                    _log.info("task not authorized", task_id=task.task_id,
                              framework_id=framework.id, reason=denied)
                    out.send(framework.pid, master_update(
                        framework.id, task.task_id, TaskState.TASK_ERROR,
                        Reason.REASON_TASK_UNAUTHORIZED, denied, now, agent_id=task.agent_id))
                    continue
                problem, accepted = validator.validate(task)
                if accepted is None:
                    out.send(framework.pid, _error(framework, task, problem or "", now))
                    continue
                task = _launched(books, framework, agent, task, accepted)
                out.send(agent.pid, RunTask(framework_info=framework.info, task=task,
                                            pid=native_pid(framework.pid)))
        elif operation.type is OperationType.LAUNCH_GROUP and operation.launch_group:
            _launch_group(books, framework, agent, operation, validator, out)
        else:
            _log.warning("offer operation not supported yet", type=operation.type.name,
                         framework_id=framework.id)
    for role, rest in validator.leftover().items():
        out.tell_allocator(AllocatorRecoverResources(
            framework_id=framework.id, agent_id=agent.id, resources=rest,
            refuse_seconds=msg.filters.refuse_seconds, role=role or None))


def _launch_group(books: Books, framework: FrameworkRecord, agent: AgentRecord,
                  operation: Operation, validator: TaskValidator, out: Outbox) -> None:
    """All tasks of a group or none: the first invalid one fails them all."""
    assert operation.launch_group is not None
    executor = _own(operation.launch_group.executor, framework.id)
    tasks = operation.launch_group.task_group.tasks
    trial = TaskValidator(validator.framework_id, validator.agent_id, validator.available,
                          validator.live_task_ids, validator.executors)
    trial.seen = set(validator.seen)
    problem = None if tasks else "the task group is empty"
    reason = Reason.REASON_TASK_GROUP_INVALID
    for task in tasks:
        denied = _unauthorized(books, framework, task, executor)
        if denied is not None:
            problem, reason = denied, Reason.REASON_TASK_GROUP_UNAUTHORIZED
            break
        problem, _ = trial.validate(task, executor)
        if problem is not None:
            break
    now = books.now()
    if problem is not None:
        for task in tasks:
            out.send(framework.pid, master_update(
                framework.id, task.task_id, TaskState.TASK_ERROR, reason, problem, now,
                agent_id=task.agent_id, executor_id=executor.executor_id))
        return
    launched = []
    launch_executor = executor.executor_id not in validator.executors
    for task in tasks:
        _, accepted = validator.validate(task, executor)
        assert accepted is not None
        launched.append(_launched(books, framework, agent, task, accepted, executor))
    out.send(agent.pid, RunTaskGroup(framework_info=framework.info, executor_info=executor,
                                     task_group=TaskGroupInfo(tasks=tuple(launched)),
                                     launch_executor=launch_executor))


def _own(executor: ExecutorInfo, framework_id: str) -> ExecutorInfo:
    return (executor if executor.framework_id
            else dataclasses.replace(executor, framework_id=framework_id))


def _launched(books: Books, framework: FrameworkRecord, agent: AgentRecord, task: TaskInfo,
              accepted: Accepted, group_executor: ExecutorInfo | None = None) -> TaskInfo:
    """Record a valid task as STAGING on ``agent``; returns it as sent to the agent."""
    if task.executor is not None:
        task = dataclasses.replace(task, executor=_own(task.executor, framework.id))
    if accepted.new_executor is not None:
        executor = _own(accepted.new_executor, framework.id)
        agent.executors.setdefault(framework.id, {})[executor.executor_id] = executor
        framework.executors.setdefault(agent.id, {})[executor.executor_id] = executor
    recorded = task if group_executor is None else dataclasses.replace(
        task, executor=group_executor)
    user = (task.command.user if task.command is not None and task.command.user
            else framework.info.user)
    record = TaskRecord(info=recorded, framework_id=framework.id, agent_id=agent.id,
                        role=accepted.role, user=user)
    framework.tasks[task.task_id] = record
    agent.tasks[(framework.id, task.task_id)] = record
    _log.info("launching task", task_id=task.task_id, framework_id=framework.id,
              agent_id=agent.id, resources=str(task.resources))
    return task


def _error(framework: FrameworkRecord, task: TaskInfo, problem: str, now: float
           ) -> StatusUpdate:
    return master_update(framework.id, task.task_id, TaskState.TASK_ERROR,
                         Reason.REASON_TASK_INVALID, problem, now, agent_id=task.agent_id,
                         executor_id=task.executor.executor_id if task.executor else "")


def _reject_all(books: Books, framework: FrameworkRecord, msg: AcceptOffers, error: str,
                out: Outbox) -> None:
    """Bad offers: the framework's valid ones go back unfiltered, every task is lost."""
    for offer_id in dict.fromkeys(msg.offer_ids):
        offer = books.offers.get(offer_id)
        if offer is not None and offer.framework_id == framework.id:
            books.offers.pop(offer_id)
            out.tell_allocator(AllocatorRecoverResources(
                framework_id=offer.framework_id, agent_id=offer.agent_id,
                resources=offer.resources, role=offer.role or None))
    state = TaskState.TASK_DROPPED if framework.partition_aware else TaskState.TASK_LOST
    now = books.now()
    for operation in msg.operations:
        for task in _tasks_of(operation):
            out.send(framework.pid, master_update(
                framework.id, task.task_id, state, Reason.REASON_INVALID_OFFERS, error, now,
                agent_id=task.agent_id))
    _log.warning("accept with invalid offers", framework_id=framework.id, error=error)
