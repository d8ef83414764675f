"""Process and Node in one OS process: dispatch, timers, links, hooks, tracing, HTTP."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from tests.transport.helpers import WAIT, Mailbox, spawn_inbox
from tests.transport.wire import Add, Count, Echo, Echoed, Forward, GetCount
from transport import PID, HttpRequest, HttpResponse, ManualClock, Node, Process, handles
from transport.codec import message_name
from transport.errors import BindError


class Worker(Process):
    """Echoes, counts, forwards along a route; ``b"boom"`` makes its handler raise."""

    def __init__(self, node: Node, name: str | None = None) -> None:
        super().__init__(node, name)
        self.total = 0

    @handles(Echo)
    def _on_echo(self, frm: PID, msg: Echo) -> None:
        if msg.payload == b"boom":
            raise RuntimeError("boom")
        self.send(frm, Echoed(seq=msg.seq, payload=msg.payload, by=self.pid))

    @handles(Add)
    def _on_add(self, frm: PID, msg: Add) -> None:
        self.total += msg.n

    @handles(GetCount)
    def _on_get_count(self, frm: PID, msg: GetCount) -> None:
        self.send(frm, Count(total=self.total, adds=0))

    @handles(Forward)
    def _on_forward(self, frm: PID, msg: Forward) -> None:
        if msg.step < len(msg.route):
            self.send(msg.route[msg.step], Forward(route=msg.route, step=msg.step + 1))

    def unhandled(self, frm: PID, msg: Any) -> None:
        self.send(frm, Echoed(seq=-1, payload=message_name(msg).encode()))


class Doubler(Worker):
    """Inherits every handler of Worker and overrides ``Add`` with a new handler."""

    @handles(Add)
    def _on_add_twice(self, frm: PID, msg: Add) -> None:
        self.total += 2 * msg.n


class Tripler(Worker):
    """Overrides the method that handles ``Add`` without repeating ``@handles``."""

    def _on_add(self, frm: PID, msg: Add) -> None:
        self.total += 3 * msg.n


def spawn(node: Node, cls: type[Process], name: str, *args: Any) -> PID:
    node.spawn(cls, *args, name=name) if not args else node.spawn(cls, *args)
    return node.pid(name)


def ask_count(node: Node, inbox: PID, box: Mailbox, pid: PID) -> int:
    node.send(inbox, pid, GetCount())
    msg = box.get_msg()
    assert isinstance(msg, Count)
    return msg.total


# --- dispatch ---------------------------------------------------------------------------


def test_handler_table_dispatches_by_message_type(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker = spawn(node, Worker, "worker")
    node.send(inbox, worker, Echo(seq=1, payload=b"hi"))
    assert box.get() == (worker, Echoed(seq=1, payload=b"hi", by=worker))
    for n in (1, 2, 3):
        node.send(inbox, worker, Add(n=n))
    assert ask_count(node, inbox, box, worker) == 6


def test_handler_table_is_built_once_per_class() -> None:
    assert set(Worker.handlers) == {Echo, Add, GetCount, Forward}
    assert Process.handlers == {}


def test_subclass_inherits_handlers_and_can_replace_one(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    doubler = spawn(node, Doubler, "doubler")
    node.send(inbox, doubler, Echo(seq=7))
    assert box.get_msg() == Echoed(seq=7, by=doubler)
    node.send(inbox, doubler, Add(n=5))
    assert ask_count(node, inbox, box, doubler) == 10


def test_overriding_a_handler_method_in_a_subclass_takes_effect(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    tripler = spawn(node, Tripler, "tripler")
    node.send(inbox, tripler, Add(n=5))
    assert ask_count(node, inbox, box, tripler) == 15


def test_a_message_without_a_handler_goes_to_unhandled(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker = spawn(node, Worker, "worker")
    node.send(inbox, worker, Count(total=1, adds=1))
    assert box.get_msg() == Echoed(seq=-1, payload=b"test.Count")


def test_a_handler_that_raises_does_not_stop_the_process(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker = spawn(node, Worker, "worker")
    node.send(inbox, worker, Echo(seq=1, payload=b"boom"))
    node.send(inbox, worker, Echo(seq=2))
    assert box.get_msg() == Echoed(seq=2, by=worker)
    assert node.processes["worker"].actor_ref.is_alive()


def test_generated_names_are_unique_per_prefix(node: Node) -> None:
    refs = [node.spawn(Worker) for _ in range(3)]
    names = [ref.proxy().pid.get(timeout=WAIT).name for ref in refs]
    assert names == ["worker(1)", "worker(2)", "worker(3)"]


def test_two_processes_cannot_share_a_name(node: Node) -> None:
    spawn(node, Worker, "worker")
    with pytest.raises(Exception, match="already runs"):
        node.spawn(Worker, name="worker")


def test_messages_between_two_nodes_arrive_in_order(make_node: Callable[..., Node]) -> None:
    a, b = make_node(), make_node()
    inbox, box = spawn_inbox(a)
    worker = spawn(b, Worker, "worker")
    for seq in range(500):
        a.send(inbox, worker, Echo(seq=seq))
    assert [box.get_msg().seq for _ in range(500)] == list(range(500))
    assert b.stats["received"] >= 500 and a.stats["sent"] >= 500


# --- timers -----------------------------------------------------------------------------


class Sleeper(Process):
    """Answers ``Echo`` after ``seq`` seconds on the node's clock, or never if cancelled."""

    @handles(Echo)
    def _on_echo(self, frm: PID, msg: Echo) -> None:
        timer = self.delay(msg.seq, self.send, frm, Echoed(seq=msg.seq, by=self.pid))
        if msg.payload == b"cancel":
            timer.cancel()

    @handles(GetCount)
    def _on_get_count(self, frm: PID, msg: GetCount) -> None:
        self.send(frm, Count(total=int(self.now()), adds=0))


