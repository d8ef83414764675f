"""HTTP scheduler -> master: a v1 ``scheduler::Call`` (JSON) decoded into the native message.

``decode_call(body)`` parses and validates one Call as Mesos does
(``include/mesos/v1/scheduler/scheduler.proto``, ``src/master/validation.cpp``) and
returns a ``Call``: its type, framework id and the very message a native driver sends for
it (``AcceptOffers``, ``KillTask``...), which ``route`` hands to the master's usual
handler. ``CallError`` carries the HTTP status (400, or 501 for the few call types
Meseta does not implement) and Mesos' wording. Pure: no I/O, no actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.messages.agent import ShutdownExecutor
from actors.messages.framework import (
    AcceptInverseOffers,
    AcceptOffers,
    DeclineInverseOffers,
    DeclineOffers,
    FrameworkToExecutor,
    KillTask,
    ReconcileTasks,
    RegisterFramework,
    ResourceRequest,
    ReviveOffers,
    StatusUpdateAcknowledgement,
    SuppressOffers,
    UnregisterFramework,
    UpdateFramework,
)
from actors.messages.info import FrameworkInfo
from actors.messages.offers import Filters, Operation, Request
from actors.messages.task_state import TaskState
from actors.messages.tasks import KillPolicy, TaskStatus
from actors.messages.v1json import bytes_from_v1, from_v1
from transport.http import parse_json

__all__ = ["Call", "CallError", "decode_call"]

UNIMPLEMENTED = frozenset({"ACKNOWLEDGE_OPERATION_STATUS", "RECONCILE_OPERATIONS"})
"""Call types of the v1 API Meseta has nothing for (no operation feedback): answered 501."""


class CallError(ValueError):
    """A Call the master refuses before handling it: ``status`` and Mesos' message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Call:
    """A decoded Call: ``message`` is what the native driver would have sent."""

    type: str
    framework_id: str
    message: Any


def _id(data: Any, key: str, where: str) -> str:
    raw = data.get(key) if isinstance(data, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), str):
        raise ValueError(f"{where}.{key}: expecting an id object {{\"value\": ...}}")
    return raw["value"]


