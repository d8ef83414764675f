"""The wire protocol: every message and record round-trips, the task state machine, the rules.

Strategies are derived from the annotations the codec reads, so a new field is covered
without touching this file; ``Resources`` and ``PID`` get hand-written strategies.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from functools import cache
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import actors.messages as protocol
from actors.errors import ActorsError, InvalidTransitionError
from actors.messages import (
    TERMINAL,
    TRANSITIONS,
    AcceptOffers,
    FrameworkInfo,
    KillTask,
    MasterInfo,
    Reason,
    RegisterAgent,
    StatusUpdate,
    TaskState,
    can_transition,
    is_terminal,
    launch,
    transition,
)
from actors.messages import types as data_types
from actors.resources import Resources
from transport.codec import decode_message, encode_message, is_message, registered_messages
from transport.envelope import decode_envelope, encode_envelope
from transport.errors import MesetaError, MessageTypeError
from transport.pid import PID

S = TaskState
CONVERSATIONS = ("framework", "agent", "executor", "internal")
MESSAGES = sorted(
    (cls for cls in registered_messages().values() if cls.__module__.startswith("actors.messages")),
    key=lambda c: c.__name__,
)
RECORDS = sorted(
    (
        obj
        for _, obj in inspect.getmembers(data_types, inspect.isclass)
        if dataclasses.is_dataclass(obj) and not is_message(obj)
    ),
    key=lambda c: c.__name__,
)


# -- strategies from annotations --------------------------------------------------------

resources_st = st.one_of(
    st.just(Resources()),
    st.dictionaries(
        st.sampled_from(["cpus", "mem", "disk", "gpus"]),
        st.integers(1, 10**6).map(lambda m: m / 1000),
        min_size=1,
        max_size=3,
    ).map(Resources.from_scalars),
    st.sampled_from(
        [
            Resources.parse("cpus:2;mem:1024;ports:[31000-31005,31010-31020]"),
            Resources.parse("cpus(eng):4;mem(eng):512;zones:{a,b}"),
        ]
    ),
)
pid_st = st.builds(
    PID,
    name=st.sampled_from(["master", "agent(1)", "scheduler(2)", "executor(3)"]),
    host=st.sampled_from(["127.0.0.1", "10.0.0.5", "node-a.example"]),
    port=st.integers(1, 65535),
)
_LEAVES: dict[Any, st.SearchStrategy[Any]] = {
    int: st.integers(-(2**63), 2**64 - 1),
    float: st.floats(allow_nan=False, allow_infinity=False),
    str: st.text(max_size=12),
    bytes: st.binary(max_size=12),
    bool: st.booleans(),
    PID: pid_st,
    Resources: resources_st,
}


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for any annotation the codec supports (mirrors ``transport.codec``)."""
    if tp in _LEAVES:
        return _LEAVES[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return st.deferred(lambda: builds_all(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = (a for a in args if a is not type(None))
        return st.none() | strategy_for(inner)
    if origin in (tuple, list, frozenset):
        items = st.lists(strategy_for(args[0]), max_size=3)
        return items.map(origin)
    if origin is dict:
        return st.dictionaries(st.text(max_size=6), strategy_for(args[1]), max_size=3)
    raise AssertionError(f"no strategy for {tp!r}: teach strategy_for (and the codec?)")


@cache
def builds_all(cls: type) -> st.SearchStrategy[Any]:
    """Every field drawn, not only the required ones (``st.builds`` leaves defaults alone)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


def wire_round_trip(msg: Any) -> Any:
    frame = encode_envelope("master", "agent(1)@10.0.0.5:5051", msg, None)
    to, frm, decoded, trace = decode_envelope(msgpack.unpackb(frame))
    assert (to, frm, trace) == ("master", "agent(1)@10.0.0.5:5051", None)
    return decoded


FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- round trips ------------------------------------------------------------------------


def test_the_whole_protocol_is_registered_on_import() -> None:
    assert len(MESSAGES) >= 55
    for name in ("RegisterAgent", "RunTask", "StatusUpdate", "OffersAllocated", "KillTask"):
        assert name in registered_messages()
    assert set(protocol.__all__) >= {c.__name__ for c in MESSAGES} | {c.__name__ for c in RECORDS}


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.__name__)
@FAST
@given(data=st.data())
def test_every_message_round_trips_through_an_envelope(cls: type, data: st.DataObject) -> None:
    msg = data.draw(builds_all(cls))
    assert wire_round_trip(msg) == msg
    if cls.__module__ != "actors.messages.internal":  # only the allocator's carry dicts
        hash(msg)


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@FAST
@given(data=st.data())
def test_every_record_round_trips_as_msgpack(cls: type, data: st.DataObject) -> None:
    rec = data.draw(builds_all(cls))
    packed = msgpack.packb(encode_message(rec))
    assert decode_message(cls, msgpack.unpackb(packed)) == rec


def test_every_record_travels_inside_some_message() -> None:
    reachable: set[type] = set()

    def walk(tp: Any) -> None:
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if tp in reachable:
                return
            reachable.add(tp)
            for hint in typing.get_type_hints(tp).values():
                walk(hint)
        for arg in typing.get_args(tp):
            walk(arg)

    for cls in MESSAGES:
        walk(cls)
    # Kept on disk by the agent or served over HTTP, not (yet) sent in a message:
    not_sent = {"ResourceStatistics", "StatusUpdateRecord"}
    missing = {c.__name__ for c in RECORDS} - {c.__name__ for c in reachable} - not_sent
    assert not missing


def test_defaults_stay_off_the_wire_and_match_mesos() -> None:
    info = FrameworkInfo(user="alice", name="web")
    assert encode_message(info) == {"user": "alice", "name": "web"}
    assert info.failover_timeout == 0.0 and info.roles == ("*",) and not info.checkpoint
    accept = AcceptOffers(framework_id="f1", offer_ids=("o1",), operations=(launch(),))
    assert accept.filters.refuse_seconds == 5.0
    assert "filters" not in encode_message(accept)
    assert MasterInfo(id="m").port == 5150
    hc = data_types.HealthCheck(type=data_types.HealthCheckType.TCP)
    assert (hc.delay_seconds, hc.interval_seconds, hc.timeout_seconds) == (15.0, 10.0, 20.0)
    assert (hc.consecutive_failures, hc.grace_period_seconds) == (3, 10.0)
    assert data_types.KillPolicy().grace_period == 3.0
    assert data_types.CommandInfo().shell and data_types.URI(value="x").extract


def test_a_message_with_resources_survives_the_wire_exactly() -> None:
    agent = data_types.AgentInfo(
        hostname="a1", resources=Resources.parse("cpus:4;mem:4096;ports:[31000-32000]")
    )
    msg = RegisterAgent(agent_info=agent, checkpointed_resources=Resources.parse("cpus(eng):1"))
    assert wire_round_trip(msg) == msg


def test_unknown_fields_are_ignored_and_bad_enums_refused() -> None:
    body = encode_message(KillTask(framework_id="f", task_id="t"))
    assert decode_message(KillTask, {**body, "from_the_future": 1}) == KillTask(
        framework_id="f", task_id="t"
    )
    status = {"task_id": "t", "state": "TASK_SLEEPING"}
    with pytest.raises(MessageTypeError):
        decode_message(data_types.TaskStatus, status)


def test_status_update_carries_the_record_and_the_forwarding_agent() -> None:
    status = data_types.TaskStatus(task_id="t1", state=S.TASK_RUNNING, uuid=b"\x01" * 16)
    info = data_types.StatusUpdateInfo(framework_id="f1", status=status, timestamp=1.5)
    msg = StatusUpdate(update=info, pid=PID("agent(1)", "10.0.0.5", 5051))
    assert wire_round_trip(msg) == msg


def test_agent_attributes_parse_like_mesos() -> None:
    rack, ports, os_, dc = data_types.parse_attributes(
        "rack:2; ports:[1-3,5-9];os:{linux,bsd};dc:east"
    )
    T = data_types.ValueType
    assert (rack.name, rack.type, rack.scalar) == ("rack", T.SCALAR, 2.0)
    assert ports.type is T.RANGES and [(r.begin, r.end) for r in ports.ranges] == [(1, 3), (5, 9)]
    assert os_.type is T.SET and os_.set == {"linux", "bsd"}
    assert (dc.type, dc.text) == (T.TEXT, "east")
    assert data_types.parse_attributes("") == ()
    assert data_types.parse_attributes("v:nan")[0].type is T.TEXT
    for bad in ("rack", "rack:", "ports:[1-x]"):
        with pytest.raises(ValueError):
            data_types.parse_attributes(bad)


def test_master_ip_is_a_uint32() -> None:
    assert data_types.ip_to_uint32("10.0.0.5") == 0x0A000005
    assert data_types.ip_from_uint32(0x7F000001) == "127.0.0.1"


# -- task states ------------------------------------------------------------------------


def test_terminal_states_are_exactly_mesos_is_terminal_state() -> None:
    assert {s.name for s in TERMINAL} == {
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_ERROR",
        "TASK_LOST",
        "TASK_DROPPED",
        "TASK_GONE",
        "TASK_GONE_BY_OPERATOR",
    }
    assert not is_terminal(S.TASK_UNREACHABLE) and not is_terminal(S.TASK_UNKNOWN)
    assert {s.value for s in S} == set(range(14))


def test_every_state_has_a_row_and_terminal_states_except_lost_are_final() -> None:
    assert set(TRANSITIONS) == set(S)
    for state in TERMINAL - {S.TASK_LOST}:
        assert not TRANSITIONS[state], state


LEGAL = [(old, new) for old in S for new in TRANSITIONS[old]]


@pytest.mark.parametrize("old,new", LEGAL, ids=lambda s: s.name)
def test_every_legal_transition_is_accepted(old: TaskState, new: TaskState) -> None:
    assert transition(old, new) is new
    assert can_transition(old, new)


@pytest.mark.parametrize(
    "old,new",
    [
        (S.TASK_FINISHED, S.TASK_RUNNING),
        (S.TASK_KILLED, S.TASK_RUNNING),
        (S.TASK_FAILED, S.TASK_FAILED),
        (S.TASK_GONE, S.TASK_RUNNING),
        (S.TASK_GONE_BY_OPERATOR, S.TASK_UNREACHABLE),
        (S.TASK_DROPPED, S.TASK_STARTING),
        (S.TASK_ERROR, S.TASK_STAGING),
        (S.TASK_RUNNING, S.TASK_STAGING),
        (S.TASK_RUNNING, S.TASK_STARTING),
        (S.TASK_KILLING, S.TASK_RUNNING),
        (S.TASK_RUNNING, S.TASK_ERROR),
        (S.TASK_LOST, S.TASK_ERROR),
        (S.TASK_UNREACHABLE, S.TASK_ERROR),
    ],
    ids=lambda s: s.name,
)
def test_illegal_transitions_raise_a_meseta_error(old: TaskState, new: TaskState) -> None:
    assert not can_transition(old, new)
    with pytest.raises(InvalidTransitionError) as caught:
        transition(old, new)
    assert isinstance(caught.value, ActorsError) and isinstance(caught.value, MesetaError)
    assert old.name in str(caught.value) and new.name in str(caught.value)


def test_partitions_heal_and_lost_tasks_can_come_back_running() -> None:
    assert transition(S.TASK_UNREACHABLE, S.TASK_RUNNING) is S.TASK_RUNNING
    assert transition(S.TASK_LOST, S.TASK_RUNNING) is S.TASK_RUNNING
    assert transition(S.TASK_RUNNING, S.TASK_RUNNING) is S.TASK_RUNNING  # a health change


def test_the_normal_life_of_a_task_is_legal() -> None:
    state = S.TASK_STAGING
    for new in (S.TASK_STARTING, S.TASK_RUNNING, S.TASK_KILLING, S.TASK_KILLED):
        state = transition(state, new)
    assert is_terminal(state)


# -- rules of the protocol --------------------------------------------------------------


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.__name__)
def test_every_message_docstring_names_a_direction(cls: type) -> None:
    first = (cls.__doc__ or "").strip().splitlines()[0]
    assert "->" in first and first.index("->") < first.index(":"), first


def test_message_names_are_unique_plain_and_say_agent() -> None:
    names = [c.__name__ for c in MESSAGES]
    assert len(names) == len(set(names))
    for name in names:
        assert "slave" not in name.lower()
        assert not name.startswith(("test.", "bench.")) and not name.endswith("Message")
        assert registered_messages()[name].__name__ == name
    everything = names + [c.__name__ for c in RECORDS] + [m.name for m in Reason]
    assert not [n for n in everything if "slave" in n.lower()]


@pytest.mark.parametrize("conversation", CONVERSATIONS)
def test_each_conversation_module_declares_only_messages(conversation: str) -> None:
    module = __import__(f"actors.messages.{conversation}", fromlist=["__all__"])
    assert module.__doc__
    for name in module.__all__:
        cls = getattr(module, name)
        assert is_message(cls) and cls.__module__ == module.__name__, name
