"""The I/O thread's peers: one PUSH socket per remote node, its monitor and its links.

``Peers`` is owned and called only by ``transport.io.IOThread``, on its thread (the
outbound half, ``transport.io_outbound``, asks it for a peer's socket). A peer is
created on the first send to or ``link`` of a ``host:port`` (libprocess' model: we push
to it, it pushes to our PULL), with ZMTP heartbeats, a connect and handshake timeout of
``node.link_timeout``, a CURVE client set-up under ``node.curve``
(``transport.io_guard.secure_push``) and a socket monitor. The monitors are polled by the
loop every ``monitor_interval`` (``check_monitors``), not on every wake-up, so a node
talking to thousands of peers does not poll thousands of sockets each time.

When a connection fails or breaks (refused, reset, no handshake or heartbeat in time, an
address ZeroMQ cannot parse, a failed CURVE handshake: logged, counted as
``handshake_failed`` and noted in ``node.handshake_failures``) the peer is closed, what
it still had in its backlog is dropped (``dropped/unreachable``: at most once, like
libprocess), its linkers get ``exited`` (``node._exited``) and the next send reconnects
afresh. ``describe`` is what ``/__processes__`` shows of them (``Node.describe``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
import zmq
from zmq.utils.monitor import parse_monitor_message

from transport.curve import handshake_failure
from transport.io_guard import HANDSHAKE_FAILED, secure_push
from transport.pid import PID

if TYPE_CHECKING:
    from transport.node import Node

__all__ = ["Peer", "Peers"]

_log = structlog.get_logger("meseta.transport")
_MONITOR_EVENTS = (zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED
                   | HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED)


@dataclass(eq=False)
class Peer:
    """One remote node: our PUSH to it, its monitor, what waits to be sent, who links it."""

    address: str
    push: zmq.Socket[bytes]
    monitor: zmq.Socket[bytes]
    backlog: deque[tuple[bytes, int]] = field(default_factory=deque)  # (frame, envelopes)
    backlogged: int = 0
    linkers: set[tuple[PID, str]] = field(default_factory=set)
    connected: bool = False


class Peers:
    """The node's connections to remote nodes; see the module docstring."""

    def __init__(self, node: Node, ctx: zmq.Context[zmq.Socket[bytes]], poller: zmq.Poller
                 ) -> None:
        self.node = node
        self._ctx = ctx
        self._poller = poller
        """The loop's poller, where a peer's PUSH waits for POLLOUT while it has a backlog."""
        self.by_address: dict[str, Peer] = {}
        self.by_push: dict[zmq.Socket[bytes], Peer] = {}
        self._by_monitor: dict[zmq.Socket[bytes], Peer] = {}
        self._monitors = zmq.Poller()

    def get(self, address: str) -> Peer | None:
        """The peer at ``address``, connecting it first; ``None`` if not connectable."""
        return self.by_address.get(address) or self._connect(address)

    def _connect(self, address: str) -> Peer | None:
        """A new peer's socket; ``None`` (nothing kept) when ``address`` is not connectable."""
        node = self.node
        push = self._ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, node.sndhwm)
        push.setsockopt(zmq.LINGER, 0)
        hb_ms = max(100, int(node.link_timeout * 1000))
        push.setsockopt(zmq.HEARTBEAT_IVL, max(50, hb_ms // 3))
        push.setsockopt(zmq.HEARTBEAT_TIMEOUT, hb_ms)
        push.setsockopt(zmq.HEARTBEAT_TTL, hb_ms)
        # Heartbeats start after the ZMTP handshake: a peer that accepts the TCP
        # connection (or never completes it) but never speaks ZMTP is just as silent.
        push.setsockopt(zmq.CONNECT_TIMEOUT, hb_ms)
        push.setsockopt(zmq.HANDSHAKE_IVL, hb_ms)
        if node.curve is not None:
            secure_push(push, node.curve, address)
        monitor = push.get_monitor_socket(_MONITOR_EVENTS)
        peer = Peer(address, push, monitor)
        try:
            push.connect(f"tcp://{address}")
        except zmq.ZMQError as exc:  # a peer's PID named a host ZeroMQ cannot parse
            _log.info("cannot connect", peer=address[:100], error=str(exc))
            self.close(peer, linger=0)
            return None
        self.by_address[address] = peer
        self.by_push[push] = peer
        self._by_monitor[monitor] = peer
        self._monitors.register(monitor, zmq.POLLIN)
        return peer

    def check_monitors(self) -> None:
        """Handle what the peers' monitors reported since the last check."""
        for sock, _ in self._monitors.poll(0):
            peer = self._by_monitor.get(sock)
            if peer is not None:
                self._on_monitor(peer)

    def _on_monitor(self, peer: Peer) -> None:
        while True:
            try:
                message = parse_monitor_message(peer.monitor.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                return
            event = message["event"]
            if event == zmq.EVENT_CONNECTED:
                peer.connected = True
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.node.handshake_failures.pop(peer.address, None)
            elif event & HANDSHAKE_FAILED:
                why = handshake_failure(event, message["value"], self.node.curve is not None)
                self.node.stats["handshake_failed"] += 1
                self.node.handshake_failures[peer.address] = why
                _log.error("handshake failed", peer=peer.address, why=why)
                self._lost(peer, f"handshake failed: {why}")
                return
            elif event in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CONNECT_RETRIED):
                self._lost(peer, "disconnected" if peer.connected else "connection refused")
                return

    def _lost(self, peer: Peer, why: str) -> None:
        if peer.backlogged:
            self.node.stats["dropped/unreachable"] += peer.backlogged
        _log.info("peer connection lost", peer=peer.address, why=why, dropped=peer.backlogged)
        self.close(peer, linger=0)
        for pid, linker in peer.linkers:
            self.node._exited(linker, pid)

    def close(self, peer: Peer, linger: int) -> None:
        """Forget ``peer`` and close its sockets (``linger`` ms: hand over its backlog)."""
        self.by_address.pop(peer.address, None)
        self.by_push.pop(peer.push, None)
        self._by_monitor.pop(peer.monitor, None)
        for poller, sock in ((self._monitors, peer.monitor), (self._poller, peer.push)):
            try:
                poller.unregister(sock)
            except KeyError:
                pass
        peer.push.disable_monitor()
        peer.monitor.close(0)
        if linger and peer.backlog:  # at a clean stop, hand ZeroMQ what is still queued
            for frame, _ in peer.backlog:
                try:
                    peer.push.send(frame, zmq.NOBLOCK)
                except zmq.Again:
                    break
        peer.push.close(linger)

    def close_all(self, linger: int) -> None:
        for peer in list(self.by_address.values()):
            self.close(peer, linger)

    # --- links (control operations the loop runs for ``Node.link`` / ``unlink``) -------

    def link(self, address: str, pid: PID, linker: str) -> None:
        peer = self.get(address)
        if peer is None:  # never connectable: the link is broken from the start
            self.node._exited(linker, pid)
            return
        peer.linkers.add((pid, linker))

    def unlink(self, address: str, pid: PID, linker: str) -> None:
        peer = self.by_address.get(address)
        if peer is not None:
            peer.linkers.discard((pid, linker))

    def describe(self) -> list[dict[str, Any]]:
        """The peers as ``/__processes__`` shows them (read from other threads: a snapshot)."""
        return [
            {"address": p.address, "connected": p.connected, "backlog": p.backlogged,
             "links": sorted(str(pid) for pid, _ in p.linkers)}
            for p in list(self.by_address.values())
        ]