def _ids(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise ValueError(f"{where}.{key}: expecting a list")
    return tuple(_id({key: r}, key, where) for r in raw)


def _filters(data: dict[str, Any], where: str) -> Filters:
    return from_v1(Filters, data["filters"]) if "filters" in data else Filters()


def _roles(data: dict[str, Any]) -> tuple[str, ...]:
    roles = data.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ValueError("roles: expecting a list of strings")
    return tuple(roles)


def _subscribe(fid: str, d: dict[str, Any]) -> Any:
    if "framework_info" not in d:
        raise ValueError("Expecting 'subscribe.framework_info' to be present")
    info = from_v1(FrameworkInfo, d["framework_info"])
    if fid and fid != info.id:
        raise ValueError("'framework_id' differs from 'subscribe.framework_info.id'")
    return RegisterFramework(framework_info=info, suppressed_roles=_roles(
        {"roles": d.get("suppressed_roles", [])}))


def _accept(fid: str, d: dict[str, Any]) -> Any:
    ops = d.get("operations", [])
    if not isinstance(ops, list):
        raise ValueError("accept.operations: expecting a list")
    return AcceptOffers(framework_id=fid, offer_ids=_ids(d, "offer_ids", "accept"),
                        operations=tuple(from_v1(Operation, o) for o in ops),
                        filters=_filters(d, "accept"))


def _kill(fid: str, d: dict[str, Any]) -> Any:
    policy = from_v1(KillPolicy, d["kill_policy"]) if "kill_policy" in d else None
    return KillTask(framework_id=fid, task_id=_id(d, "task_id", "kill"),
                    agent_id=_id(d, "agent_id", "kill") if "agent_id" in d else "",
                    kill_policy=policy)


def _reconcile(fid: str, d: dict[str, Any]) -> Any:
    tasks = d.get("tasks", [])
    if not isinstance(tasks, list):
        raise ValueError("reconcile.tasks: expecting a list")
    return ReconcileTasks(framework_id=fid, statuses=tuple(
        TaskStatus(task_id=_id(t, "task_id", "reconcile.tasks"), state=TaskState.TASK_STAGING,
                   agent_id=_id(t, "agent_id", "reconcile.tasks") if "agent_id" in t else "")
        for t in tasks))


def _message(fid: str, d: dict[str, Any]) -> Any:
    return FrameworkToExecutor(agent_id=_id(d, "agent_id", "message"), framework_id=fid,
                               executor_id=_id(d, "executor_id", "message"),
                               data=bytes_from_v1(d.get("data", ""), "message.data"))


def _acknowledge(fid: str, d: dict[str, Any]) -> Any:
    if "uuid" not in d:
        raise ValueError("Expecting 'acknowledge.uuid' to be present")
    return StatusUpdateAcknowledgement(
        agent_id=_id(d, "agent_id", "acknowledge"), framework_id=fid,
        task_id=_id(d, "task_id", "acknowledge"), uuid=bytes_from_v1(d["uuid"], "acknowledge.uuid"))


def _update_framework(fid: str, d: dict[str, Any]) -> Any:
    if "framework_info" not in d:
        raise ValueError("Expecting 'update_framework.framework_info' to be present")
    info = from_v1(FrameworkInfo, d["framework_info"])
    if info.id != fid:
        raise ValueError("'framework_id' differs from 'update_framework.framework_info.id'")
    return UpdateFramework(framework_id=fid, framework_info=info, suppressed_roles=_roles(
        {"roles": d.get("suppressed_roles", [])}))


_Builder = Callable[[str, dict[str, Any]], Any]

_CALLS: dict[str, tuple[str | None, _Builder]] = {
    "SUBSCRIBE": ("subscribe", _subscribe),
    "TEARDOWN": (None, lambda fid, d: UnregisterFramework(framework_id=fid)),
    "ACCEPT": ("accept", _accept),
    "DECLINE": ("decline", lambda fid, d: DeclineOffers(
        framework_id=fid, offer_ids=_ids(d, "offer_ids", "decline"),
        filters=_filters(d, "decline"))),
    "ACCEPT_INVERSE_OFFERS": ("accept_inverse_offers", lambda fid, d: AcceptInverseOffers(
        framework_id=fid, inverse_offer_ids=_ids(d, "inverse_offer_ids", "accept_inverse_offers"),
        filters=_filters(d, "accept_inverse_offers"))),
    "DECLINE_INVERSE_OFFERS": ("decline_inverse_offers", lambda fid, d: DeclineInverseOffers(
        framework_id=fid,
        inverse_offer_ids=_ids(d, "inverse_offer_ids", "decline_inverse_offers"),
        filters=_filters(d, "decline_inverse_offers"))),
    "REVIVE": ("revive?", lambda fid, d: ReviveOffers(framework_id=fid, roles=_roles(d))),
    "SUPPRESS": ("suppress?", lambda fid, d: SuppressOffers(framework_id=fid, roles=_roles(d))),
    "KILL": ("kill", _kill),
    "SHUTDOWN": ("shutdown", lambda fid, d: ShutdownExecutor(
        executor_id=_id(d, "executor_id", "shutdown"), framework_id=fid,
        agent_id=_id(d, "agent_id", "shutdown"))),
    "ACKNOWLEDGE": ("acknowledge", _acknowledge),
    "RECONCILE": ("reconcile", _reconcile),
    "MESSAGE": ("message", _message),
    "REQUEST": ("request", lambda fid, d: ResourceRequest(framework_id=fid, requests=tuple(
        from_v1(Request, r) for r in d.get("requests", [])))),
    "UPDATE_FRAMEWORK": ("update_framework", _update_framework),
}
"""``type -> (its field in the Call, builder)``; ``field?``: optional, ``None``: none."""


def decode_call(body: bytes) -> Call:
    """The Call in a JSON request body; ``CallError`` (400/501) if it is not usable."""
    try:
        data = parse_json(body)
    except ValueError as exc:
        raise CallError(400, f"Failed to parse body into JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CallError(400, "Failed to convert JSON into Call protobuf: not an object")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind or kind == "UNKNOWN":
        raise CallError(400, "Failed to validate scheduler::Call: Expecting 'type' to be present")
    if kind in UNIMPLEMENTED:
        raise CallError(501, f"Call type {kind} is not supported by this master")
    if kind not in _CALLS:
        raise CallError(400, f"Failed to convert JSON into Call protobuf: unknown type {kind!r}")
    field, build = _CALLS[kind]
    try:
        fid = _id(data, "framework_id", "call") if "framework_id" in data else ""
        if not fid and kind != "SUBSCRIBE":
            raise ValueError("Expecting 'framework_id' to be present")
        name = (field or "").rstrip("?")
        if field is not None and not field.endswith("?") and name not in data:
            raise ValueError(f"Expecting '{name}' to be present")
        payload = data.get(name, {}) if name else {}
        if not isinstance(payload, dict):
            raise ValueError(f"'{name}' must be an object")
        msg = build(fid, payload)
    except ValueError as exc:
        raise CallError(400, f"Failed to validate scheduler::Call: {exc}") from None
    return Call(type=kind, framework_id=fid or getattr(msg, "framework_id", ""), message=msg)
