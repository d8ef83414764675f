"""The I/O thread's inbound half: from a received frame to the addressed processes' inboxes.

``Inbound`` is owned and called only by ``transport.io.IOThread``, on its thread: the
loop hands it the PULL socket when it is readable (``receive``: one frame per wake-up,
with its ZAP User-Id under CURVE) and, just before it sleeps again, lets it ``deliver``.

A frame is a batch of envelopes (``transport.envelope``) from one peer. Each envelope is
decoded (bounded: msgpack limits, shape and schema checks), checked against the CURVE
key that sent the frame (``node.curve``: a sender address owned by another key is
``dropped/impersonation``), run through the test hooks (``node.hooks``) and queued for
its process; ``deliver`` then hands every process its batch with one Pykka ``tell``.
Anything malformed, unknown or misaddressed is dropped through ``DropLog``
(``transport.io_drops``) with what is known of the sender; the rest of its frame is
still delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pykka
import zmq

from transport.envelope import decode_envelope, parse_sender, split_batch
from transport.errors import CodecError, MessageTypeError, UnknownMessageError
from transport.io_drops import DropLog, peek
from transport.pid import PID
from transport.trace import TraceContext

if TYPE_CHECKING:
    from transport.node import Node

__all__ = ["Inbound"]

_MAX_SENDERS = 10_000
"""Parsed sender PIDs kept (by their text); past this the cache starts afresh."""


class Inbound:
    """Decodes received frames and delivers their envelopes; see the module docstring."""

    def __init__(self, node: Node, drop: DropLog) -> None:
        self.node = node
        self._drop = drop
        self._senders: dict[str, PID] = {}
        self.deliveries: dict[Any, list[tuple[PID, Any, TraceContext | None]]] = {}
        """Process -> what it gets at the next ``deliver``."""

    def receive(self, pull: zmq.Socket[bytes]) -> None:
        """Read one frame: a frame already batches all a peer had queued."""
        try:
            if self.node.curve is None:
                frame = pull.recv(zmq.NOBLOCK)
            else:
                message = pull.recv(zmq.NOBLOCK, copy=False)
                self.accept(message.bytes, str(message.get("User-Id") or ""))
                return
        except zmq.Again:
            return
        self.accept(frame)

    def deliver(self) -> None:
        """Hand each process its batch (one Pykka ``tell`` per process per wake-up)."""
        deliveries, self.deliveries = self.deliveries, {}
        for proc, items in deliveries.items():
            try:
                proc.actor_ref.tell(items)
            except pykka.ActorDeadError:
                self._drop("dead_process", len(items), to=proc.pid.name)
        self.node.hooks.settle()

    def accept(self, frame: bytes, user: str | None = None) -> None:
        """Queue a frame's envelopes for their processes (``user``: its CURVE key)."""
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
        batches = self.deliveries
        for env in envelopes:
            try:
                to, frm, msg, ctx = decode_envelope(env)
                sender = self._senders.get(frm) or self._sender(frm)
            except UnknownMessageError as exc:
                self._drop("unknown_message", frm=peek(env, 1), error=str(exc))
                continue
            except MessageTypeError as exc:
                self._drop("bad_message", frm=peek(env, 1), error=str(exc))
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
        if len(self._senders) > _MAX_SENDERS:
            self._senders.clear()
        self._senders[frm] = pid
        return pid