def test_delay_fires_when_the_manual_clock_reaches_it(make_node: Callable[..., Node]) -> None:
    clock = ManualClock(start=100.0)
    node = make_node(clock=clock)
    inbox, box = spawn_inbox(node)
    sleeper = spawn(node, Sleeper, "sleeper")
    node.send(inbox, sleeper, Echo(seq=5))
    node.send(inbox, sleeper, GetCount())  # a barrier: the timer is set once this answers
    assert box.get_msg() == Count(total=100, adds=0)
    clock.advance(4.9)
    assert clock.pending() == 1
    clock.advance(0.1)
    assert box.get_msg() == Echoed(seq=5, by=sleeper)
    assert clock.pending() == 0


def test_a_cancelled_delay_never_fires(make_node: Callable[..., Node]) -> None:
    clock = ManualClock()
    node = make_node(clock=clock)
    inbox, box = spawn_inbox(node)
    sleeper = spawn(node, Sleeper, "sleeper")
    node.send(inbox, sleeper, Echo(seq=5, payload=b"cancel"))
    node.send(inbox, sleeper, Echo(seq=6))
    node.send(inbox, sleeper, GetCount())
    box.get_msg()
    assert clock.pending() == 1
    clock.advance(10)
    assert box.get_msg() == Echoed(seq=6, by=sleeper)  # seq 5 would have come first
    node.send(inbox, sleeper, GetCount())
    assert isinstance(box.get_msg(), Count)
    assert box.messages.empty()


# --- links ------------------------------------------------------------------------------


