"""What a caller of ``/state`` may see: Mesos' ``view_frameworks``, ``view_tasks`` and
``view_executors`` applied to the JSON the master and the agent render.

``visible_frameworks(acls, principal, frameworks)`` keeps the frameworks whose user the
principal may view, and inside each the tasks (``tasks``, ``queued_tasks``,
``unreachable_tasks``, ``completed_tasks``: the task's ``user``, else the framework's)
and executors (``executors``, ``completed_executors``: the executor's ``user``, else
the framework's) it may view. ``visible_tasks`` does it for ``/master/tasks``' flat
list (a task is also hidden with its framework); ``visible_state`` cuts a whole
``/state``-like body: its ``frameworks`` and ``completed_frameworks``, and its ``flags``
unless ``view_flags`` allows. Pure; the frameworks' dicts are not changed (filtered
copies are returned).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.authorization.acls import ACLs

__all__ = ["visible_frameworks", "visible_state", "visible_tasks"]

_TASK_KEYS = ("tasks", "queued_tasks", "unreachable_tasks", "completed_tasks")
_EXECUTOR_KEYS = ("executors", "completed_executors")


def _tasks(acls: ACLs, principal: str | None, owner: str,
           body: dict[str, Any]) -> dict[str, Any]:
    for key in _TASK_KEYS:
        if key in body:
            body[key] = [t for t in body[key] if acls.authorized(
                "view_tasks", principal, t.get("user") or owner)]
    return body


def visible_frameworks(acls: ACLs, principal: str | None,
                       frameworks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The frameworks (and their tasks and executors) ``principal`` may view."""
    if not acls.restrictive:
        return frameworks
    out = []
    for framework in frameworks:
        owner = str(framework.get("user", ""))
        if not acls.authorized("view_frameworks", principal, owner):
            continue
        body = _tasks(acls, principal, owner, dict(framework))
        for key in _EXECUTOR_KEYS:
            if key in body:
                body[key] = [_tasks(acls, principal, e.get("user") or owner, dict(e))
                             for e in body[key] if acls.authorized(
                                 "view_executors", principal, e.get("user") or owner)]
        out.append(body)
    return out


def visible_tasks(acls: ACLs, principal: str | None, tasks: list[dict[str, Any]],
                  framework_users: Mapping[str, str]) -> list[dict[str, Any]]:
    """``/master/tasks``: the tasks whose framework and user ``principal`` may view."""
    if not acls.restrictive:
        return tasks
    out = []
    for task in tasks:
        owner = framework_users.get(str(task.get("framework_id")), "")
        if (acls.authorized("view_frameworks", principal, owner)
                and acls.authorized("view_tasks", principal, task.get("user") or owner)):
            out.append(task)
    return out


def visible_state(acls: ACLs, principal: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (``/state``, ``/frameworks``...) cut to what ``principal`` may view."""
    for key in ("frameworks", "completed_frameworks"):
        if key in body:
            body[key] = visible_frameworks(acls, principal, body[key])
    if "flags" in body and not acls.authorized("view_flags", principal, None):
        del body["flags"]
    return body
