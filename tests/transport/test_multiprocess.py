"""Two OS processes over ZeroMQ on 127.0.0.1: messages, ordering, links, reconnection."""

from __future__ import annotations

import queue
import signal
import socket
import time
from collections.abc import Callable

from tests.transport.helpers import WAIT, Mailbox, Peer, spawn_inbox
from tests.transport.wire import Add, Count, Echo, Echoed, GetCount
from transport import PID, Node


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def echo_until_answered(node: Node, inbox: PID, box: Mailbox, to: PID) -> Echoed:
    """Send ``Echo`` until one is answered (messages sent while a peer is down are lost)."""
    deadline = time.monotonic() + WAIT
    seq = 0
    while time.monotonic() < deadline:
        seq += 1
        node.send(inbox, to, Echo(seq=seq))
        try:
            msg = box.get_msg(timeout=0.5)
        except queue.Empty:
            continue
        assert isinstance(msg, Echoed)
        return msg
    raise AssertionError(f"{to} never answered")


def test_request_and_reply_between_two_os_processes(
    make_node: Callable[..., Node], peers: Callable[..., Peer]
) -> None:
    peer = peers()
    node = make_node()
    inbox, box = spawn_inbox(node)
    node.send(inbox, peer.echo, Echo(seq=1, payload=b"\x00" * 100_000))
    frm, msg = box.get()
    assert frm == peer.echo
    assert msg == Echoed(seq=1, payload=b"\x00" * 100_000, by=peer.echo)


def test_a_thousand_messages_arrive_in_the_order_sent(
    make_node: Callable[..., Node], peers: Callable[..., Peer]
) -> None:
    peer = peers()
    node = make_node()
    inbox, box = spawn_inbox(node)
    for seq in range(1000):
        node.send(inbox, peer.echo, Echo(seq=seq))
    assert [box.get_msg().seq for _ in range(1000)] == list(range(1000))
    for n in range(1, 101):
        node.send(inbox, peer.echo, Add(n=n))
    node.send(inbox, peer.echo, GetCount())
    assert box.get_msg() == Count(total=5050, adds=100)


def test_exited_fires_after_the_peer_is_sigkilled(
    make_node: Callable[..., Node], peers: Callable[..., Peer]
) -> None:
    peer = peers()
    node = make_node()
    inbox, box = spawn_inbox(node)
    node.link(inbox.name, peer.echo)
    echo_until_answered(node, inbox, box, peer.echo)  # the connection is up
    assert box.exits.empty()
    killed = time.monotonic()
    peer.kill()
    assert box.get_exit() == peer.echo
    assert time.monotonic() - killed < 5.0
    assert box.exits.empty()  # one-shot


def test_linking_to_a_peer_that_never_existed_gives_exited(make_node: Callable[..., Node]) -> None:
    node = make_node()
    inbox, box = spawn_inbox(node)
    ghost = PID("echo", "127.0.0.1", closed_port())
    node.link(inbox.name, ghost)
    assert box.get_exit() == ghost


def test_messages_flow_again_after_the_peer_restarts_on_the_same_port(
    make_node: Callable[..., Node], peers: Callable[..., Peer]
) -> None:
    first = peers()
    node = make_node()
    inbox, box = spawn_inbox(node)
    node.link(inbox.name, first.echo)
    echo_until_answered(node, inbox, box, first.echo)
    first.kill()
    assert box.get_exit() == first.echo
    second = peers(port=first.port)
    assert second.echo == first.echo
    echo_until_answered(node, inbox, box, second.echo)
    while not box.messages.empty():  # late answers to the retries
        box.get_msg()
    for seq in range(100):
        node.send(inbox, second.echo, Echo(seq=seq))
    assert [box.get_msg().seq for _ in range(100)] == list(range(100))
    node.link(inbox.name, second.echo)  # and a new link watches the new connection
    second.kill()
    assert box.get_exit() == second.echo


def test_a_hung_peer_is_detected_by_heartbeats(
    make_node: Callable[..., Node], peers: Callable[..., Peer]
) -> None:
    peer = peers()
    node = make_node(link_timeout=0.6)
    inbox, box = spawn_inbox(node)
    node.link(inbox.name, peer.echo)
    echo_until_answered(node, inbox, box, peer.echo)
    peer.signal(signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        assert box.get_exit() == peer.echo
        assert time.monotonic() - stopped < 10.0
    finally:
        peer.signal(signal.SIGCONT)
        peer.kill()


def test_a_live_quiet_peer_is_not_declared_dead(
    make_node: Callable[..., Node], peers: Callable[..., Peer]
) -> None:
    peer = peers()
    node = make_node(link_timeout=0.6)
    inbox, box = spawn_inbox(node)
    node.link(inbox.name, peer.echo)
    echo_until_answered(node, inbox, box, peer.echo)
    try:  # several heartbeat timeouts of silence
        pid = box.get_exit(timeout=2.0)
    except queue.Empty:
        pid = None
    assert pid is None


def test_a_peer_that_accepts_but_never_speaks_zmtp_is_detected(
    make_node: Callable[..., Node]
) -> None:
    with socket.socket() as tarpit:  # listens, never accepts nor reads
        tarpit.bind(("127.0.0.1", 0))
        tarpit.listen(16)
        node = make_node(link_timeout=0.6)
        inbox, box = spawn_inbox(node)
        ghost = PID("echo", "127.0.0.1", tarpit.getsockname()[1])
        started = time.monotonic()
        node.link(inbox.name, ghost)
        node.send(inbox, ghost, Echo(seq=1))
        assert box.get_exit() == ghost
        assert time.monotonic() - started < 10.0


def test_a_pid_whose_host_zeromq_cannot_parse_loses_only_its_own_messages(
    make_node: Callable[..., Node], peers: Callable[..., Peer]
) -> None:
    peer = peers()
    node = make_node()
    inbox, box = spawn_inbox(node)
    echo_until_answered(node, inbox, box, peer.echo)
    bad = PID("echo", "bad host", 5)
    node.link(inbox.name, bad)
    assert box.get_exit() == bad
    for seq in range(50):  # queued in the same I/O pass as the unsendable ones
        node.send(inbox, bad, Echo(seq=seq))
        node.send(inbox, peer.echo, Echo(seq=seq))
    assert [box.get_msg().seq for _ in range(50)] == list(range(50))
    assert node.stats["dropped/unreachable"] >= 1
    assert node.stats.get("io_errors", 0) == 0
