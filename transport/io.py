"""The node's I/O thread: the only code in Meseta that touches ZeroMQ sockets.

``Node`` (``transport.node``) makes one ``IOThread`` and talks to it only through
``submit`` / ``wake`` (from the sending actors' threads), ``shutdown`` and ``peers``;
everything else runs on this thread. Its parts, each called only from here:

- ``transport.io_inbound``: the PULL bound at the node's ``host:port`` receives every
  inbound frame (a batch of envelopes from one peer); it is decoded, checked and handed
  to the addressed processes' Pykka inboxes, one batch per process per wake-up;
- ``transport.io_outbound``: what the actors queued is sent per peer as one frame, with
  the per-peer backlog and high-water marks;
- ``transport.io_peers``: one PUSH per remote node (libprocess' two connections per
  pair), created on first send or ``link``, with heartbeats and a socket monitor; a lost
  connection drops its backlog and tells its linkers ``exited``;
- ``transport.io_guard``: under ``node.curve`` (``transport.curve``) the PULL is a CURVE
  server and this thread answers the ZAP requests (``inproc://zeromq.zap.01``);
- ``transport.io_drops``: every drop counted in ``node.stats`` and logged, rate limited.

Outbound envelopes arrive already packed from the sending actors' threads through a
``deque`` plus an eventfd wake-up (written only while this thread sleeps); each wake-up
drains it, runs the control operations queued with it (``link``, ``unlink``) in order,
and sends the rest. The loop sleeps until the PULL, the eventfd, a ZAP socket or a
backlogged PUSH is ready, or the next monitor check (``monitor_interval``) is due.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import structlog
import zmq

from transport.errors import BindError
from transport.io_drops import DropLog
from transport.io_guard import ServerGuard
from transport.io_inbound import Inbound
from transport.io_outbound import Outbound
from transport.io_peers import Peers
from transport.pid import PID

if TYPE_CHECKING:
    from transport.node import Node

__all__ = ["IOThread"]

_log = structlog.get_logger("meseta.transport")


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
        self._ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._poller = zmq.Poller()
        drop = DropLog(node.stats)
        self._peers = Peers(node, self._ctx, self._poller)
        self._inbound = Inbound(node, drop)
        self._outbound = Outbound(node, self._peers, self._poller, drop)

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

    def peers(self) -> list[dict[str, Any]]:
        """The remote nodes and their state, for ``Node.describe``."""
        return self._peers.describe()

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
        poller = self._poller
        poller.register(self.pull, zmq.POLLIN)
        poller.register(self.wake_fd, zmq.POLLIN)
        for sock in self._guard.sockets():
            poller.register(sock, zmq.POLLIN)
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
        peers = self._peers.by_address
        if self.outbox:
            timeout = 0.0
        elif peers:
            timeout = max(0.0, (self._next_check - time.monotonic()) * 1000 + 1)
        if self._inbound.deliveries:  # as late as possible: the woken actors find the GIL free
            self._inbound.deliver()
        events = poller.poll(int(timeout))
        self.idle = False
        for sock, _ in events:
            if sock is self.pull:
                self._inbound.receive(self.pull)
            elif sock == self.wake_fd:
                try:
                    os.eventfd_read(self.wake_fd)
                except BlockingIOError:
                    pass
            elif self._guard.handle(sock):
                pass
            else:
                self._outbound.flush(self._peers.by_push[sock])
        self._drain_outbox()
        now = time.monotonic()
        if peers and now >= self._next_check:
            self._peers.check_monitors()
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
        self._peers.close_all(linger=self.node.stop_linger_ms)
        self._guard.close()
        self.pull.close(0)
        self._ctx.term()
        self._close_wake_fd()

    def _drain_outbox(self) -> None:
        """Run the queued control operations and send the queued envelopes, in order."""
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
        self._outbound.send(pending)

    # --- control operations (run on this thread via submit) -----------------------------

    def link(self, address: str, pid: PID, linker: str) -> None:
        self._peers.link(address, pid, linker)

    def unlink(self, address: str, pid: PID, linker: str) -> None:
        self._peers.unlink(address, pid, linker)
