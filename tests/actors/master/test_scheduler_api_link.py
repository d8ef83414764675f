"""``HttpLinks``: HTTP frameworks' streams inside the master, with a fake timer (no threads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from actors.master.frameworks import http_scheduler_pid, is_http_scheduler, native_pid
from actors.master.scheduler_api.link import HttpLinks
from actors.messages import FrameworkError, FrameworkRegistered, LostAgent, MasterInfo
from transport.pid import PID


class Harness:
    def __init__(self) -> None:
        self.timers: list[tuple[float, Callable[..., Any], tuple[Any, ...]]] = []
        self.exited: list[PID] = []
        self.traced: list[str] = []
        self.links = HttpLinks(0.5, self._delay, self.exited.append,
                               lambda to, msg: self.traced.append(type(msg).__name__))

    def _delay(self, seconds: float, fn: Callable[..., Any], *args: Any) -> None:
        self.timers.append((seconds, fn, args))

    def fire(self) -> None:
        _, fn, args = self.timers.pop(0)
        fn(*args)


def events(link: Any) -> list[dict[str, Any]]:
    chunks, _ = link.stream._take()
    out = []
    for chunk in chunks:
        size, _, data = chunk.partition(b"\n")
        assert int(size) == len(data)
        out.append(json.loads(data))
    return out


def test_http_scheduler_pids_are_on_no_node() -> None:
    pid = http_scheduler_pid("abc")
    assert is_http_scheduler(pid) and native_pid(pid) is None
    assert str(pid).startswith("scheduler(abc)@")
    native = PID("scheduler(1)", "127.0.0.1", 5000)
    assert not is_http_scheduler(native) and native_pid(native) == native


def test_subscribed_then_heartbeats_on_the_timer() -> None:
    h = Harness()
    pid = http_scheduler_pid("s1")
    link = h.links.open(pid, "s1")
    h.links.deliver(pid, FrameworkRegistered(framework_id="F", master_info=MasterInfo(id="m")))
    assert [e["type"] for e in events(link)] == ["SUBSCRIBED", "HEARTBEAT"]
    assert h.timers[0][0] == 0.5
    h.fire()
    h.fire()
    assert [e["type"] for e in events(link)] == ["HEARTBEAT", "HEARTBEAT"]
    h.links.deliver(pid, LostAgent(agent_id="A"))
    assert events(link) == [{"type": "FAILURE", "failure": {"agent_id": {"value": "A"}}}]
    assert h.traced == ["FrameworkRegistered", "LostAgent"] and not h.exited


def test_a_closed_stream_is_the_frameworks_exit_and_stops_heartbeats() -> None:
    h = Harness()
    pid = http_scheduler_pid("s2")
    link = h.links.open(pid, "s2")
    h.links.deliver(pid, FrameworkRegistered(framework_id="F", master_info=MasterInfo(id="m")))
    link.stream._leave()  # the client went away
    h.fire()  # the next heartbeat's write fails
    assert h.exited == [pid] and h.links.get(pid) is None and not h.timers
    h.links.deliver(pid, LostAgent(agent_id="A"))  # dropped, no error
    assert h.exited == [pid]


def test_an_error_before_subscribing_is_a_refusal_and_after_it_closes_the_stream() -> None:
    h = Harness()
    refused = h.links.open(http_scheduler_pid("r"), "r")
    h.links.deliver(refused.pid, FrameworkError(message="framework refused: bad"))
    assert refused.refused == "framework refused: bad" and not refused.stream.open
    ok = h.links.open(http_scheduler_pid("o"), "o")
    h.links.deliver(ok.pid, FrameworkRegistered(framework_id="F", master_info=MasterInfo(id="m")))
    h.links.deliver(ok.pid, FrameworkError(message="framework failed over"))
    assert events(ok)[-1] == {"type": "ERROR", "error": {"message": "framework failed over"}}
    assert not ok.stream.open and h.exited == [refused.pid, ok.pid]


def test_close_by_the_master_is_no_exit() -> None:
    h = Harness()
    link = h.links.open(http_scheduler_pid("t"), "t")
    h.links.close(link.pid)
    assert not link.stream.open and not h.exited and h.links.get(link.pid) is None


def test_an_error_while_handling_a_call_is_its_answer_and_keeps_the_stream() -> None:
    h = Harness()
    link = h.links.open(http_scheduler_pid("u"), "u")
    h.links.deliver(link.pid, FrameworkRegistered(framework_id="F",
                                                  master_info=MasterInfo(id="m")))
    link.in_call = True
    h.links.deliver(link.pid, FrameworkError(message="update refused: user is fixed"))
    assert link.refused == "update refused: user is fixed"
    assert link.stream.open and not h.exited
    assert [e["type"] for e in events(link)] == ["SUBSCRIBED", "HEARTBEAT"]
