"""The bodies of the master's JSON endpoints, as pure functions of its books.

``state_json`` (``/master/state``), ``state_summary_json`` (``/master/state-summary``),
``tasks_json`` (``/master/tasks``), ``frameworks_json`` (``/master/frameworks``),
``agents_json`` (``/master/agents``, and ``/master/slaves`` with Mesos' ``slaves`` key),
``roles_json`` (``/master/roles``) and ``flags_json`` (``/master/flags``). ``http`` calls
them on the master's thread and wraps them in responses; tests call them directly. The
shapes are Mesos' (``src/master/http.cpp``, ``docs/endpoints/master/*.md``) with its v1
names (``agents``), keeping the v0 ``slaves`` aliases where Mesos tools read them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from actors.master.config import MasterConfig
from actors.master.tasks import TaskRecord
from actors.master.views import (
    agent_json,
    attributes_json,
    framework_json,
    resources_json,
    task_json,
)
from actors.messages.info import MasterInfo
from actors.messages.task_state import TaskState
from actors.resources import EMPTY, Resources
from transport.pid import PID

if TYPE_CHECKING:
    from actors.master.books import Books
    from actors.master.frameworks import FrameworkRecord

__all__ = [
    "MasterView",
    "agents_json",
    "all_tasks",
    "flags_json",
    "frameworks_json",
    "roles_json",
    "state_json",
    "state_summary_json",
    "tasks_json",
]


class MasterView(Protocol):
    """What the endpoints read of the master (``MasterActor`` has it all)."""

    books: Books
    config: MasterConfig
    pid: PID
    elected: bool
    elected_time: float | None
    leader: MasterInfo | None


DURATIONS = frozenset({"offer_timeout", "allocation_interval", "agent_ping_timeout",
                       "agent_reregister_timeout", "zk_session_timeout",
                       "registry_gc_interval", "registry_max_agent_age"})
"""Flags shown with Mesos' duration unit (``"1.0secs"``), as the agent's ``/flags``."""


def flags_json(config: MasterConfig) -> dict[str, str]:
    """Every flag as a string, as Mesos' ``flags`` object (``""`` for unset ones)."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == "security":
            out.update(config.security.flags_json())
            continue
        out[f.name] = ("" if value is None else str(value).lower() if isinstance(value, bool)
                       else f"{value}secs" if f.name in DURATIONS else str(value))
    out["http_port"] = str(config.effective_http_port)
    out["registry"] = config.effective_registry
    out["credentials"] = ",".join(sorted(config.credentials))  # the principals, never secrets
    return out