def test_stopping_a_linked_local_process_gives_exited(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker = spawn(node, Worker, "worker")
    node.link(inbox.name, worker)
    node.processes["worker"].actor_ref.stop(block=True, timeout=WAIT)
    assert box.get_exit() == worker


def test_linking_to_a_local_process_that_does_not_exist_gives_exited_at_once(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    node.link(inbox.name, node.pid("ghost"))
    assert box.get_exit() == node.pid("ghost")


def test_an_unlinked_process_gets_no_exited(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker, other = spawn(node, Worker, "worker"), spawn(node, Worker, "other")
    node.link(inbox.name, worker)
    node.link(inbox.name, other)
    node.unlink(inbox.name, worker)
    node.processes["worker"].actor_ref.stop(block=True, timeout=WAIT)
    node.processes["other"].actor_ref.stop(block=True, timeout=WAIT)
    assert box.get_exit() == other
    assert box.exits.empty()


# --- dropped messages -------------------------------------------------------------------


def test_a_send_to_an_unknown_local_process_is_dropped_and_counted(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    node.send(inbox, node.pid("nobody"), Echo(seq=1))
    assert node.stats["dropped/unknown_process"] == 1
    assert box.messages.empty()


def test_a_send_to_an_unknown_remote_process_is_dropped_and_counted(
    make_node: Callable[..., Node],
) -> None:
    a, b = make_node(), make_node()
    inbox, box = spawn_inbox(a)
    worker = spawn(b, Worker, "worker")
    a.send(inbox, b.pid("nobody"), Echo(seq=1))
    a.send(inbox, worker, Echo(seq=2))  # same connection, so it arrives after the first
    assert box.get_msg().seq == 2
    assert b.stats["dropped/unknown_process"] == 1


# --- hooks ------------------------------------------------------------------------------


def test_drop_in_loses_matching_messages_only(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker = spawn(node, Worker, "worker")
    node.hooks.drop(Echo, to="worker")
    node.send(inbox, worker, Echo(seq=1))
    node.send(inbox, worker, Add(n=4))
    assert ask_count(node, inbox, box, worker) == 4
    assert box.messages.empty() and node.stats["dropped/hook"] == 1


def test_a_count_limited_drop_drops_only_the_first_ones(make_node: Callable[..., Node]) -> None:
    a, b = make_node(), make_node()
    inbox, box = spawn_inbox(a)
    worker = spawn(b, Worker, "worker")
    rule = b.hooks.drop(Echo, frm=inbox, count=2)
    for seq in range(4):
        a.send(inbox, worker, Echo(seq=seq))
    assert [box.get_msg().seq for _ in range(2)] == [2, 3]
    assert rule.hits == 2 and b.hooks.rules == ()


def test_drop_out_stops_a_message_before_it_leaves(make_node: Callable[..., Node]) -> None:
    a, b = make_node(), make_node()
    inbox, box = spawn_inbox(a)
    worker = spawn(b, Worker, "worker")
    a.hooks.drop(Echo, to=b.address, direction="out", where=lambda m: m.seq % 2 == 0)
    for seq in range(4):
        a.send(inbox, worker, Echo(seq=seq))
    assert [box.get_msg().seq for _ in range(2)] == [1, 3]
    assert a.stats["dropped/hook"] == 2 and b.stats["received"] == 2


def test_a_removed_drop_rule_no_longer_drops(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker = spawn(node, Worker, "worker")
    rule = node.hooks.drop(Echo)
    node.send(inbox, worker, Echo(seq=1))
    rule.remove()
    node.send(inbox, worker, Echo(seq=2))
    assert box.get_msg().seq == 2


def test_expect_resolves_with_the_first_match_and_still_delivers(
    make_node: Callable[..., Node],
) -> None:
    a, b = make_node(), make_node()
    inbox, box = spawn_inbox(a)
    worker = spawn(b, Worker, "worker")
    arrived = b.hooks.expect(Echo, to=worker, where=lambda m: m.seq > 1)
    left = a.hooks.expect(Echo, direction="out")
    for seq in range(3):
        a.send(inbox, worker, Echo(seq=seq))
    assert arrived.result(WAIT) == (inbox, worker, Echo(seq=2))
    assert left.result(WAIT) == (inbox, worker, Echo(seq=0))
    assert [box.get_msg().seq for _ in range(3)] == [0, 1, 2]


def test_capture_records_every_match_until_removed(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    worker = spawn(node, Worker, "worker")
    seen = node.hooks.capture(Echoed, frm="worker")
    for seq in range(3):
        node.send(inbox, worker, Echo(seq=seq))
    [box.get_msg() for _ in range(3)]
    seen.rule.remove()
    node.send(inbox, worker, Echo(seq=9))
    box.get_msg()
    assert [(f, t, m.seq) for f, t, m in seen] == [(worker, inbox, 0), (worker, inbox, 1),
                                                    (worker, inbox, 2)]


# --- tracing ----------------------------------------------------------------------------


def recv_events(node: Node, name: str, count: int) -> list[dict[str, Any]]:
    """The ``count`` trace.recv events of ``name``, in hop order.

    A process records its trace.recv once its handler has returned, so the next hop (which
    may run at once) can record first, and the last one may still be recording when the
    test has already seen its message: wait for all of them, then order by hop.
    """
    deadline = time.monotonic() + WAIT
    while True:
        events = [e for e in list(node.tracer.recent)
                  if e["event"] == "trace.recv" and e["name"] == name]
        if len(events) >= count or time.monotonic() > deadline:
            return sorted(events, key=lambda e: e["hop"])
        time.sleep(0.005)


def test_a_traced_chain_keeps_one_trace_id_and_links_parents(
    make_node: Callable[..., Node],
) -> None:
    node = make_node(trace=True)
    inbox, box = spawn_inbox(node)
    a, b, c = (spawn(node, Worker, n) for n in "abc")
    node.send(inbox, a, Forward(route=(a, b, c, inbox), step=1))
    assert box.get_msg() == Forward(route=(a, b, c, inbox), step=4)
    events = recv_events(node, "test.Forward", 4)
    assert [e["to"] for e in events] == [str(a), str(b), str(c), str(inbox)]
    assert len({e["trace_id"] for e in events}) == 1
    assert [e["hop"] for e in events] == [0, 1, 2, 3]
    assert events[0]["parent_id"] is None
    for parent, child in itertools.pairwise(events):
        assert child["parent_id"] == parent["msg_id"]
    sends = [e for e in node.tracer.recent if e["event"] == "trace.send"]
    assert sorted(e["msg_id"] for e in sends) == sorted(e["msg_id"] for e in events)


def test_a_received_trace_propagates_through_a_node_with_tracing_off(
    make_node: Callable[..., Node],
) -> None:
    traced, quiet = make_node(trace=True), make_node(trace=False)
    inbox, box = spawn_inbox(traced)
    a, c = spawn(traced, Worker, "a"), spawn(traced, Worker, "c")
    b = spawn(quiet, Worker, "b")
    node_route = (a, b, c, inbox)
    traced.send(inbox, a, Forward(route=node_route, step=1))
    box.get_msg()
    events = recv_events(traced, "test.Forward", 3)
    assert [e["to"] for e in events] == [str(a), str(c), str(inbox)]
    assert len({e["trace_id"] for e in events}) == 1
    assert [e["hop"] for e in events] == [0, 2, 3]
    (a_to_b,) = [e for e in traced.tracer.recent
                 if e["event"] == "trace.send" and e["to"] == str(b)]
    assert a_to_b["size"] > 0 and a_to_b["parent_id"] == events[0]["msg_id"]
    assert events[1]["parent_id"] == a_to_b["msg_id"]  # b's send kept b's received msg id
    assert list(quiet.tracer.recent) == []


def test_without_tracing_no_trace_is_started_or_recorded(node: Node) -> None:
    inbox, box = spawn_inbox(node)
    a = spawn(node, Worker, "a")
    seen = node.hooks.capture(Forward)
    node.send(inbox, a, Forward(route=(a, inbox), step=1))
    box.get_msg()
    assert len(seen) == 2 and list(node.tracer.recent) == []


# --- HTTP -------------------------------------------------------------------------------


class Stateful(Worker):
    """Serves its counter at ``/state``; ``/boom`` raises; ``/echo`` returns the request."""

    def on_start(self) -> None:
        self.route("/state", self._state)
        self.route("boom", self._boom)
        self.route("/echo", self._echo)

    def _state(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json({"total": self.total, "thread": threading.current_thread().name})

    def _boom(self, request: HttpRequest) -> HttpResponse:
        raise ValueError("kaput")

    def _echo(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json({"method": request.method, "query": dict(request.query),
                                  "body": request.json()})


def http(node: Node, path: str, data: bytes | None = None) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{node.http_port}{path}"
    try:
        with urllib.request.urlopen(url, data=data, timeout=WAIT) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def web(make_node: Callable[..., Node]) -> tuple[Node, PID, Mailbox]:
    node = make_node(http_port=0)
    inbox, box = spawn_inbox(node)
    node.spawn(Stateful, name="master")
    node.send(inbox, node.pid("master"), Add(n=3))
    ask_count(node, inbox, box, node.pid("master"))  # on_start has run: routes are in
    return node, inbox, box


def test_a_route_is_served_under_the_process_name_on_its_thread(
    web: tuple[Node, PID, Mailbox],
) -> None:
    node, _, _ = web
    status, body = http(node, "/master/state")
    assert status == 200 and body["total"] == 3
    assert body["thread"] != threading.current_thread().name


def test_a_route_gets_method_query_and_body(web: tuple[Node, PID, Mailbox]) -> None:
    status, body = http(web[0], "/master/echo?x=1", data=b'{"a": [1]}')
    assert status == 200 and body == {"method": "POST", "query": {"x": "1"}, "body": {"a": [1]}}


def test_the_http_delegate_serves_its_routes_without_the_prefix(
    web: tuple[Node, PID, Mailbox],
) -> None:
    node = web[0]
    assert http(node, "/state")[0] == 404
    node.http_delegate = "master"
    assert http(node, "/state") == http(node, "/master/state")


def test_a_handler_exception_gives_500_and_the_process_lives_on(
    web: tuple[Node, PID, Mailbox],
) -> None:
    node = web[0]
    status, body = http(node, "/master/boom")
    assert status == 500 and "ValueError: kaput" in body["error"]
    assert http(node, "/master/state")[0] == 200


def test_an_unknown_path_gives_404(web: tuple[Node, PID, Mailbox]) -> None:
    node = web[0]
    assert http(node, "/master/nothing")[0] == 404
    assert http(node, "/nobody/state")[0] == 404


def test_routes_of_a_stopped_process_give_404(web: tuple[Node, PID, Mailbox]) -> None:
    node = web[0]
    node.processes["master"].actor_ref.stop(block=True, timeout=WAIT)
    assert http(node, "/master/state")[0] == 404


class Blocker(Process):
    """Blocks in its first handler until the test releases it."""

    def __init__(self, node: Node, gate: threading.Event, entered: threading.Event) -> None:
        super().__init__(node, "blocker")
        self.gate, self.entered = gate, entered

    @handles(Add)
    def _on_add(self, frm: PID, msg: Add) -> None:
        self.entered.set()
        self.gate.wait(WAIT)


def test_processes_endpoint_lists_processes_and_inbox_sizes(
    make_node: Callable[..., Node],
) -> None:
    node = make_node(http_port=0)
    inbox, _ = spawn_inbox(node)
    gate, entered = threading.Event(), threading.Event()
    node.spawn(Blocker, gate, entered)
    try:
        node.send(inbox, node.pid("blocker"), Add(n=1))
        assert entered.wait(WAIT)
        for _ in range(5):
            node.send(inbox, node.pid("blocker"), Add(n=1))
        status, body = http(node, "/__processes__")
    finally:
        gate.set()
    assert status == 200 and body["address"] == node.address
    procs = {p["id"]: p for p in body["processes"]}
    assert set(procs) == {"inbox", "blocker"}
    assert procs["blocker"]["inbox"] == 5 and procs["blocker"]["class"] == "Blocker"
    assert procs["inbox"]["pid"] == str(inbox)


# --- life cycle -------------------------------------------------------------------------


def test_a_taken_zeromq_port_is_a_bind_error_that_leaks_no_descriptor(node: Node) -> None:
    me = psutil.Process()
    with pytest.raises(BindError):  # warm up what libzmq allocates once per OS process
        Node("127.0.0.1", node.port).start()
    fds = me.num_fds()
    for _ in range(3):
        with pytest.raises(BindError):
            Node("127.0.0.1", node.port).start()
    assert me.num_fds() <= fds


def test_a_taken_http_port_is_a_bind_error_that_leaves_nothing_bound() -> None:
    before = set(threading.enumerate())  # other tests' leftovers are not this test's business
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        other = Node("127.0.0.1", 0, http_port=blocker.getsockname()[1])
        with pytest.raises(BindError):
            other.start()
    alive = [t.name for t in threading.enumerate()
             if t.name.startswith("meseta-") and t not in before]
    assert alive == []


def test_a_stopped_node_leaves_no_threads_and_closes_its_event_loop(
    make_node: Callable[..., Node],
) -> None:
    before = set(threading.enumerate())
    node = make_node(http_port=0)
    node.spawn(Worker, name="worker")
    http_server = node._http
    assert http_server is not None
    node.stop()
    assert [t.name for t in threading.enumerate()
            if t.name.startswith("meseta-") and t not in before] == []
    assert http_server._loop.is_closed()
    node.stop()  # a second stop is harmless
