"""Task and offer validation: what the master checks before anything reaches an agent.

Pure functions over plain values (no books, no actor), after Mesos'
``src/master/validation.cpp``; ``actors.master.launch`` calls them for every
``AcceptOffers`` / ``LaunchTasks`` and turns a failure into a status update:

- ``validate_offers``: the offers exist, belong to the framework, are not named
  twice, and are all on one connected agent. A failure loses every task of the call:
  TASK_DROPPED for PARTITION_AWARE frameworks, TASK_LOST for others
  (REASON_INVALID_OFFERS).
- ``TaskValidator``: one task after another, each checked against what the earlier
  ones of the same call already took. A failure is TASK_ERROR (REASON_TASK_INVALID).
- ``validate_executor_type``: a DEFAULT executor (Meseta's default executor, for task
  groups) has no command, a CUSTOM one has one; a LAUNCH (single task) takes CUSTOM
  executors only, and a group's executor needs Mesos' minimum resources
  (``validate_group_executor_resources``: cpus ≥ 0.01, mem ≥ 32 MB, some disk).
- ``validate_health_check``: a task's ``HealthCheck`` (Mesos'
  ``common::validation::validateHealthCheck``), part of ``TaskValidator``.
- ``validate_agent_resources``: what a registering agent offers (the well-known names
  have their types: ``ports`` ranges, ``cpus``... scalars), so no sum over the cluster's
  agents can fail on one of them; ``agent_handlers`` drops a registration that fails it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from actors.messages.offers import Offer
from actors.messages.tasks import (
    ExecutorInfo,
    ExecutorType,
    HealthCheck,
    HealthCheckType,
    TaskInfo,
)
from actors.resources import EMPTY, Resources

__all__ = ["MIN_CPUS", "MIN_MEM", "Accepted", "TaskValidator", "validate_agent_resources",
           "validate_executor_type", "validate_group_executor_resources",
           "validate_health_check", "validate_id", "validate_offers"]

MIN_CPUS = 0.01
"""The least cpus a task group's executor may have (Mesos' ``MIN_CPUS``)."""
MIN_MEM = 32.0
"""The least memory (MB) a task group's executor may have (Mesos' ``MIN_MEM``)."""


def validate_offers(offer_ids: Sequence[str], offers: Mapping[str, Offer], framework_id: str,
                    available_agents: Collection[str]) -> str | None:
    """Why these offers cannot be used together, or ``None``.

    ``available_agents``: ids of the agents that are registered and connected.
    """
    if not offer_ids:
        return "no offers specified"
    seen: set[str] = set()
    agent_of: dict[str, str] = {}
    for offer_id in offer_ids:
        if offer_id in seen:
            return f"offer {offer_id} appears more than once"
        seen.add(offer_id)
        offer = offers.get(offer_id)
        if offer is None:
            return f"offer {offer_id} is no longer valid"
        if offer.framework_id != framework_id:
            return f"offer {offer_id} belongs to another framework"
        agent_of[offer_id] = offer.agent_id
    agents = set(agent_of.values())
    if len(agents) > 1:
        first, *rest = sorted(agent_of.items(), key=lambda kv: kv[1])
        other = next(kv for kv in rest if kv[1] != first[1])
        return (f"offers must all be on one agent: offer {first[0]} is on {first[1]}, "
                f"offer {other[0]} on {other[1]}")
    (agent_id,) = agents
    if agent_id not in available_agents:
        return f"agent {agent_id} is not available"
    return None


_SCALARS = frozenset({"cpus", "mem", "disk", "gpus"})


def validate_agent_resources(resources: Resources) -> str | None:
    """Why an agent's total resources are unusable, or ``None`` (Mesos' known types)."""
    for resource in resources:
        if resource.name in _SCALARS and not isinstance(resource.value, float):
            return f"resource {resource.name!r} must be a scalar"
        if resource.name == "ports" and not isinstance(resource.value, tuple):
            return "resource 'ports' must be ranges"
    return None


def validate_id(kind: str, value: str) -> str | None:
    """Mesos' id rules: not empty, not ``.`` or ``..``, no ``/``, spaces or control chars."""
    if not value:
        return f"{kind} is empty"
    if value in (".", ".."):
        return f"{kind} {value!r} is not allowed"
    if any(c == "/" or c.isspace() or not c.isprintable() for c in value):
        return f"{kind} {value!r} contains '/', spaces or control characters"
    return None


