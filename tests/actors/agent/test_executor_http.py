"""The executor HTTP API's pure parts: call parsing and validation, media rules, events,
RecordIO framing, and the ``MESOS_*`` environment an executor is given."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest

from actors.agent.executor_http import (
    CallError,
    accepts_json,
    error_event,
    executor_event,
    media_problem,
    parse_call,
    recordio,
    status_update,
)
from actors.agent.executors import executor_environment, mesos_duration
from actors.messages import (
    AgentInfo,
    CommandInfo,
    ExecutorInfo,
    ExecutorRegistered,
    ExecutorReregistered,
    FrameworkInfo,
    FrameworkToExecutor,
    KillPolicy,
    KillTask,
    ReconnectExecutor,
    RunTask,
    RunTaskGroup,
    ShutdownExecutor,
    StatusUpdateAcknowledgement,
    TaskGroupInfo,
    TaskInfo,
    TaskState,
)
from actors.messages.task_state import Source
from transport import PID

FRAMEWORK = FrameworkInfo(user="u", name="n", id="F1")
EXECUTOR = ExecutorInfo(executor_id="E1", command=CommandInfo(value="run"))
UUID = os.urandom(16)


def _call(kind: str, **fields: Any) -> bytes:
    return json.dumps({"framework_id": {"value": "F1"}, "executor_id": {"value": "E1"},
                       "type": kind, **fields}).encode()


def _status(**overrides: Any) -> dict[str, Any]:
    status = {"task_id": {"value": "t1"}, "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR",
              "uuid": base64.b64encode(UUID).decode()}
    status.update(overrides)
    return status


def test_an_update_call_decodes_to_the_status_the_agent_records() -> None:
    call = parse_call(_call("UPDATE", update={"status": _status(message="up")}))
    assert (call.type, call.framework_id, call.executor_id) == ("UPDATE", "F1", "E1")
    assert call.status is not None and call.status.uuid == UUID
    update = status_update("F1", "E1", "S1", call.status, now=42.0)
    assert (update.uuid, update.agent_id, update.executor_id) == (UUID, "S1", "E1")
    assert update.status.state is TaskState.TASK_RUNNING and update.status.message == "up"
    assert update.status.source is Source.SOURCE_EXECUTOR and update.status.timestamp == 42.0


def test_a_subscribe_call_carries_the_unacknowledged_tasks_and_updates() -> None:
    task = {"name": "t1", "task_id": {"value": "t1"}, "agent_id": {"value": "S1"}}
    call = parse_call(_call("SUBSCRIBE", subscribe={
        "unacknowledged_tasks": [task], "unacknowledged_updates": [{"status": _status()}]}))
    assert [t.task_id for t in call.tasks] == ["t1"]
    assert [s.uuid for s in call.updates] == [UUID]
    assert parse_call(_call("SUBSCRIBE", subscribe={})).tasks == ()


def test_a_message_call_carries_base64_data() -> None:
    data = base64.b64encode(b"\x00hi").decode()
    assert parse_call(_call("MESSAGE", message={"data": data})).data == b"\x00hi"
    assert parse_call(_call("HEARTBEAT")).type == "HEARTBEAT"


@pytest.mark.parametrize(("body", "says"), [
    (b"{nope", "Failed to parse body into JSON"),
    (b"[]", "object"),
    (json.dumps({"executor_id": {"value": "E1"}, "framework_id": {"value": "F1"}}).encode(),
     "'type'"),
    (_call("DANCE"), "Unknown call type"),
    (json.dumps({"type": "UPDATE", "framework_id": {"value": "F1"}}).encode(), "executor_id"),
    (_call("UPDATE"), "Expecting 'update' to be present"),
    (_call("UPDATE", update={"status": _status(uuid=None)}), "uuid"),
    (_call("UPDATE", update={"status": _status(uuid=base64.b64encode(b"short").decode())}),
     "UUID"),
    (_call("UPDATE", update={"status": _status(source="SOURCE_MASTER")}), "SOURCE_EXECUTOR"),
    (_call("UPDATE", update={"status": _status(state="TASK_STAGING")}), "TASK_STAGING"),
    (_call("UPDATE", update={"status": _status(executor_id={"value": "other"})}),
     "does not match"),
    (_call("UPDATE", update={"status": _status(state="TASK_NAPPING")}), "TASK_NAPPING"),
    (_call("MESSAGE", message={"data": "@@@"}), "base64"),
    (_call("SUBSCRIBE", subscribe={"unacknowledged_tasks": [{"name": "x"}]}), "task_id"),
])
def test_malformed_or_invalid_calls_are_refused_saying_why(body: bytes, says: str) -> None:
    with pytest.raises(CallError, match=says):
        parse_call(body)


def test_only_json_is_spoken_and_accepted() -> None:
    assert media_problem({"Content-Type": "application/json; charset=utf-8"}) is None
    assert media_problem({})[0] == 400  # type: ignore[index]
    status, message = media_problem({"Content-Type": "application/x-protobuf"}) or (0, "")
    assert status == 415 and "application/json" in message
    assert media_problem({"Content-Type": "text/plain"})[0] == 415  # type: ignore[index]
    assert accepts_json({}) and accepts_json({"Accept": "*/*"})
    assert accepts_json({"Accept": "application/x-protobuf, application/json;q=0.5"})
    assert not accepts_json({"Accept": "application/x-protobuf"})
    assert not accepts_json({"Accept": "application/json;q=0"})


def _event(msg: Any) -> dict[str, Any] | None:
    return executor_event(msg, executor_info=EXECUTOR, framework_info=FRAMEWORK,
                          container_id="run-1")


def test_what_the_agent_says_to_executors_becomes_v1_events() -> None:
    task = TaskInfo(name="t1", task_id="t1", agent_id="S1")
    agent = AgentInfo(hostname="h", id="S1")
    launch = _event(RunTask(framework_info=FRAMEWORK, task=task))
    assert launch == {"type": "LAUNCH", "launch": {"task": {
        "name": "t1", "task_id": {"value": "t1"}, "agent_id": {"value": "S1"}}}}
    group = _event(RunTaskGroup(framework_info=FRAMEWORK, executor_info=EXECUTOR,
                                task_group=TaskGroupInfo(tasks=(task,))))
    assert group is not None and group["type"] == "LAUNCH_GROUP"
    assert group["launch_group"]["task_group"]["tasks"][0]["task_id"] == {"value": "t1"}
    kill = _event(KillTask(framework_id="F1", task_id="t1",
                           kill_policy=KillPolicy(grace_period=2.5)))
    assert kill == {"type": "KILL", "kill": {"task_id": {"value": "t1"}, "kill_policy": {
        "grace_period": {"nanoseconds": 2_500_000_000}}}}
    ack = _event(StatusUpdateAcknowledgement(agent_id="S1", framework_id="F1", task_id="t1",
                                             uuid=UUID))
    assert ack == {"type": "ACKNOWLEDGED", "acknowledged": {
        "task_id": {"value": "t1"}, "uuid": base64.b64encode(UUID).decode()}}
    message = _event(FrameworkToExecutor(agent_id="S1", framework_id="F1", executor_id="E1",
                                         data=b"hi"))
    assert message == {"type": "MESSAGE", "message": {"data": "aGk="}}
    assert _event(ShutdownExecutor(executor_id="E1", framework_id="F1")) == {
        "type": "SHUTDOWN"}
    for subscribed in (
            _event(ExecutorRegistered(executor_info=EXECUTOR, framework_id="F1",
                                      framework_info=FRAMEWORK, agent_id="S1", agent_info=agent)),
            _event(ExecutorReregistered(agent_id="S1", agent_info=agent))):
        assert subscribed is not None and subscribed["type"] == "SUBSCRIBED"
        body = subscribed["subscribed"]
        assert body["container_id"] == {"value": "run-1"}
        assert body["executor_info"]["executor_id"] == {"value": "E1"}
        assert body["executor_info"]["framework_id"] == {"value": "F1"}  # filled in
        assert body["framework_info"]["id"] == {"value": "F1"}
        assert body["agent_info"]["id"] == {"value": "S1"}
    assert _event(ReconnectExecutor(agent_id="S1")) is None  # native executors only
    assert error_event("boom") == {"type": "ERROR", "error": {"message": "boom"}}


def test_events_are_framed_as_recordio() -> None:
    frame = recordio({"type": "MESSAGE", "message": {"data": "é"}})
    size, _, data = frame.partition(b"\n")
    assert int(size) == len(data) and json.loads(data)["message"]["data"] == "é"


def test_executors_get_the_mesos_environment_too() -> None:
    def env(checkpoint: bool) -> dict[str, str]:
        return executor_environment(
            agent=PID("agent", "h", 1), framework=FrameworkInfo(
                user="u", name="n", id="F", checkpoint=checkpoint),
            executor=ExecutorInfo(executor_id="e", command=CommandInfo(value="x")),
            directory="/d", run_id="r", grace_period=3.0, host="h", recovery_timeout=900.0,
            agent_id="S7", agent_endpoint="h:5151", subscription_backoff_max=2.0, parent={})

    plain, ckpt = env(False), env(True)
    assert plain["MESOS_AGENT_ENDPOINT"] == "h:5151" and plain["MESOS_SLAVE_ID"] == "S7"
    assert (plain["MESOS_FRAMEWORK_ID"], plain["MESOS_EXECUTOR_ID"]) == ("F", "e")
    assert plain["MESOS_SANDBOX"] == plain["MESOS_DIRECTORY"] == "/d"
    assert plain["MESOS_CHECKPOINT"] == "0" and ckpt["MESOS_CHECKPOINT"] == "1"
    assert plain["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "3secs"
    assert "MESOS_RECOVERY_TIMEOUT" not in plain and "MESOS_SUBSCRIPTION_BACKOFF_MAX" not in plain
    assert ckpt["MESOS_RECOVERY_TIMEOUT"] == "15mins"
    assert ckpt["MESOS_SUBSCRIPTION_BACKOFF_MAX"] == "2secs"
    assert plain["MESETA_FRAMEWORK_ID"] == "F"  # the native contract is kept


@pytest.mark.parametrize(("seconds", "text"), [
    (5.0, "5secs"), (900.0, "15mins"), (0.5, "500ms"), (90.0, "90secs"), (7200.0, "2hrs"),
    (86400.0, "1days"), (1.25, "1250ms"), (0.0001, "0.0001secs")])
def test_durations_are_written_as_mesos_writes_them(seconds: float, text: str) -> None:
    assert mesos_duration(seconds) == text
