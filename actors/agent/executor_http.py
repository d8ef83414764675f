"""The v1 executor HTTP API's wire: calls in, events out (Mesos' ``v1/executor.proto``).

Pure pieces that ``executor_api`` (the agent's ``POST /api/v1/executor`` route) uses:

- ``parse_call(body)``: a JSON ``Call`` (SUBSCRIBE, UPDATE, MESSAGE, HEARTBEAT) to an
  ``ExecutorCall``, validated as Mesos' ``validateExecutorCall`` does (``CallError`` with
  its message: the route answers 400);
- ``media_problem`` / ``accepts_json``: the Content-Type and Accept rules (JSON only);
- ``executor_event(msg, ...)``: what the agent says to a native executor (``RunTask``,
  ``KillTask``, ``StatusUpdateAcknowledgement``, ``FrameworkToExecutor``,
  ``ShutdownExecutor``, ``ExecutorRegistered`` / ``ExecutorReregistered``) as the v1
  ``Event`` an HTTP executor gets (LAUNCH, KILL, ACKNOWLEDGED, MESSAGE, SHUTDOWN,
  SUBSCRIBED; ``RunTaskGroup`` -> LAUNCH_GROUP; ``error_event`` -> ERROR);
- ``recordio(event)``: one event framed as Mesos streams them, ``<length>\\n<json>``;
- ``ExecutorConnection``: an HTTP executor's open event stream. The agent keeps it in
  ``ExecutorRecord.http`` and sends it the same native messages it sends a PID; the
  connection turns each into its event and writes it to the stream.

Records convert with ``actors.messages.v1json`` (the scheduler API's converter too).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from actors.messages import (
    ExecutorRegistered,
    ExecutorReregistered,
    FrameworkToExecutor,
    KillTask,
    RunTask,
    RunTaskGroup,
    ShutdownExecutor,
    StatusUpdateAcknowledgement,
)
from actors.messages.info import AgentInfo, FrameworkInfo
from actors.messages.task_state import Source, TaskState
from actors.messages.tasks import ExecutorInfo, StatusUpdateInfo, TaskInfo, TaskStatus
from actors.messages.v1json import from_v1, to_v1
from transport.http import HttpStream, parse_json

if TYPE_CHECKING:
    from actors.agent.executors import ExecutorRecord, FrameworkRecord

__all__ = [
    "CALL_TYPES",
    "CallError",
    "ExecutorCall",
    "ExecutorConnection",
    "accepts_json",
    "error_event",
    "executor_event",
    "media_problem",
    "parse_call",
    "recordio",
    "status_update",
]

_log = structlog.get_logger("meseta.agent.executor_api")

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
CALL_TYPES = ("SUBSCRIBE", "UPDATE", "MESSAGE", "HEARTBEAT")


class CallError(ValueError):
    """The request body is not a valid executor ``Call`` (the route answers 400)."""


@dataclass(frozen=True, slots=True)
class ExecutorCall:
    """A decoded ``mesos.v1.executor.Call``."""

    type: str
    framework_id: str
    executor_id: str
    tasks: tuple[TaskInfo, ...] = ()
    """SUBSCRIBE: ``unacknowledged_tasks``."""
    updates: tuple[TaskStatus, ...] = ()
    """SUBSCRIBE: ``unacknowledged_updates[].status``."""
    status: TaskStatus | None = None
    """UPDATE: ``update.status``."""
    data: bytes = b""
    """MESSAGE: ``message.data``."""


# -- requests ------------------------------------------------------------------------------


def media_problem(headers: Any) -> tuple[int, str] | None:
    """``(status, message)`` when the Content-Type is missing (400) or not JSON (415)."""
    content_type = headers.get("Content-Type")
    if not content_type:
        return 400, "Expecting 'Content-Type' to be present"
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON:
        return None
    if media == PROTOBUF:
        return 415, f"Only '{JSON}' is supported by this agent, not '{PROTOBUF}'"
    return 415, f"Expecting 'Content-Type' of {JSON}"


def accepts_json(headers: Any) -> bool:
    """Whether the ``Accept`` header allows JSON (none at all allows everything)."""
    accept = headers.get("Accept")
    if not accept:
        return True
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        if media in (JSON, "application/*", "*/*") and "q=0" not in params:
            return True
    return False


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise CallError(f"Expecting '{what}' to be an object")
    return data


def _id(data: dict[str, Any], name: str) -> str:
    if name not in data:
        raise CallError(f"Expecting '{name}' to be present")
    value = _object(data[name], name).get("value")
    if not isinstance(value, str) or not value:
        raise CallError(f"Expecting '{name}.value' to be a non-empty string")
    return value


def _status(data: Any, where: str, executor_id: str) -> TaskStatus:
    try:
        status = from_v1(TaskStatus, _object(data, where))
    except ValueError as exc:
        raise CallError(f"Failed to convert JSON into Call protobuf: {exc}") from None
    if not status.uuid:
        raise CallError("Expecting 'uuid' to be present")
    if len(status.uuid) != 16:
        raise CallError(f"Not a valid UUID: {len(status.uuid)} bytes instead of 16")
    if status.executor_id and status.executor_id != executor_id:
        raise CallError(f"ExecutorID in Call: {executor_id} does not match ExecutorID in "
                        f"TaskStatus: {status.executor_id}")
    if status.source is not Source.SOURCE_EXECUTOR:
        raise CallError(f"Received Call from executor {executor_id} with invalid source, "
                        f"expecting 'SOURCE_EXECUTOR'")
    if status.state is TaskState.TASK_STAGING:
        raise CallError(f"Received TASK_STAGING from executor {executor_id} which is not "
                        f"allowed")
    return status


def parse_call(body: bytes) -> ExecutorCall:
    """The ``Call`` in a request body; ``CallError`` says what is wrong with it."""
    try:
        data = parse_json(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CallError(f"Failed to parse body into JSON: {exc}") from None
    data = _object(data, "Call")
    kind = data.get("type")
    if kind is None:
        raise CallError("Expecting 'type' to be present")
    if kind not in CALL_TYPES:
        raise CallError(f"Unknown call type {kind!r}")
    executor_id = _id(data, "executor_id")
    framework_id = _id(data, "framework_id")
    call = ExecutorCall(kind, framework_id, executor_id)
    section = kind.lower()
    if kind == "HEARTBEAT":
        return call
    if section not in data:
        raise CallError(f"Expecting '{section}' to be present")
    body_of = _object(data[section], section)
    if kind == "SUBSCRIBE":
        tasks = body_of.get("unacknowledged_tasks", [])
        updates = body_of.get("unacknowledged_updates", [])
        if not isinstance(tasks, list) or not isinstance(updates, list):
            raise CallError("Expecting lists of unacknowledged tasks and updates")
        try:
            infos = tuple(from_v1(TaskInfo, _object(t, "task")) for t in tasks)
        except ValueError as exc:
            raise CallError(f"Failed to convert JSON into Call protobuf: {exc}") from None
        statuses = tuple(_status(_object(u, "update").get("status"), "update.status",
                                 executor_id) for u in updates)
        return dataclasses.replace(call, tasks=infos, updates=statuses)
    if kind == "UPDATE":
        return dataclasses.replace(
            call, status=_status(body_of.get("status"), "update.status", executor_id))
    raw = body_of.get("data")
    if not isinstance(raw, str):
        raise CallError("Expecting 'message.data' to be present (base64)")
    try:
        return dataclasses.replace(call, data=base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        raise CallError("Expecting 'message.data' to be base64") from None


def status_update(framework_id: str, executor_id: str, agent_id: str, status: TaskStatus,
                  now: float) -> StatusUpdateInfo:
    """An UPDATE's status as the update the agent records (Mesos' ``createStatusUpdate``)."""
    status = dataclasses.replace(status, executor_id=executor_id, agent_id=agent_id,
                                 timestamp=status.timestamp or now)
    return StatusUpdateInfo(framework_id=framework_id, status=status, timestamp=now,
                            executor_id=executor_id, agent_id=agent_id, uuid=status.uuid)


# -- events --------------------------------------------------------------------------------


def _subscribed(executor_info: ExecutorInfo, framework_info: FrameworkInfo,
                agent_info: AgentInfo, container_id: str) -> dict[str, Any]:
    if not executor_info.framework_id:
        executor_info = dataclasses.replace(executor_info, framework_id=framework_info.id)
    return {"type": "SUBSCRIBED", "subscribed": {
        "executor_info": to_v1(executor_info), "framework_info": to_v1(framework_info),
        "agent_info": to_v1(agent_info), "container_id": {"value": container_id}}}


def executor_event(msg: Any, *, executor_info: ExecutorInfo, framework_info: FrameworkInfo,
                   container_id: str) -> dict[str, Any] | None:
    """The v1 ``Event`` for a message the agent sends an executor (None: none fits)."""
    if isinstance(msg, RunTask):
        return {"type": "LAUNCH", "launch": {"task": to_v1(msg.task)}}
    if isinstance(msg, RunTaskGroup):
        return {"type": "LAUNCH_GROUP", "launch_group": {"task_group": to_v1(msg.task_group)}}
    if isinstance(msg, KillTask):
        kill: dict[str, Any] = {"task_id": {"value": msg.task_id}}
        if msg.kill_policy is not None:
            kill["kill_policy"] = to_v1(msg.kill_policy)
        return {"type": "KILL", "kill": kill}
    if isinstance(msg, StatusUpdateAcknowledgement):
        return {"type": "ACKNOWLEDGED", "acknowledged": {
            "task_id": {"value": msg.task_id}, "uuid": base64.b64encode(msg.uuid).decode()}}
    if isinstance(msg, FrameworkToExecutor):
        return {"type": "MESSAGE", "message": {"data": base64.b64encode(msg.data).decode()}}
    if isinstance(msg, ShutdownExecutor):
        return {"type": "SHUTDOWN"}
    if isinstance(msg, ExecutorRegistered):
        return _subscribed(msg.executor_info, msg.framework_info, msg.agent_info, container_id)
    if isinstance(msg, ExecutorReregistered):
        return _subscribed(executor_info, framework_info, msg.agent_info, container_id)
    return None


def error_event(message: str) -> dict[str, Any]:
    return {"type": "ERROR", "error": {"message": message}}


HEARTBEAT_EVENT: dict[str, Any] = {"type": "HEARTBEAT"}


def recordio(event: dict[str, Any]) -> bytes:
    """One RecordIO record: the JSON's length in bytes, a newline, the JSON."""
    data = json.dumps(event, separators=(",", ":")).encode()
    return b"%d\n%s" % (len(data), data)


class ExecutorConnection:
    """An HTTP executor's event stream; ``send`` takes the agent's native messages."""

    def __init__(self, stream: HttpStream, executor: ExecutorRecord,
                 framework: FrameworkRecord) -> None:
        self.stream = stream
        self.executor = executor
        self.framework = framework

    def __repr__(self) -> str:
        return f"<HTTP executor {self.executor.executor_id}>"

    @property
    def open(self) -> bool:
        return self.stream.open

    def send(self, msg: Any) -> bool:
        """Write ``msg`` as its event; False if it has none or the stream is closed."""
        event = executor_event(msg, executor_info=self.executor.info,
                               framework_info=self.framework.info,
                               container_id=self.executor.run_id)
        if event is None:
            _log.warning("no executor event for this message; dropped",
                         name=type(msg).__name__, executor_id=self.executor.executor_id)
            return False
        return self.write(event)

    def write(self, event: dict[str, Any]) -> bool:
        sent = self.stream.write(recordio(event))
        if not sent:
            _log.warning("HTTP executor not connected; event dropped", event=event["type"],
                         executor_id=self.executor.executor_id)
        return sent

    def close(self) -> None:
        self.stream.close()
