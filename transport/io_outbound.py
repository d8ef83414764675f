"""The I/O thread's outbound half: per-peer frames, send queues and high-water marks.

``Outbound`` is owned and called only by ``transport.io.IOThread``, on its thread: at
each wake-up the loop drains the outbox the sending actors filled (already packed
envelopes, grouped per peer address) and hands them to ``send``; when a peer's PUSH
becomes writable again the loop calls ``flush``. Peers' sockets come from
``transport.io_peers.Peers``.

Everything queued for one peer goes out as one frame (``transport.envelope.batch``),
split only past the frame size (``node.max_message_size``) or ``_MAX_BATCH_ENVELOPES``.
Per peer, up to ``node.sndhwm`` frames wait inside ZeroMQ and up to
``node.backlog_limit`` more envelopes in the peer's backlog, flushed in order when the
socket is writable; beyond that new envelopes to that peer are dropped and counted
(``dropped/backlog``), as are those to an address that cannot be connected
(``dropped/unreachable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import zmq

from transport.envelope import batch
from transport.io_drops import DropLog
from transport.io_peers import Peer, Peers

if TYPE_CHECKING:
    from transport.node import Node

__all__ = ["Outbound"]

_MAX_BATCH_ENVELOPES = 4096


class Outbound:
    """Sends envelopes to peers in frames, keeping each peer's backlog; see above."""

    def __init__(self, node: Node, peers: Peers, poller: zmq.Poller, drop: DropLog) -> None:
        self.node = node
        self._peers = peers
        self._poller = poller
        """The loop's poller: a peer with a backlog waits there for POLLOUT."""
        self._drop = drop
        self._max_frame = max(1024, node.max_message_size - 64)

    def send(self, pending: dict[str, list[bytes]]) -> None:
        """Send each address its envelopes (in order), connecting new peers first."""
        for address, envs in pending.items():
            peer = self._peers.get(address)
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

    def _send(self, peer: Peer, frame: bytes, count: int) -> None:
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

    def flush(self, peer: Peer) -> None:
        """Send what ``peer``'s backlog holds while its socket takes it (POLLOUT came)."""
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
