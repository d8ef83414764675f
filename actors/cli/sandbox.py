"""Finding and reading a task's sandbox files through its agent's ``/files/read``.

``locate(master_base, task_id)`` finds the task in ``/master/state``, its agent's HTTP
base (``client.agent_base``) and the agent's ``work_dir`` (its ``/state`` flags), and
gives the sandbox path ``<work_dir>/agents/<agent>/frameworks/<framework>/executors/
<executor>/runs/latest``. ``read(base, path, offset, length)`` is one ``/files/read``.
Used by ``meseta cat`` and ``meseta tail``.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from actors.cli.client import CliError, agent_base, get_json

__all__ = ["Sandbox", "locate", "read"]


@dataclass(frozen=True)
class Sandbox:
    agent: str
    """The agent's HTTP base URL."""
    directory: str


def locate(master_base: str, task_id: str) -> Sandbox:
    state = get_json(f"{master_base}/master/state")
    task = None
    for fw in state.get("frameworks", []) + state.get("completed_frameworks", []):
        for t in fw.get("tasks", []) + fw.get("completed_tasks", []) + fw.get(
                "unreachable_tasks", []):
            if t.get("id") == task_id:
                task = t
    if task is None:
        raise CliError(f"no task {task_id!r} at the master")
    agent = next((a for a in state.get("agents", []) if a.get("id") == task.get("agent_id")),
                 None)
    if agent is None:
        raise CliError(f"the agent {task.get('agent_id')} of task {task_id} is not registered")
    base = agent_base(agent)
    work_dir = get_json(f"{base}/state").get("flags", {}).get("work_dir")
    if not work_dir:
        raise CliError(f"the agent at {base} does not say its work_dir")
    executor = task.get("executor_id") or task_id
    return Sandbox(base, f"{work_dir}/agents/{agent['id']}/frameworks/{task['framework_id']}"
                         f"/executors/{executor}/runs/latest")


def read(base: str, path: str, offset: int, length: int = -1) -> tuple[str, int]:
    """``(data, offset)`` of one ``/files/read``; offset -1 asks for the size only."""
    q = urllib.parse.urlencode({"path": path, "offset": offset, "length": length})
    reply = get_json(f"{base}/files/read?{q}")
    return str(reply.get("data", "")), int(reply.get("offset", 0))