def _leader_json(info: MasterInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {"id": info.id, "pid": str(info.pid), "hostname": info.hostname,
            "port": info.port, "ip": info.ip, "version": info.version,
            "address": None if info.address is None else {
                "hostname": info.address.hostname, "ip": info.address.ip,
                "port": info.address.port}}


def state_json(master: MasterView) -> dict[str, Any]:
    """The cluster as the master sees it (Mesos' ``/master/state`` shape)."""
    books = master.books
    own = books.master_info
    registered = list(books.agents.registered.values())
    activated = sum(1 for a in registered if a.active and a.connected)
    agents = [agent_json(books, a) for a in registered]
    deactivated = len(registered) - activated
    return {
        "version": own.version, "git_sha": "", "git_branch": "", "git_tag": "",
        "build_date": "", "build_user": "",
        "id": own.id, "pid": str(master.pid), "hostname": own.hostname,
        "start_time": books.start_time,
        "elected": master.elected, "elected_time": master.elected_time,
        "leader": str(master.leader.pid) if master.leader is not None else None,
        "leader_info": _leader_json(master.leader),
        "activated_agents": activated, "deactivated_agents": deactivated,
        "unreachable_agents": len(books.agents.unreachable),
        "activated_slaves": activated, "deactivated_slaves": deactivated,
        "unreachable_slaves": len(books.agents.unreachable),
        "flags": flags_json(master.config),
        "agents": agents, "slaves": agents,
        "frameworks": [framework_json(books, f) for f in books.frameworks.registered.values()],
        "completed_frameworks": [framework_json(books, f) for f in books.frameworks.completed],
        "orphan_tasks": [], "unregistered_frameworks": [],
    }


def _state_counts(tasks: Iterable[TaskRecord]) -> dict[str, int]:
    counts = Counter(t.state.name for t in tasks)
    return {s.name: counts.get(s.name, 0) for s in TaskState}


def state_summary_json(master: MasterView) -> dict[str, Any]:
    """Mesos' ``/master/state-summary``: agents and frameworks without their tasks, with
    task counts by state (``TASK_RUNNING: 3``...) and who runs where."""
    books = master.books
    agents = []
    for agent in books.agents.registered.values():
        body = agent_json(books, agent)
        body.update(_state_counts(agent.tasks.values()))
        body["framework_ids"] = sorted({fid for fid, _ in agent.tasks}
                                       | {fid for fid, e in agent.executors.items() if e})
        agents.append(body)
    frameworks = []
    for framework in books.frameworks.registered.values():
        body = framework_json(books, framework)
        for key in ("tasks", "unreachable_tasks", "completed_tasks", "offers", "executors"):
            del body[key]
        body.update(_state_counts(list(framework.tasks.values())
                                  + list(framework.completed_tasks)))
        body["agent_ids"] = body["slave_ids"] = sorted(framework.agents_in_use())
        frameworks.append(body)
    return {"hostname": books.master_info.hostname, "cluster": "",
            "agents": agents, "slaves": agents, "frameworks": frameworks}


def all_tasks(books: Books) -> list[TaskRecord]:
    """Every task the master holds: live, unreachable and completed, of every framework."""
    out: list[TaskRecord] = []
    everyone = list(books.frameworks.registered.values()) + list(books.frameworks.completed)
    for framework in everyone:
        out += list(framework.tasks.values())
        out += list(framework.unreachable_tasks.values())
        out += list(framework.completed_tasks)
    return out


def _started(task: TaskRecord) -> float:
    if not task.statuses:
        return 0.0
    return task.statuses[0].timestamp or 0.0


def tasks_json(books: Books, framework_id: str | None = None, task_id: str | None = None,
               *, limit: int | None = None, offset: int = 0, order: str = "desc"
               ) -> list[dict[str, Any]]:
    """Mesos' ``/master/tasks``: the tasks (of one framework, of one id), ordered by their
    first status' time (``asc`` or ``desc``), from ``offset``, at most ``limit``."""
    tasks = [t for t in all_tasks(books)
             if (not framework_id or t.framework_id == framework_id)
             and (not task_id or t.task_id == task_id)]
    tasks.sort(key=_started, reverse=order == "desc")
    end = None if limit is None else offset + limit
    return [task_json(t) for t in tasks[offset:end]]


def frameworks_json(books: Books, framework_id: str | None = None) -> dict[str, Any]:
    """Mesos' ``/master/frameworks``: registered and completed frameworks (one, with
    ``framework_id``)."""
    def keep(f: FrameworkRecord) -> bool:
        return not framework_id or f.id == framework_id

    return {"frameworks": [framework_json(books, f)
                           for f in books.frameworks.registered.values() if keep(f)],
            "completed_frameworks": [framework_json(books, f)
                                     for f in books.frameworks.completed if keep(f)],
            "unregistered_frameworks": []}


def agents_json(books: Books, key: str = "agents", agent_id: str | None = None
                ) -> dict[str, Any]:
    """Mesos' ``/master/slaves`` body under ``key`` (``agents``, or ``slaves``), with the
    ids of agents recovered from the registry that have not re-registered yet."""
    agents = [agent_json(books, a) for a in books.agents.registered.values()
              if not agent_id or a.id == agent_id]
    recovered = [{"id": info.id, "hostname": info.hostname, "port": info.port,
                  "resources": resources_json(info.resources),
                  "attributes": attributes_json(info.attributes)}
                 for info in books.agents.recovered.values()
                 if not agent_id or info.id == agent_id]
    return {key: agents, f"recovered_{key}": recovered}


def roles_json(books: Books, weights: dict[str, float] | None = None) -> dict[str, Any]:
    """Mesos' ``/master/roles``: every role with frameworks or reservations, its weight
    (1.0 unless set), frameworks, and the resources allocated, offered and reserved to it."""
    weights = weights or {}
    frameworks: dict[str, list[str]] = {}
    allocated: dict[str, Resources] = {}
    offered: dict[str, Resources] = {}
    reserved: dict[str, Resources] = {}
    for framework in books.frameworks.registered.values():
        for role in framework.info.roles or ("*",):
            frameworks.setdefault(role, []).append(framework.id)
        for task in framework.tasks.values():
            allocated[task.role] = allocated.get(task.role, EMPTY) + task.used
    for offer in books.offers.offers.values():
        offered[offer.role] = offered.get(offer.role, EMPTY) + offer.resources
    for agent in books.agents.registered.values():
        for role, res in agent.total.reservations().items():
            reserved[role] = reserved.get(role, EMPTY) + res
    names = sorted(set(frameworks) | set(reserved) | set(weights))
    roles = []
    for name in names:
        used = allocated.get(name, EMPTY)
        held = offered.get(name, EMPTY)
        roles.append({"name": name, "weight": weights.get(name, 1.0),
                      "frameworks": sorted(frameworks.get(name, [])),
                      "resources": resources_json(used + held),
                      "allocated": resources_json(used), "offered": resources_json(held),
                      "reserved": resources_json(reserved.get(name, EMPTY))})
    return {"roles": roles}
