"""The node's I/O thread: the only code in Meseta that touches ZeroMQ sockets.

Sockets (libprocess' two-connections-per-pair model, one frame per batch):
- one PULL bound at the node's ``host:port`` receives every inbound frame: a batch of
  envelopes (``transport.envelope``) from one peer;
- one PUSH per remote node, created on first send or ``link``, with ZMTP heartbeats and
  a socket monitor (polled every ``monitor_interval``, so a node talking to thousands
  of peers does not poll thousands of sockets on every wake-up).

Inbound envelopes are decoded here (bounded: ``MAXMSGSIZE``, msgpack limits, shape and
schema checks), run through the test hooks and handed to the addressed process's Pykka
inbox, one batch per process per frame. Anything malformed, unknown or misaddressed is
logged (rate limited) with what is known of the sender, dropped, and counted in
``stats``; the rest of its frame is still delivered.

Outbound envelopes arrive already packed from the sending actors' threads through a
``deque`` plus an eventfd wake-up (written only while this thread sleeps); each wake-up
sends, per peer, everything queued as one frame.

High-water marks: per peer, up to ``sndhwm`` frames wait inside ZeroMQ and up to
``backlog_limit`` more envelopes in our backlog, flushed in order when the socket is
writable; beyond that new messages to that peer are dropped and counted (``backlog``).
When a connection fails or breaks (refused, reset, no ZMTP handshake or heartbeat within
``link_timeout``, an address ZeroMQ cannot parse) its socket is
closed, whatever it still queued is dropped (``unreachable``: at most once, like
libprocess), linkers get ``exited``, and the next send reconnects afresh.

With ``node.curve`` (``transport.curve``) the PULL is a CURVE server and each PUSH a
CURVE client; this thread answers the ZAP requests (``transport.io_guard``: a REP at
``inproc://zeromq.zap.01`` in its own poll loop, decided by ``curve.zap_reply``),
receives frames with their ZAP User-Id and drops an envelope whose sender address
belongs to another key (``dropped/impersonation``). A handshake that fails (a plain
peer meeting a CURVE one, or a key the peer does not allow) is logged as an error,
counted (``handshake_failed``), noted in ``node.handshake_failures`` and ends the connection
like any lost one: linkers get ``exited`` and can tell why.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pykka
import structlog
import zmq
from zmq.utils.monitor import parse_monitor_message

from transport.curve import handshake_failure
from transport.envelope import batch, decode_envelope, parse_sender, split_batch
from transport.errors import BindError, CodecError, MessageTypeError, UnknownMessageError
from transport.io_guard import HANDSHAKE_FAILED, ServerGuard, secure_push
from transport.pid import PID
from transport.trace import TraceContext

if TYPE_CHECKING:
    from transport.node import Node

__all__ = ["IOThread"]

_log = structlog.get_logger("meseta.transport")
_BATCH = 512
_MONITOR_EVENTS = (zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED
                   | HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED)


_MAX_BATCH_ENVELOPES = 4096


@dataclass(eq=False)
class _Peer:
    address: str
    push: zmq.Socket[bytes]
    monitor: zmq.Socket[bytes]
    backlog: deque[tuple[bytes, int]] = field(default_factory=deque)  # (frame, envelopes)
    backlogged: int = 0
    linkers: set[tuple[PID, str]] = field(default_factory=set)
    connected: bool = False


class _DropLog:
    """Counts drops by reason and logs at most a few per second per reason."""

    def __init__(self, stats: Counter[str], per_second: int = 5) -> None:
        self._stats = stats
        self._per_second = per_second
        self._window: dict[str, tuple[float, int]] = {}

    def __call__(self, reason: str, count: int = 1, **fields: Any) -> None:
        self._stats[f"dropped/{reason}"] += count
        now = time.monotonic()
        start, logged = self._window.get(reason, (now, 0))
        if now - start >= 1.0:
            if logged > self._per_second:
                _log.warning("messages dropped", reason=reason,
                             suppressed=logged - self._per_second)
            start, logged = now, 0
        if logged < self._per_second:
            _log.warning("message dropped", reason=reason, **fields)
        self._window[reason] = (start, logged + 1)


class IOThread(threading.Thread):
    """Owns the node's zmq context and sockets; see the module docstring."""

    monitor_interval = 0.05

    def __init__(self, node: Node) -> None:
        super().__init__(name=f"meseta-io-{node.host}:{node.port}", daemon=True)
        self.node = node
        self.outbox: deque[tuple[str, Any]] = deque()
        self.idle = False
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._wake_lock = threading.Lock()
        """Guards writing and closing ``wake_fd``: an actor's late send or a second stop()
        must never write into a closed (perhaps reused) descriptor."""
        self._wake_closed = False
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.port = 0
        self._running = True
        self._peers: dict[str, _Peer] = {}
        self._by_push: dict[zmq.Socket[bytes], _Peer] = {}
        self._by_monitor: dict[zmq.Socket[bytes], _Peer] = {}
        self._senders: dict[str, PID] = {}
        self._deliveries: dict[Any, list[tuple[PID, Any, TraceContext | None]]] = {}
        self._drop = _DropLog(node.stats)
        self._ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._max_frame = max(1024, node.max_message_size - 64)

    # --- called from other threads ------------------------------------------------

    def submit(self, address: str, item: Any, wake: bool = True) -> None:
        """Queue a packed envelope (bytes) or a control operation for ``address``.

        ``wake=False`` leaves the wake-up to a later ``wake()``: an actor sending while
        it handles a batch wakes this thread once, when the batch is done, instead of
        waking it mid-handler (a GIL tug-of-war that costs a cross-core wake-up each).
        """
        self.outbox.append((address, item))
        if wake and self.idle:
            self._wake()

    def wake(self) -> None:
        """Wake this thread if it sleeps while envelopes wait in the outbox."""
        if self.idle and self.outbox:
            self._wake()

    def shutdown(self) -> None:
        self._running = False
        self._wake()

    def _wake(self) -> None:
        with self._wake_lock:
            if not self._wake_closed:
                os.eventfd_write(self.wake_fd, 1)

    def _close_wake_fd(self) -> None:
        with self._wake_lock:
            if not self._wake_closed:
                self._wake_closed = True
                os.close(self.wake_fd)

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        placement = self.node.placement
        placement.free()  # libzmq starts its own threads with the first socket: not pinned
        try:
            self.pull = self._bind()
        except BaseException as exc:
            self.error = exc
            self._ctx.destroy(linger=0)
            self._close_wake_fd()  # nothing will wake a thread that never ran
            self.ready.set()
            return
        placement.adopt()
        self.ready.set()
        poller = self._poller = zmq.Poller()
        poller.register(self.pull, zmq.POLLIN)
        poller.register(self.wake_fd, zmq.POLLIN)
        for sock in self._guard.sockets():
            poller.register(sock, zmq.POLLIN)
        self._monitors = zmq.Poller()
        self._next_check = 0.0
        try:
            while self._running:
                try:
                    self._step(poller)
                except Exception:  # a bug here must not take the node's I/O down with it
                    self.node.stats["io_errors"] += 1
                    _log.exception("transport I/O step failed", node=self.node.address)
                    time.sleep(0.01)
        finally:
            placement.release()
            self._close()

    def _step(self, poller: zmq.Poller) -> None:
        """Sleep until something happens, then deal with it."""
        self.idle = True
        timeout = 1000.0
        if self.outbox:
            timeout = 0.0
        elif self._peers:
            timeout = max(0.0, (self._next_check - time.monotonic()) * 1000 + 1)
        if self._deliveries:  # as late as possible: the woken actors find the GIL free
            self._deliver()
        events = poller.poll(int(timeout))
        self.idle = False
        for sock, _ in events:
            if sock is self.pull:
                self._receive()
            elif sock == self.wake_fd:
                try:
                    os.eventfd_read(self.wake_fd)
                except BlockingIOError:
                    pass
            elif self._guard.handle(sock):
                pass
            else:
                self._flush(self._by_push[sock])
        self._drain_outbox()
        now = time.monotonic()
        if self._peers and now >= self._next_check:
            self._check_monitors()
            self._next_check = now + self.monitor_interval
        if self.node.placement.due(now):
            self.node.placement.check(now)

    def _bind(self) -> zmq.Socket[bytes]:
        node = self.node
        pull = self._ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        pull.setsockopt(zmq.RCVHWM, node.rcvhwm)
        pull.setsockopt(zmq.MAXMSGSIZE, node.max_message_size)
        self._guard = ServerGuard(self._ctx, node)
        self._guard.secure(pull)
        try:
            if node.port == 0:
                self.port = pull.bind_to_random_port(f"tcp://{node.host}")
            else:
                pull.bind(f"tcp://{node.host}:{node.port}")
                self.port = node.port
        except zmq.ZMQError as exc:
            self._guard.close()
            pull.close(0)
            raise BindError(f"cannot bind tcp://{node.host}:{node.port}: {exc}") from None
        return pull

    def _close(self) -> None:
        self._drain_outbox()
        for peer in list(self._peers.values()):
            self._close_peer(peer, linger=self.node.stop_linger_ms)
        self._guard.close()
        self.pull.close(0)
        self._ctx.term()
        self._close_wake_fd()

    # --- inbound ----------------------------------------------------------------------

    def _receive(self) -> None:
        try:  # one frame per wake-up: a frame already batches all a peer had queued
            if self.node.curve is None:
                frame = self.pull.recv(zmq.NOBLOCK)
            else:
                message = self.pull.recv(zmq.NOBLOCK, copy=False)
                self._accept(message.bytes, self._deliveries, str(message.get("User-Id") or ""))
                return
        except zmq.Again:
            return
        self._accept(frame, self._deliveries)

    def _deliver(self) -> None:
        """Hand each process its batch (one Pykka ``tell`` per process per wake-up)."""
        deliveries, self._deliveries = self._deliveries, {}
        for proc, items in deliveries.items():
            try:
                proc.actor_ref.tell(items)
            except pykka.ActorDeadError:
                self._drop("dead_process", len(items), to=proc.pid.name)
        self.node.hooks.settle()

    def _accept(self, frame: bytes, batches: dict[Any, list[Any]], user: str | None = None
                ) -> None:
        node = self.node
        try:
            envelopes = split_batch(frame)
        except CodecError as exc:
            self._drop("malformed", size=len(frame), error=str(exc))
            return
        stats = node.stats
        stats["received"] += len(envelopes)
        processes = node.processes
        hooks = node.hooks
        for env in envelopes:
            try:
                to, frm, msg, ctx = decode_envelope(env)
                sender = self._senders.get(frm) or self._sender(frm)
            except UnknownMessageError as exc:
                self._drop("unknown_message", frm=_peek(env, 1), error=str(exc))
                continue
            except MessageTypeError as exc:
                self._drop("bad_message", frm=_peek(env, 1), error=str(exc))
                continue
            except CodecError as exc:
                self._drop("malformed", error=str(exc))
                continue
            if user is not None and not self._owns(sender, user):
                continue
            proc = processes.get(to)
            if proc is None:  # libprocess answers 404 here; we log and drop
                self._drop("unknown_process", frm=frm, to=to[:64])
                continue
            if hooks.rules and not hooks.check("in", sender, proc.pid, msg):
                stats["dropped/hook"] += 1
                continue
            items = batches.get(proc)
            if items is None:
                items = batches[proc] = []
            items.append((sender, msg, ctx))

    def _owns(self, sender: PID, user: str) -> bool:
        """Does the CURVE key ``user`` own the sender's address? (``transport.curve``)."""
        assert self.node.curve is not None
        if user and self.node.curve.bind(sender.address, user):
            return True
        self._drop("impersonation", frm=str(sender), key=user or "none",
                   owner=self.node.curve.principal_of(sender.address))
        return False

    def _sender(self, frm: str) -> PID:
        pid = parse_sender(frm)
        if len(self._senders) > 10_000:
            self._senders.clear()
        self._senders[frm] = pid
        return pid

    # --- outbound ---------------------------------------------------------------------

    def _drain_outbox(self) -> None:
        outbox = self.outbox
        pending: dict[str, list[bytes]] = {}
        while outbox:
            address, item = outbox.popleft()
            if type(item) is bytes:
                envs = pending.get(address)
                if envs is None:
                    envs = pending[address] = []
                envs.append(item)
            else:
                item(self, address)  # a control operation (link, unlink)
        for address, envs in pending.items():
            peer = self._peers.get(address) or self._connect(address)
            if peer is None:
                self._drop("unreachable", len(envs), peer=address[:100])
                continue
            for frame, count in self._frames(envs):
                self._send(peer, frame, count)

    def _frames(self, envs: list[bytes]) -> list[tuple[bytes, int]]:
        """Split a peer's envelopes into frames under the size and count limits."""
        if len(envs) <= _MAX_BATCH_ENVELOPES and sum(map(len, envs)) < self._max_frame:
            return [(batch(envs), len(envs))]
        frames: list[tuple[bytes, int]] = []
        chunk: list[bytes] = []
        size = 0
        for env in envs:
            if chunk and (size + len(env) >= self._max_frame or len(chunk) >= _MAX_BATCH_ENVELOPES):
                frames.append((batch(chunk), len(chunk)))
                chunk, size = [], 0
            chunk.append(env)
            size += len(env)
        if chunk:
            frames.append((batch(chunk), len(chunk)))
        return frames

    def _send(self, peer: _Peer, frame: bytes, count: int) -> None:
        if not peer.backlog:
            try:
                peer.push.send(frame, zmq.NOBLOCK)
                self.node.stats["sent"] += count
                return
            except zmq.Again:
                self._poller.register(peer.push, zmq.POLLOUT)
        if peer.backlogged + count > self.node.backlog_limit:
            self._drop("backlog", count, peer=peer.address)
            return
        peer.backlog.append((frame, count))
        peer.backlogged += count

    def _flush(self, peer: _Peer) -> None:
        while peer.backlog:
            frame, count = peer.backlog[0]
            try:
                peer.push.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                return
            peer.backlog.popleft()
            peer.backlogged -= count
            self.node.stats["sent"] += count
        self._poller.unregister(peer.push)

    def _connect(self, address: str) -> _Peer | None:
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
        peer = _Peer(address, push, monitor)
        try:
            push.connect(f"tcp://{address}")
        except zmq.ZMQError as exc:  # a peer's PID named a host ZeroMQ cannot parse
            _log.info("cannot connect", peer=address[:100], error=str(exc))
            self._close_peer(peer, linger=0)
            return None
        self._peers[address] = peer
        self._by_push[push] = peer
        self._by_monitor[monitor] = peer
        self._monitors.register(monitor, zmq.POLLIN)
        return peer

    def _check_monitors(self) -> None:
        for sock, _ in self._monitors.poll(0):
            peer = self._by_monitor.get(sock)
            if peer is not None:
                self._on_monitor(peer)

    def _on_monitor(self, peer: _Peer) -> None:
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

    def _lost(self, peer: _Peer, why: str) -> None:
        if peer.backlogged:
            self.node.stats["dropped/unreachable"] += peer.backlogged
        _log.info("peer connection lost", peer=peer.address, why=why, dropped=peer.backlogged)
        self._close_peer(peer, linger=0)
        for pid, linker in peer.linkers:
            self.node._exited(linker, pid)

    def _close_peer(self, peer: _Peer, linger: int) -> None:
        self._peers.pop(peer.address, None)
        self._by_push.pop(peer.push, None)
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

    # --- control operations (run on this thread via submit) -----------------------------

    def link(self, address: str, pid: PID, linker: str) -> None:
        peer = self._peers.get(address) or self._connect(address)
        if peer is None:  # never connectable: the link is broken from the start
            self.node._exited(linker, pid)
            return
        peer.linkers.add((pid, linker))

    def unlink(self, address: str, pid: PID, linker: str) -> None:
        peer = self._peers.get(address)
        if peer is not None:
            peer.linkers.discard((pid, linker))

    def peers(self) -> list[dict[str, Any]]:
        return [
            {"address": p.address, "connected": p.connected, "backlog": p.backlogged,
             "links": sorted(str(pid) for pid, _ in p.linkers)}
            for p in list(self._peers.values())
        ]


def _peek(value: Any, field: int | None = None, limit: int = 64) -> str:
    """A short printable view of an untrusted value (or one field of an envelope), for logs."""
    if field is not None:
        value = value[field] if type(value) is list and len(value) > field else None
    text = value if isinstance(value, str) else repr(value)
    return text[:limit] + ("…" if len(text) > limit else "")
