"""PID: the ``name@host:port`` value type."""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.transport.strategies import pids
from transport import PID


def test_parse_and_format_round_trip_a_libprocess_style_pid() -> None:
    pid = PID.parse("scheduler(1)@10.0.0.5:41234")
    assert pid == PID("scheduler(1)", "10.0.0.5", 41234)
    assert str(pid) == "scheduler(1)@10.0.0.5:41234"


def test_parse_keeps_a_hostname_and_a_bracketed_ipv6_host() -> None:
    assert PID.parse("master@mesos-1.example.com:5050").host == "mesos-1.example.com"
    ipv6 = PID.parse("agent@[::1]:5051")
    assert (ipv6.host, ipv6.port) == ("[::1]", 5051)
    assert str(ipv6) == "agent@[::1]:5051"


def test_equal_pids_hash_alike_and_work_as_dict_keys() -> None:
    a, b = PID("master", "127.0.0.1", 5050), PID.parse("master@127.0.0.1:5050")
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert a != PID("master", "127.0.0.1", 5051)
    assert a != a.with_name("agent")


def test_address_is_host_and_port() -> None:
    assert PID("agent(3)", "10.1.2.3", 5051).address == "10.1.2.3:5051"


def test_with_name_names_another_process_on_the_same_node() -> None:
    other = PID("master", "10.0.0.1", 5050).with_name("allocator")
    assert other == PID("allocator", "10.0.0.1", 5050)


def test_pid_is_immutable() -> None:
    pid = PID("master", "127.0.0.1", 5050)
    with pytest.raises(AttributeError):
        pid.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("pid", "truth"),
    [
        (PID("master", "127.0.0.1", 5050), True),
        (PID("", "127.0.0.1", 5050), False),
        (PID("master", "127.0.0.1", 0), False),
        (PID("master", "0.0.0.0", 5050), False),
        (PID("master", "", 5050), False),
    ],
)
def test_pid_is_false_when_name_empty_port_zero_or_host_any(pid: PID, truth: bool) -> None:
    assert bool(pid) is truth


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("master", "name@host:port"),
        ("@127.0.0.1:5050", "name@host:port"),
        ("master@", "name@host:port"),
        ("master@127.0.0.1", "name@host:port"),
        ("master@:5050", "name@host:port"),
        ("master@127.0.0.1:", "port"),
        ("master@127.0.0.1:0", "port"),
        ("master@127.0.0.1:65536", "port"),
        ("master@127.0.0.1:-1", "port"),
        ("master@127.0.0.1:50x", "port"),
        ("master@127.0.0.1: 50", "port"),
        ("master@127.0.0.1:\u00b2", "port"),  # superscript two
        ("master@127.0.0.1:\u0665\u0660\u0665\u0660", "port"),  # Arabic-Indic 5050
    ],
)
def test_parse_rejects_bad_text_with_a_clear_value_error(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as err:
        PID.parse(text)
    assert repr(text) in str(err.value)


@pytest.mark.parametrize("value", [None, 5050, b"master@127.0.0.1:5050"])
def test_parse_rejects_a_non_string(value: object) -> None:
    with pytest.raises(ValueError, match="must be a string"):
        PID.parse(value)  # type: ignore[arg-type]


@given(pids)
def test_any_pid_survives_format_then_parse(pid: PID) -> None:
    assert PID.parse(str(pid)) == pid
