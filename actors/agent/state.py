"""``/agent/state``: the agent's books as JSON, shaped like Mesos' ``/slave(1)/state``.

``AgentActor`` serves it (also as ``/state``, the node's HTTP delegate being the agent)
by calling ``render_state`` on its own thread; operators, the lead's end-to-end tests
and the ``meseta`` CLI read it. Keys follow Mesos: ``id``, ``pid``, ``hostname``,
``resources`` (scalars as numbers, ranges as ``[a-b]`` text), ``attributes``,
``frameworks`` (each with ``executors`` and their ``tasks``, ``queued_tasks``,
``completed_tasks``), ``completed_frameworks``, ``flags``, ``version`` and
``start_time``. Executors, completed ones too, show their sandbox as ``directory``
(served by ``files`` until it is collected).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from actors.agent.executors import ExecutorRecord, FrameworkRecord
from actors.agent.tasks import TaskRecord
from actors.master.identity import VERSION
from actors.messages.info import AgentInfo, Attribute, ValueType
from actors.resources import Resources

__all__ = ["render_state", "resources_json"]


def resources_json(resources: Resources) -> dict[str, Any]:
    """Mesos' ``/state`` resource map: ``{"cpus": 2.0, "ports": "[31000-32000]"}``."""
    return resources.state_map()


def _attribute(attr: Attribute) -> Any:
    if attr.type is ValueType.SCALAR:
        return attr.scalar
    if attr.type is ValueType.RANGES:
        return "[" + ",".join(f"{r.begin}-{r.end}" for r in attr.ranges) + "]"
    if attr.type is ValueType.SET:
        return "{" + ",".join(sorted(attr.set)) + "}"
    return attr.text


def _task(task: TaskRecord, agent_id: str) -> dict[str, Any]:
    return {
        "id": task.task_id, "name": task.info.name, "framework_id": task.framework_id,
        "executor_id": task.executor_id, "agent_id": agent_id, "state": task.state.name,
        "resources": resources_json(task.info.resources),
        "slave_id": agent_id,
        "user": task.info.command.user if task.info.command is not None else "",
        "statuses": [{"state": s.state.name, "timestamp": s.timestamp,
                      "source": s.source.name if s.source else None,
                      "reason": s.reason.name if s.reason else None,
                      "message": s.message} for s in task.statuses],
    }


def _executor(executor: ExecutorRecord, agent_id: str) -> dict[str, Any]:
    tasks = executor.tasks.values()
    return {
        "id": executor.executor_id, "name": executor.info.name,
        "framework_id": executor.framework_id, "container": executor.run_id,
        "directory": executor.sandbox.directory, "state": executor.state.name,
        "pid": executor.os_pid, "exit_status": executor.exit_status,
        "resources": resources_json(executor.resources),
        "user": executor.info.command.user if executor.info.command is not None else "",
        "tasks": [_task(t, agent_id) for t in tasks if t.launched and not t.terminal],
        "queued_tasks": [_task(t, agent_id) for t in tasks if not t.launched and not t.terminal],
        "completed_tasks": [_task(t, agent_id) for t in tasks if t.terminal],
    }


def _framework(framework: FrameworkRecord, agent_id: str) -> dict[str, Any]:
    info = framework.info
    return {
        "id": info.id, "name": info.name, "user": info.user, "roles": list(info.roles),
        "checkpoint": info.checkpoint, "pid": str(framework.pid) if framework.pid else "",
        "terminating": framework.terminating,
        "executors": [_executor(e, agent_id) for e in framework.executors.values()],
        "completed_executors": [_executor(e, agent_id)
                                for e in framework.completed_executors],
    }


def render_state(*, agent_id: str, pid: str, info: AgentInfo, http_port: int | None,
                 registered: bool, master: str, flags: dict[str, Any],
                 frameworks: Iterable[FrameworkRecord],
                 completed: Iterable[FrameworkRecord], pending_updates: int,
                 start_time: float = 0.0) -> dict[str, Any]:
    used = Resources()
    framework_list = list(frameworks)
    for framework in framework_list:
        for executor in framework.executors.values():
            used = used + executor.resources
    return {
        "version": VERSION, "git_sha": "", "git_branch": "", "git_tag": "", "build_date": "",
        "build_user": "", "start_time": start_time,
        "id": agent_id, "pid": pid, "hostname": info.hostname, "port": info.port,
        "http_port": http_port, "master_hostname": master.rpartition("@")[2].rpartition(":")[0],
        "master": master, "registered": registered,
        "resources": resources_json(info.resources),
        "used_resources": resources_json(used),
        "reserved_resources": {role: resources_json(r)
                               for role, r in sorted(info.resources.reservations().items())},
        "unreserved_resources": resources_json(info.resources.unreserved()),
        "attributes": {a.name: _attribute(a) for a in info.attributes},
        "frameworks": [_framework(f, agent_id) for f in framework_list],
        "completed_frameworks": [_framework(f, agent_id) for f in completed],
        "pending_status_updates": pending_updates,
        "flags": flags,
    }
