"""The service framework's view of its tasks, and how one is cut from an offer.

``ServiceTask`` is what the scheduler remembers of each instance it launched or
adopted: its app and app version, agent (and the agent's facts, for constraints),
host ports, latest state and health, and whether we asked for it to be killed.
Task ids are Marathon's ``<app id>.<uuid>`` (``/`` in the app id becomes ``_``), so a
task reported by reconciliation names its app (``app_of``).

``take(resources, app, role)`` picks what one instance needs from what an offer has
left (unreserved first, else reserved to ``role``), including ``app.ports`` host
ports; ``task_info`` builds the ``TaskInfo`` with Marathon's port variables
(``PORT0``…, ``PORT``, ``PORTS``) in its environment. Pure; used by the planner and
the scheduler.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from actors.messages import CommandInfo, Environment, TaskInfo, TaskState
from actors.resources import DEFAULT_ROLE, Resources
from frameworks.service.constraints import AgentFacts
from frameworks.service.spec import AppSpec

__all__ = ["ServiceTask", "app_of", "is_ready", "new_task_id", "take", "task_info"]


@dataclass
class ServiceTask:
    """One instance of an app, as the scheduler knows it."""

    task_id: str
    app_id: str
    version: str
    agent_id: str
    facts: AgentFacts = field(default_factory=AgentFacts)
    ports: tuple[int, ...] = ()
    launched_at: float = 0.0
    state: TaskState | None = None
    """Latest state reported; None until the first update."""
    healthy: bool | None = None
    ready_since: float | None = None
    """When it became ready (running, and healthy if the app has a health check)."""
    killing: bool = False
    """We asked for a kill (scale down, upgrade, removal): no longer counts as an instance."""
    kill_sent_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Marathon's task shape (``GET /v2/apps/<id>/tasks``), plus what we persist."""
        return {"id": self.task_id, "appId": "/" + self.app_id, "version": self.version,
                "agentId": self.agent_id, "slaveId": self.agent_id,
                "host": self.facts.hostname, "attributes": self.facts.attributes,
                "ports": list(self.ports), "launchedAt": self.launched_at,
                "state": self.state.name if self.state else "TASK_STAGING",
                "healthy": self.healthy, "killing": self.killing}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceTask:
        return cls(task_id=str(data["id"]), app_id=str(data["appId"]).strip("/"),
                   version=str(data.get("version", "")), agent_id=str(data["agentId"]),
                   facts=AgentFacts(str(data.get("host", "")),
                                    {str(k): str(v) for k, v in
                                     dict(data.get("attributes", {})).items()}),
                   ports=tuple(int(p) for p in data.get("ports", ())),
                   launched_at=float(data.get("launchedAt", 0.0)),
                   killing=bool(data.get("killing", False)))


def _key(app_id: str) -> str:
    return app_id.replace("/", "_")


def new_task_id(app_id: str) -> str:
    return f"{_key(app_id)}.{uuid.uuid4()}"


def app_of(task_id: str, app_ids: Iterable[str]) -> str | None:
    """The app a task id belongs to, if it is one of ``app_ids``."""
    prefix = task_id.rpartition(".")[0]
    for app_id in app_ids:
        if prefix and _key(app_id) == prefix:
            return app_id
    return None


def is_ready(task: ServiceTask, app: AppSpec) -> bool:
    """Running, and healthy when the app has a health check (Marathon's readiness)."""
    return (task.state is TaskState.TASK_RUNNING and not task.killing
            and (not app.health_checks or task.healthy is True))


def take(left: Resources, app: AppSpec, role: str) -> tuple[Resources, tuple[int, ...]] | None:
    """What one instance of ``app`` takes from ``left``, and its host ports; None if short."""
    scalars = {"cpus": app.cpus, "mem": app.mem}
    if app.disk > 0:
        scalars["disk"] = app.disk
    # unreserved first, then reserved to the app's role (never another role's)
    need = left.allocatable_to(role or DEFAULT_ROLE).find(scalars)
    if need is None:
        return None
    if app.ports == 0:
        return need, ()
    for r in [DEFAULT_ROLE] + ([role] if role and role != DEFAULT_ROLE else []):
        pool = left.unreserved() if r == DEFAULT_ROLE else left.reserved(r)
        ports = _first_ports(pool.ranges("ports"), app.ports)
        if ports is None:
            continue
        label = "ports" if r == DEFAULT_ROLE else f"ports({r})"
        wanted = Resources.parse(f"{label}:[" + ",".join(f"{p}-{p}" for p in ports) + "]")
        if left.contains(need + wanted):
            return need + wanted, ports
    return None


def _first_ports(ranges: Iterable[tuple[int, int]], count: int) -> tuple[int, ...] | None:
    out: list[int] = []
    for begin, end in ranges:
        for port in range(begin, end + 1):
            out.append(port)
            if len(out) == count:
                return tuple(out)
    return None


def task_info(app: AppSpec, task_id: str, agent_id: str, resources: Resources,
              ports: tuple[int, ...]) -> TaskInfo:
    """The command task for one instance, with the app's env and the port variables."""
    env = dict(app.env)
    for i, port in enumerate(ports):
        env[f"PORT{i}"] = str(port)
    if ports:
        env["PORT"] = str(ports[0])
        env["PORTS"] = ",".join(str(p) for p in ports)
    env["MARATHON_APP_ID"] = "/" + app.id
    env["MARATHON_APP_VERSION"] = app.version
    health = app.health_checks[0].to_mesos(list(ports)) if app.health_checks else None
    return TaskInfo(name=app.id.replace("/", "."), task_id=task_id, agent_id=agent_id,
                    resources=resources, health_check=health,
                    command=CommandInfo(value=app.cmd, environment=Environment.of(env)))
