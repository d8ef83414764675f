"""The master's HTTP endpoints: ``/master/state``, ``/master/health``, ``/master/tasks``,
``/master/redirect``.

``install_routes(master)`` is called by ``MasterActor.on_start``; the node serves each
route at ``/master/<path>`` (and at ``/<path>`` too, since the master's node delegates
to it) and runs the handler inside the actor, so it reads the books safely. The JSON
follows the shape of Mesos' ``/master/state`` (``src/master/http.cpp``), with
``activated_agents``-style names and the Mesos ``slaves`` aliases where they are cheap.
Operators, ``meseta`` CLI commands and tests read it. Issue 7 completes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.master.agents import AgentRecord
from actors.master.frameworks import FrameworkRecord
from actors.master.tasks import TaskRecord
from actors.messages.info import Attribute, ValueType
from actors.messages.tasks import TaskStatus
from actors.resources import Resources
from transport import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from actors.master.actor import MasterActor
    from actors.master.books import Books

__all__ = ["install_routes", "redirect", "resources_json", "state_json", "tasks_json"]


def install_routes(master: MasterActor) -> None:
    master.route("/state", lambda req: HttpResponse.json(state_json(master)))
    master.route("/state.json", lambda req: HttpResponse.json(state_json(master)))
    master.route("/health", lambda req: _health(master))
    master.route("/tasks", lambda req: _tasks_route(master.books, req))
    master.route("/redirect", lambda req: redirect(master))


def redirect(master: MasterActor) -> HttpResponse:
    """307 to the leading master's HTTP endpoint (``Location: //host:port``), from the
    leader itself or a non-leading master (the detected leader); 503 if none is known.

    As Mesos' ``/master/redirect``: the host is the leader's hostname, else its ip; the port
    its HTTP port (the MasterInfo's ``port``).
    """
    leader = master.leader
    if leader is None:
        return HttpResponse.text("No leader elected", 503)
    address = leader.address
    host = leader.hostname or (address.ip if address is not None else "")
    return HttpResponse(307, b"", "text/plain", {"Location": f"//{host}:{leader.port}"})


def _health(master: MasterActor) -> HttpResponse:
    """200 with an empty body from the leader; 503 ``{"elected": false, "leader": PID}``
    from a non-leading master (``leader``: the detected one, ``null`` if none)."""
    if master.elected:
        return HttpResponse.text("", 200)
    leader = master.leader
    return HttpResponse.json({"elected": False,
                              "leader": str(leader.pid) if leader is not None else None},
                             503)


def resources_json(resources: Resources) -> dict[str, Any]:
    """Mesos' JSON model of resources: ``{"cpus": 4.0, "mem": 4096.0, "ports": "[...]"}``."""
    out: dict[str, Any] = {"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
    out.update(resources.scalars())
    for name in sorted(resources.names() - set(out)):
        ranges = resources.ranges(name)
        if ranges:
            out[name] = "[" + ",".join(f"{b}-{e}" for b, e in ranges) + "]"
        else:
            out[name] = "{" + ",".join(sorted(resources.items_of(name))) + "}"
    return out


def _attributes_json(attributes: tuple[Attribute, ...]) -> dict[str, Any]:
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
    return {"state": status.state.name, "timestamp": status.timestamp,
            "source": status.source.name if status.source else None,
            "reason": status.reason.name if status.reason else None,
            "message": status.message}


def _task_json(task: TaskRecord) -> dict[str, Any]:
    return {"id": task.task_id, "name": task.info.name, "framework_id": task.framework_id,
            "executor_id": task.executor_id, "agent_id": task.agent_id,
            "slave_id": task.agent_id, "state": task.state.name, "role": task.role,
            "resources": resources_json(task.resources), "user": task.user,
            "statuses": [_status_json(s) for s in task.statuses]}


def _agent_json(books: Books, agent: AgentRecord) -> dict[str, Any]:
    return {"id": agent.id, "pid": str(agent.pid), "hostname": agent.info.hostname,
            "port": agent.info.port, "http_port": agent.info.http_port,
            "registered_time": agent.registered_time,
            "reregistered_time": agent.reregistered_time,
            "resources": resources_json(agent.total),
            "used_resources": resources_json(agent.used_resources()),
            "offered_resources": resources_json(books.offers.offered(agent_id=agent.id)),
            "attributes": _attributes_json(agent.info.attributes),
            "active": agent.active and agent.connected, "connected": agent.connected,
            "version": agent.version,
            "capabilities": sorted(c.name for c in agent.capabilities)}


def _framework_json(books: Books, framework: FrameworkRecord) -> dict[str, Any]:
    info = framework.info
    live = list(framework.tasks.values())
    return {"id": framework.id, "name": info.name, "pid": str(framework.pid or ""),
            "user": info.user, "roles": list(info.roles),
            "role": info.roles[0] if info.roles else "*",
            "suppressed_roles": sorted(framework.suppressed_roles),
            "principal": info.principal, "hostname": info.hostname,
            "webui_url": info.webui_url, "checkpoint": info.checkpoint,
            "failover_timeout": info.failover_timeout,
            "capabilities": sorted(c.name for c in info.capabilities),
            "active": framework.active, "connected": framework.connected,
            "registered_time": framework.registered_time,
            "reregistered_time": framework.reregistered_time,
            "unregistered_time": framework.unregistered_time,
            "resources": resources_json(framework.used_resources()),
            "used_resources": resources_json(framework.used_resources()),
            "offered_resources": resources_json(books.offers.offered(framework_id=framework.id)),
            "tasks": [_task_json(t) for t in live],
            "unreachable_tasks": [_task_json(t) for t in framework.unreachable_tasks.values()],
            "completed_tasks": [_task_json(t) for t in framework.completed_tasks],
            "offers": [{"id": o.id, "agent_id": o.agent_id, "slave_id": o.agent_id,
                        "role": o.role, "resources": resources_json(o.resources)}
                       for o in books.offers.of_framework(framework.id)],
            "executors": [{"executor_id": e.executor_id, "agent_id": agent_id,
                           "resources": resources_json(e.resources)}
                          for agent_id, execs in framework.executors.items()
                          for e in execs.values()]}


def state_json(master: MasterActor) -> dict[str, Any]:
    """The cluster as the master sees it (Mesos' ``/master/state`` shape)."""
    books = master.books
    own = books.master_info
    info = master.leader
    registered = list(books.agents.registered.values())
    activated = sum(1 for a in registered if a.active and a.connected)
    agents = [_agent_json(books, a) for a in registered]
    config = master.config
    return {
        "version": own.version, "id": own.id, "pid": str(master.pid),
        "hostname": own.hostname, "start_time": books.start_time,
        "elected": master.elected, "elected_time": master.elected_time,
        "leader": str(info.pid) if info is not None else None,
        "leader_info": None if info is None else {
            "id": info.id, "pid": str(info.pid), "hostname": info.hostname,
            "port": info.port, "ip": info.ip},
        "activated_agents": activated, "deactivated_agents": len(registered) - activated,
        "unreachable_agents": len(books.agents.unreachable),
        "activated_slaves": activated, "deactivated_slaves": len(registered) - activated,
        "unreachable_slaves": len(books.agents.unreachable),
        "flags": {"offer_timeout": config.offer_timeout,
                  "allocation_interval": config.allocation_interval,
                  "agent_ping_timeout": config.agent_ping_timeout,
                  "max_agent_ping_timeouts": config.max_agent_ping_timeouts},
        "agents": agents, "slaves": agents,
        "frameworks": [_framework_json(books, f) for f in books.frameworks.registered.values()],
        "completed_frameworks": [_framework_json(books, f) for f in books.frameworks.completed],
        "orphan_tasks": [], "unregistered_frameworks": [],
    }


def tasks_json(books: Books, framework_id: str | None = None) -> list[dict[str, Any]]:
    """Every task the master holds (live, unreachable and completed), optionally of one
    framework."""
    out = []
    everyone = list(books.frameworks.registered.values()) + list(books.frameworks.completed)
    for framework in everyone:
        if framework_id and framework.id != framework_id:
            continue
        for task in (list(framework.tasks.values()) + list(framework.unreachable_tasks.values())
                     + list(framework.completed_tasks)):
            out.append(_task_json(task))
    return out


def _tasks_route(books: Books, request: HttpRequest) -> HttpResponse:
    try:
        limit = int(request.query.get("limit", "100"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return HttpResponse.text("limit and offset must be integers", 400)
    tasks = tasks_json(books, request.query.get("framework_id"))
    return HttpResponse.json({"tasks": tasks[offset:offset + limit]})