def validate_health_check(check: HealthCheck) -> str | None:
    """Why ``check`` is invalid, or ``None`` (Mesos' rules, plus ports and counts).

    Its type's info must be there (a command with a value, ``http``, ``tcp``); an HTTP
    scheme is http or https and a path starts with ``/``; durations are not negative
    (nor NaN or infinite).
    Beyond Mesos (whose proto types enforce some of it): ports are 1-65535 and
    ``consecutive_failures`` is at least 1.
    """
    kind = check.type
    if kind is HealthCheckType.COMMAND:
        if check.command is None:
            return "expecting 'command' to be set for COMMAND health check"
        if not check.command.value:
            what = "a shell command" if check.command.shell else "an executable path"
            return f"command health check must contain {what}"
    elif kind is HealthCheckType.HTTP:
        if check.http is None:
            return "expecting 'http' to be set for HTTP health check"
        if check.http.scheme not in ("http", "https"):
            return f"unsupported HTTP health check scheme: {check.http.scheme!r}"
        if not check.http.path.startswith("/"):
            return f"the path {check.http.path!r} of HTTP health check must start with '/'"
        if not 0 < check.http.port < 65536:
            return f"HTTP health check port {check.http.port} is not in 1-65535"
    elif kind is HealthCheckType.TCP:
        if check.tcp is None:
            return "expecting 'tcp' to be set for TCP health check"
        if not 0 < check.tcp.port < 65536:
            return f"TCP health check port {check.tcp.port} is not in 1-65535"
    for name in ("delay_seconds", "interval_seconds", "timeout_seconds",
                 "grace_period_seconds"):
        value = getattr(check, name)
        if not (value >= 0 and math.isfinite(value)):  # NaN fails both
            return f"expecting {name!r} to be non-negative (and finite), not {value}"
    if check.consecutive_failures < 1:
        return "expecting 'consecutive_failures' to be at least 1"
    return None


def validate_executor_type(executor: ExecutorInfo) -> str | None:
    """Mesos' ``executor::internal::validateType``: DEFAULT without, CUSTOM with a command."""
    if executor.type is ExecutorType.DEFAULT and executor.command is not None:
        return "'ExecutorInfo.command' must not be set for 'DEFAULT' executor"
    if executor.type is ExecutorType.CUSTOM and executor.command is None:
        return "'ExecutorInfo.command' must be set for 'CUSTOM' executor"
    return None


def validate_group_executor_resources(executor: ExecutorInfo) -> str | None:
    """What a task group's executor must have of its own (Mesos' group validation): it
    pays for the executor process, the default executor included."""
    resources, name = executor.resources, executor.executor_id
    cpus = resources.get("cpus") if "cpus" in resources.names() else None
    if cpus is None or cpus < MIN_CPUS:
        return (f"Executor '{name}' uses less CPUs ({_amount(cpus)}) than the minimum "
                f"required ({MIN_CPUS:g})")
    mem = resources.get("mem") if "mem" in resources.names() else None
    if mem is None or mem < MIN_MEM:
        return (f"Executor '{name}' uses less memory ({_amount(mem)}) than the minimum "
                f"required ({MIN_MEM:g}MB)")
    if "disk" not in resources.names():
        return f"Executor '{name}' uses no disk"
    return None


def _amount(value: float | None) -> str:
    return "None" if value is None else f"{value:g}"


@dataclass(frozen=True, slots=True)
class Accepted:
    """A task that passed: the role it is paid from and whether its executor is new."""

    role: str
    new_executor: ExecutorInfo | None


