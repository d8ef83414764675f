"""JSON views of the master's records, in Mesos' shapes (``src/master/http.cpp``).

Pure functions of one record (and the ``Books`` for what spans records: offered
resources). ``endpoints`` assembles them into the bodies of ``/master/state``,
``/master/frameworks``, ``/master/agents``...; nothing here touches HTTP or the actor.
Field names are Mesos 1.x' (``agent_id``, with the ``slave_id`` alias where Mesos' v0
JSON says so); resources are Mesos' map (scalars as numbers, ranges as ``[a-b]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.master.agents import AgentRecord
from actors.master.frameworks import FrameworkRecord
from actors.master.tasks import TaskRecord
from actors.messages.info import Attribute, ValueType
from actors.messages.offers import Offer
from actors.messages.tasks import TaskStatus
from actors.resources import Resources

if TYPE_CHECKING:
    from actors.master.books import Books

__all__ = [
    "agent_json",
    "attributes_json",
    "framework_json",
    "offer_json",
    "reserved_json",
    "resources_json",
    "task_json",
]


def resources_json(resources: Resources) -> dict[str, Any]:
    """Mesos' JSON model of resources: ``{"cpus": 4.0, "mem": 4096.0, "ports": "[...]"}``."""
    out: dict[str, Any] = {"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
    out.update(resources.state_map())
    return out


def reserved_json(resources: Resources) -> dict[str, Any]:
    """``role -> resources`` of the reserved part (Mesos' ``reserved_resources``)."""
    return {role: resources_json(r) for role, r in sorted(resources.reservations().items())}


def attributes_json(attributes: tuple[Attribute, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in attributes:
        if a.type is ValueType.SCALAR:
            out[a.name] = a.scalar
        elif a.type is ValueType.RANGES:
            out[a.name] = "[" + ",".join(f"{r.begin}-{r.end}" for r in a.ranges) + "]"
        elif a.type is ValueType.SET:
            out[a.name] = "{" + ",".join(sorted(a.set)) + "}"
        else:
            out[a.name] = a.text
    return out


def _status_json(status: TaskStatus) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": status.state.name, "timestamp": status.timestamp,
        "source": status.source.name if status.source else None,
        "reason": status.reason.name if status.reason else None,
        "message": status.message}
    if status.healthy is not None:
        out["healthy"] = status.healthy
    return out


def task_json(task: TaskRecord) -> dict[str, Any]:
    """Mesos' task: ``id``, ``name``, ``framework_id``, ``executor_id``, ``agent_id``,
    ``state``, ``resources``, ``statuses``..."""
    return {"id": task.task_id, "name": task.info.name, "framework_id": task.framework_id,
            "executor_id": task.executor_id, "agent_id": task.agent_id,
            "slave_id": task.agent_id, "state": task.state.name, "role": task.role,
            "resources": resources_json(task.resources), "user": task.user,
            "statuses": [_status_json(s) for s in task.statuses]}


def offer_json(offer: Offer) -> dict[str, Any]:
    return {"id": offer.id, "framework_id": offer.framework_id, "agent_id": offer.agent_id,
            "slave_id": offer.agent_id, "role": offer.role,
            "resources": resources_json(offer.resources)}


def agent_json(books: Books, agent: AgentRecord) -> dict[str, Any]:
    """Mesos' agent: its total, used, offered, reserved and unreserved resources..."""
    total = agent.total
    return {"id": agent.id, "pid": str(agent.pid), "hostname": agent.info.hostname,
            "port": agent.info.port, "http_port": agent.info.http_port,
            "registered_time": agent.registered_time,
            "reregistered_time": agent.reregistered_time,
            "resources": resources_json(total),
            "used_resources": resources_json(agent.used_resources()),
            "offered_resources": resources_json(books.offers.offered(agent_id=agent.id)),
            "reserved_resources": reserved_json(total),
            "unreserved_resources": resources_json(total.unreserved()),
            "attributes": attributes_json(agent.info.attributes),
            "active": agent.active and agent.connected, "connected": agent.connected,
            "version": agent.version,
            "capabilities": sorted(c.name for c in agent.capabilities)}


def framework_json(books: Books, framework: FrameworkRecord) -> dict[str, Any]:
    """Mesos' framework: its info, state, tasks (live, unreachable, completed), offers,
    executors and used/offered resources."""
    info = framework.info
    used = resources_json(framework.used_resources())
    pid = {} if framework.http else {"pid": str(framework.pid or "")}  # Mesos: PID-based only
    return {"id": framework.id, "name": info.name, **pid, "user": info.user,
            "roles": list(info.roles),
            "role": info.roles[0] if info.roles else "*",
            "suppressed_roles": sorted(framework.suppressed_roles),
            "principal": info.principal, "hostname": info.hostname,
            "webui_url": info.webui_url, "checkpoint": info.checkpoint,
            "failover_timeout": info.failover_timeout,
            "capabilities": sorted(c.name for c in info.capabilities),
            "active": framework.active, "connected": framework.connected,
            "recovered": False,
            "registered_time": framework.registered_time,
            "reregistered_time": framework.reregistered_time,
            "unregistered_time": framework.unregistered_time,
            "resources": used, "used_resources": used,
            "offered_resources": resources_json(books.offers.offered(framework_id=framework.id)),
            "tasks": [task_json(t) for t in framework.tasks.values()],
            "unreachable_tasks": [task_json(t) for t in framework.unreachable_tasks.values()],
            "completed_tasks": [task_json(t) for t in framework.completed_tasks],
            "offers": [offer_json(o) for o in books.offers.of_framework(framework.id)],
            "executors": [{"executor_id": e.executor_id, "name": e.name,
                           "framework_id": framework.id, "agent_id": agent_id,
                           "slave_id": agent_id, "resources": resources_json(e.resources),
                           "user": e.command.user if e.command is not None else ""}
                          for agent_id, execs in framework.executors.items()
                          for e in execs.values()]}
