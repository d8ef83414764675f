"""``actors.master.scheduler_api``: v1 Calls -> native messages, messages -> v1 Events (pure)."""

from __future__ import annotations

import base64
import json

import pytest

from actors.master.scheduler_api.calls import CallError, decode_call
from actors.master.scheduler_api.events import event_for, record
from actors.messages import (
    AcceptOffers,
    DeclineOffers,
    ExitedExecutor,
    FrameworkError,
    FrameworkRegistered,
    KillTask,
    LostAgent,
    MasterInfo,
    OperationType,
    ReconcileTasks,
    RegisterFramework,
    ReviveOffers,
    ShutdownExecutor,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    StatusUpdateInfo,
    SuppressOffers,
    TaskState,
    TaskStatus,
    UnregisterFramework,
    UpdateFramework,
)

FID = {"value": "F1"}


def call(kind: str, **body: object) -> bytes:
    return json.dumps({"type": kind, "framework_id": FID, **body}).encode()


def test_subscribe_becomes_register_framework() -> None:
    got = decode_call(json.dumps({"type": "SUBSCRIBE", "subscribe": {
        "framework_info": {"user": "u", "name": "n", "roles": ["a"]},
        "suppressed_roles": ["a"]}}).encode())
    assert got.type == "SUBSCRIBE"
    assert isinstance(got.message, RegisterFramework)
    assert got.message.framework_info.roles == ("a",) and got.message.suppressed_roles == ("a",)


def test_subscribe_framework_id_must_match_the_info() -> None:
    with pytest.raises(CallError, match="differs") as err:
        decode_call(call("SUBSCRIBE", subscribe={"framework_info": {
            "user": "u", "name": "n", "id": {"value": "other"}}}))
    assert err.value.status == 400


def test_each_call_becomes_the_native_message() -> None:
    agent = {"value": "A"}
    accept = decode_call(call("ACCEPT", accept={
        "offer_ids": [{"value": "O1"}], "filters": {"refuse_seconds": 9},
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": "t", "task_id": {"value": "T"}, "agent_id": agent,
            "command": {"value": "true"}}]}}]})).message
    assert isinstance(accept, AcceptOffers) and accept.offer_ids == ("O1",)
    assert accept.operations[0].type is OperationType.LAUNCH
    assert accept.filters.refuse_seconds == 9
    assert decode_call(call("DECLINE", decline={"offer_ids": [{"value": "O2"}]})).message == \
        DeclineOffers(framework_id="F1", offer_ids=("O2",))
    assert decode_call(call("TEARDOWN")).message == UnregisterFramework(framework_id="F1")
    assert decode_call(call("REVIVE")).message == ReviveOffers(framework_id="F1")
    assert decode_call(call("SUPPRESS", suppress={"roles": ["r"]})).message == \
        SuppressOffers(framework_id="F1", roles=("r",))
    kill = decode_call(call("KILL", kill={"task_id": {"value": "T"}, "agent_id": agent,
                                          "kill_policy": {"grace_period": {
                                              "nanoseconds": 10**9}}})).message
    assert isinstance(kill, KillTask) and kill.agent_id == "A"
    assert kill.kill_policy is not None and kill.kill_policy.grace_period == 1.0
    assert decode_call(call("SHUTDOWN", shutdown={
        "executor_id": {"value": "E"}, "agent_id": agent})).message == ShutdownExecutor(
        executor_id="E", framework_id="F1", agent_id="A")
    ack = decode_call(call("ACKNOWLEDGE", acknowledge={
        "agent_id": agent, "task_id": {"value": "T"},
        "uuid": base64.b64encode(b"\x01" * 16).decode()})).message
    assert ack == StatusUpdateAcknowledgement(agent_id="A", framework_id="F1", task_id="T",
                                              uuid=b"\x01" * 16)
    rec = decode_call(call("RECONCILE", reconcile={"tasks": [{"task_id": {"value": "T"}}]}))
    assert isinstance(rec.message, ReconcileTasks)
    assert [s.task_id for s in rec.message.statuses] == ["T"]
    update = decode_call(call("UPDATE_FRAMEWORK", update_framework={"framework_info": {
        "user": "u", "name": "renamed", "id": FID}})).message
    assert isinstance(update, UpdateFramework) and update.framework_info is not None
    assert update.framework_info.name == "renamed"


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"[", 400, "Failed to parse body into JSON"),
    (b"[]", 400, "not an object"),
    (b'{"framework_id": {"value": "F1"}}', 400, "'type'"),
    (b'{"type": "NOPE", "framework_id": {"value": "F1"}}', 400, "unknown type"),
    (b'{"type": "REVIVE"}', 400, "framework_id"),
    (b'{"type": "KILL", "framework_id": {"value": "F1"}}', 400, "'kill'"),
    (b'{"type": "ACCEPT", "framework_id": {"value": "F1"}, "accept": {"offer_ids": [1]}}',
     400, "offer_ids"),
    (b'{"type": "RECONCILE_OPERATIONS", "framework_id": {"value": "F1"}}', 501, "not supported"),
])
def test_bad_calls_are_refused_with_status_and_reason(body: bytes, status: int,
                                                      words: str) -> None:
    with pytest.raises(CallError) as err:
        decode_call(body)
    assert err.value.status == status and words in err.value.message


