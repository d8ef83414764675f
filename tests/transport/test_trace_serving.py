"""Trace events: their key fields, filters, the context handed to executors, timers that
continue a trace, and ``/__trace__`` (filters and the ``follow=1`` stream) on a real node."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from actors.messages import (
    AcceptOffers,
    FrameworkInfo,
    RegisterExecutor,
    RunTask,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    StatusUpdateInfo,
    TaskInfo,
    TaskState,
    TaskStatus,
)
from actors.messages.offers import launch
from actors.resources import Resources
from tests.transport.helpers import WAIT, spawn_inbox
from tests.transport.wire import Echo, Forward
from transport import PID, HttpRequest, HttpResponse, ManualClock, Node, Process, handles
from transport.trace import MAX_HOPS, TraceContext, message_keys, select

TASK = TaskInfo(name="t", task_id="t1", agent_id="S1", resources=Resources.parse("cpus:1"))


def test_message_keys_reads_task_framework_agent_and_state() -> None:
    fw = FrameworkInfo(user="u", name="f", id="F1")
    assert message_keys(RunTask(framework_info=fw, task=TASK)) == {
        "task_id": "t1", "agent_id": "S1", "framework_id": "F1"}
    status = TaskStatus(task_id="t1", state=TaskState.TASK_RUNNING, agent_id="S1")
    update = StatusUpdate(update=StatusUpdateInfo(framework_id="F1", status=status,
                                                  timestamp=1.0, uuid=b"u"))
    assert message_keys(update) == {"task_id": "t1", "state": "TASK_RUNNING",
                                    "agent_id": "S1", "framework_id": "F1"}
    ack = StatusUpdateAcknowledgement(agent_id="S1", framework_id="F1", task_id="t1", uuid=b"u")
    assert message_keys(ack) == {"task_id": "t1", "agent_id": "S1", "framework_id": "F1"}
    accept = AcceptOffers(framework_id="F1", offer_ids=("o1",), operations=(launch(TASK),))
    assert message_keys(accept) == {"task_id": "t1", "framework_id": "F1"}
    assert message_keys(RegisterExecutor(framework_id="F1", executor_id="e1")) == {
        "framework_id": "F1", "executor_id": "e1"}
    assert message_keys(Echo(seq=1)) == {} and message_keys(None) == {}


def test_select_filters_by_every_key_and_since_seq_or_time() -> None:
    events = [{"seq": 1, "ts": 2e9, "name": "A", "task_id": "t1", "trace_id": "x"},
              {"seq": 2, "ts": 2e9 + 5, "name": "B", "task_id": "t2", "trace_id": "x"},
              {"seq": 3, "ts": 2e9 + 9, "name": "A", "task_id": "t2", "trace_id": "y"}]
    assert [e["seq"] for e in select(events, name="A")] == [1, 3]
    assert [e["seq"] for e in select(events, task_id="t2", trace_id="x")] == [2]
    assert [e["seq"] for e in select(events, since=1)] == [2, 3]  # a seq
    assert [e["seq"] for e in select(events, since=2e9 + 5)] == [3]  # a time
    assert select(events, name="C") == []


def test_a_trace_context_travels_through_the_environment() -> None:
    ctx = TraceContext(0xABC, 0xDEF, 7, 3)
    back = TraceContext.from_env(ctx.to_env())
    assert back == TraceContext(0xABC, 0xDEF, 0, 3)
    child = back.child() if back is not None else None
    assert child is not None and child.trace_id == 0xABC and child.parent_id == 0xDEF
    for bad in (None, "", "zz:1:1", "1:2", "0:1:1", f"1:1:{MAX_HOPS + 1}"):
        assert TraceContext.from_env(bad) is None


class Later(Process):
    """Forwards a ``Forward`` to its next stop from a timer, not from the handler."""

    @handles(Forward)
    def _on_forward(self, frm: PID, msg: Forward) -> None:
        self.delay(1.0, self.send, msg.route[msg.step], Forward(route=msg.route, step=msg.step + 1))


def _events(node: Node, name: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while True:
        found = [e for e in node.tracer.snapshot()
                 if e["event"] == "trace.recv" and e["name"] == name]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.005)


def test_a_timer_set_in_a_traced_handler_continues_its_trace(
        make_node: Callable[..., Node]) -> None:
    clock = ManualClock()
    node = make_node(trace=True, clock=clock)
    inbox, box = spawn_inbox(node)
    node.spawn(Later, name="later")
    later = node.pid("later")
    node.send(inbox, later, Forward(route=(later, inbox), step=1))
    first = _events(node, "test.Forward", 1)[0]
    clock.advance(1.0)
    assert box.get_msg() == Forward(route=(later, inbox), step=2)
    second = _events(node, "test.Forward", 2)[1]
    assert second["trace_id"] == first["trace_id"]
    assert second["parent_id"] == first["msg_id"] and second["hop"] == first["hop"] + 1
    assert first["node"] == node.address and second["seq"] > first["seq"]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=WAIT) as reply:
        return json.loads(reply.read())


def test_trace_endpoint_filters_and_streams(make_node: Callable[..., Node]) -> None:
    node = make_node(trace=True, http_port=0)
    inbox, box = spawn_inbox(node)
    base = f"http://127.0.0.1:{node.http_port}/__trace__"
    node.send(inbox, inbox, Echo(seq=1))
    box.get_msg()
    _events(node, "test.Echo", 1)
    every = _get(base)
    assert {e["event"] for e in every} == {"trace.send", "trace.recv"}
    assert [e["name"] for e in _get(f"{base}?name=test.Echo&since=1")] == ["test.Echo"]
    assert _get(f"{base}?name=nothing") == []
    last = max(e["seq"] for e in every)

    lines: list[dict[str, Any]] = []
    got = threading.Event()

    def follow() -> None:
        with urllib.request.urlopen(f"{base}?follow=1&name=test.Forward&timeout=30",
                                    timeout=WAIT) as reply:
            for line in reply:
                lines.append(json.loads(line))
                if len(lines) == 2:
                    got.set()
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    node.send(inbox, inbox, Forward(route=(inbox,), step=1))
    assert got.wait(WAIT), lines
    assert [e["event"] for e in lines] == ["trace.send", "trace.recv"]
    assert all(e["seq"] > last for e in lines)
    reader.join(WAIT)
    with urllib.request.urlopen(f"{base}?follow=1&timeout=0&name=test.Echo",
                                timeout=WAIT) as reply:  # the stream ends on timeout
        assert [json.loads(line)["name"] for line in reply] == ["test.Echo", "test.Echo"]
    bad = urllib.request.Request(f"{base}?since=soon")
    try:
        urllib.request.urlopen(bad, timeout=WAIT)
        raise AssertionError("since=soon was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400


def test_a_thread_route_runs_off_every_actor_thread(make_node: Callable[..., Node]) -> None:
    node = make_node(http_port=0)
    seen: list[str] = []

    def handler(request: HttpRequest) -> HttpResponse:
        seen.append(threading.current_thread().name)
        return HttpResponse.json({"q": request.query.get("q")})

    node.add_thread_route("/x/y", handler)
    assert _get(f"http://127.0.0.1:{node.http_port}/x/y?q=1") == {"q": "1"}
    actor_threads = {p.actor_ref.actor_class.__name__ for p in node.processes.values()}
    assert seen and seen[0] not in actor_threads and not seen[0].startswith("meseta-http")


def test_a_thread_route_ending_in_a_slash_serves_the_paths_under_it(
        make_node: Callable[..., Node]) -> None:
    node = make_node(http_port=0)
    node.add_thread_route("/p/", lambda r: HttpResponse.json({"short": r.path}))
    node.add_thread_route("/p/q/", lambda r: HttpResponse.json({"long": r.path}))
    node.add_thread_route("/p/exact", lambda r: HttpResponse.json({"exact": r.path}))
    base = f"http://127.0.0.1:{node.http_port}"
    assert _get(f"{base}/p/a/b") == {"short": "/p/a/b"}
    assert _get(f"{base}/p/q/r") == {"long": "/p/q/r"}  # the longest prefix wins
    assert _get(f"{base}/p/exact") == {"exact": "/p/exact"}
    for path in ("/p", "/px/a"):  # look-alikes are not served
        try:
            urllib.request.urlopen(f"{base}{path}", timeout=WAIT)
            raise AssertionError(f"{path} was served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404, path