class TaskValidator:
    """Checks the tasks of one accept call in order, each against what is left.

    ``available``: the offered resources per role; ``live_task_ids``: ids of the
    framework's tasks the master still holds; ``executors``: the framework's executors
    running on the agent. Accepted tasks take their resources (and a new executor's)
    from ``available`` and register their executor for the following tasks.
    """

    def __init__(self, framework_id: str, agent_id: str, available: Mapping[str, Resources],
                 live_task_ids: Collection[str],
                 executors: Mapping[str, ExecutorInfo]) -> None:
        self.framework_id = framework_id
        self.agent_id = agent_id
        self.available = dict(available)
        self.live_task_ids = live_task_ids
        self.executors = dict(executors)
        self.seen: set[str] = set()

    def leftover(self) -> dict[str, Resources]:
        """Per role, what no accepted task took."""
        return {role: res for role, res in self.available.items() if res}

    def validate(self, task: TaskInfo, group_executor: ExecutorInfo | None = None
                 ) -> tuple[str | None, Accepted | None]:
        """``(error, None)`` or ``(None, Accepted)``; an accepted task is accounted for."""
        error = self._check(task, group_executor)
        if error is not None:
            return error, None
        executor = group_executor or task.executor
        new_executor = None
        needed = task.resources
        if executor is not None and executor.executor_id not in self.executors:
            new_executor = executor
            needed = needed + executor.resources
        role = next((r for r, res in sorted(self.available.items()) if res.contains(needed)),
                    None)
        if role is None:
            have = sum(self.available.values(), EMPTY)
            return f"task uses more resources ({needed}) than available ({have})", None
        self.available[role] = self.available[role] - needed
        self.seen.add(task.task_id)
        if new_executor is not None:
            self.executors[new_executor.executor_id] = new_executor
        return None, Accepted(role=role, new_executor=new_executor)

    def _check(self, task: TaskInfo, group_executor: ExecutorInfo | None) -> str | None:
        problem = validate_id("task id", task.task_id)
        if problem is not None:
            return problem
        if task.agent_id != self.agent_id:
            return f"task uses agent {task.agent_id!r}, but its offers are on {self.agent_id}"
        if task.task_id in self.seen or task.task_id in self.live_task_ids:
            return f"task has a duplicate id: {task.task_id}"
        if group_executor is not None:
            if task.executor is not None and task.executor != group_executor:
                return "a task of a group must not name another executor"
        elif (task.command is None) == (task.executor is None):
            return "a task needs exactly one of command or executor"
        if not task.resources:
            return "task uses no resources"
        if task.max_completion_time is not None and task.max_completion_time < 0:
            return "max_completion_time is negative"
        if task.kill_policy is not None and task.kill_policy.grace_period < 0:
            return "kill_policy.grace_period is negative"
        if task.health_check is not None:
            problem = validate_health_check(task.health_check)
            if problem is not None:
                return f"task uses an invalid health check: {problem}"
        if group_executor is not None:
            return (self._check_executor(group_executor)
                    or validate_group_executor_resources(group_executor))
        if task.executor is None:
            return None
        problem = self._check_executor(task.executor)
        if problem is not None:
            return problem
        if task.executor.type is not ExecutorType.CUSTOM:  # LAUNCH: no default executor
            return "'ExecutorInfo.type' must be 'CUSTOM'"
        return None

    def _check_executor(self, executor: ExecutorInfo) -> str | None:
        problem = validate_executor_type(executor) or validate_id(
            "executor id", executor.executor_id)
        if problem is not None:
            return problem
        if executor.framework_id and executor.framework_id != self.framework_id:
            return f"executor {executor.executor_id} names another framework"
        running = self.executors.get(executor.executor_id)
        if running is not None and running != _with_framework(executor, running.framework_id):
            return (f"executor {executor.executor_id} differs from the executor of that id "
                    f"already on the agent")
        return None


def _with_framework(executor: ExecutorInfo, framework_id: str) -> ExecutorInfo:
    """``executor`` with ``framework_id`` filled in, for comparison with a running one."""
    if executor.framework_id or not framework_id:
        return executor
    return dataclasses.replace(executor, framework_id=framework_id)