def test_messages_become_v1_events() -> None:
    info = MasterInfo(id="m")
    sub = event_for(FrameworkRegistered(framework_id="F1", master_info=info), 15.0)
    assert sub is not None and sub["subscribed"]["framework_id"] == FID
    assert sub["subscribed"]["heartbeat_interval_seconds"] == 15.0
    update = StatusUpdate(update=StatusUpdateInfo(
        framework_id="F1", status=TaskStatus(task_id="T", state=TaskState.TASK_RUNNING),
        timestamp=1.0, agent_id="A", executor_id="E", uuid=b"\x02" * 16))
    status = event_for(update, 15.0)["update"]["status"]  # type: ignore[index]
    assert status["uuid"] == base64.b64encode(b"\x02" * 16).decode()
    assert status["agent_id"] == {"value": "A"} and status["executor_id"] == {"value": "E"}
    assert event_for(LostAgent(agent_id="A"), 15.0) == {
        "type": "FAILURE", "failure": {"agent_id": {"value": "A"}}}
    failure = event_for(ExitedExecutor(agent_id="A", framework_id="F1", executor_id="E",
                                       status=9), 15.0)
    assert failure is not None and failure["failure"]["status"] == 9
    assert event_for(FrameworkError(message="x"), 15.0) == {"type": "ERROR",
                                                             "error": {"message": "x"}}
    assert event_for(object(), 15.0) is None


def test_recordio_prefixes_the_byte_length() -> None:
    framed = record({"type": "HEARTBEAT", "x": "é"})
    size, _, data = framed.partition(b"\n")
    assert int(size) == len(data) and json.loads(data)["x"] == "é"


def test_inverse_offers_travel_as_v1_events_and_are_answered_by_calls() -> None:
    from actors.messages import (
        AcceptInverseOffers,
        DeclineInverseOffers,
        Filters,
        InverseOffer,
        RescindInverseOffer,
        ResourceOffers,
        Unavailability,
    )

    inverse = InverseOffer(id="I1", framework_id="F1", agent_id="A",
                           unavailability=Unavailability(start=5 * 10**9, duration=10**9))
    event = event_for(ResourceOffers(offers=(), inverse_offers=(inverse,)), 15.0)
    assert event == {"type": "INVERSE_OFFERS", "inverse_offers": {"inverse_offers": [{
        "id": {"value": "I1"}, "framework_id": FID, "agent_id": {"value": "A"},
        "unavailability": {"start": {"nanoseconds": 5 * 10**9},
                           "duration": {"nanoseconds": 10**9}}}]}}
    assert event_for(RescindInverseOffer(inverse_offer_id="I1"), 15.0) == {
        "type": "RESCIND_INVERSE_OFFER",
        "rescind_inverse_offer": {"inverse_offer_id": {"value": "I1"}}}
    call = decode_call(json.dumps({
        "type": "ACCEPT_INVERSE_OFFERS", "framework_id": FID, "accept_inverse_offers": {
            "inverse_offer_ids": [{"value": "I1"}], "filters": {"refuse_seconds": 2.5}}}
    ).encode())
    assert call.message == AcceptInverseOffers(framework_id="F1", inverse_offer_ids=("I1",),
                                               filters=Filters(refuse_seconds=2.5))
    call = decode_call(json.dumps({
        "type": "DECLINE_INVERSE_OFFERS", "framework_id": FID,
        "decline_inverse_offers": {"inverse_offer_ids": [{"value": "I1"}]}}).encode())
    assert call.message == DeclineInverseOffers(framework_id="F1", inverse_offer_ids=("I1",))
    with pytest.raises(CallError) as err:
        decode_call(b'{"type": "ACCEPT_INVERSE_OFFERS", "framework_id": {"value": "F1"}}')
    assert err.value.status == 400 and "accept_inverse_offers" in err.value.message
