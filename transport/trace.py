"""Message tracing: trace ids that follow causality, and send/receive events.

Every envelope may carry a trace ``[trace_id, msg_id, parent_id, hop]``. A
message sent while a process handles a traced message inherits its ``trace_id``,
takes the handled message's ``msg_id`` as ``parent_id`` and one more ``hop`` (Erlang's
seq_trace token), so one task can be followed across master, agents and executors.
A node with tracing on starts a new trace on every untraced send; a node with it off
only passes on traces it receives, and sends nil otherwise.

With tracing on, each send and receive is a structlog event on the ``meseta.trace``
logger (``trace.send`` / ``trace.recv``: frm, to, name, size, trace_id, msg_id,
parent_id, hop, handler_ms) and lands in the node's ring buffer of recent events.
Turn it on with ``Node(trace=True)`` or ``MESETA_TRACE=1``.
"""

from __future__ import annotations

import os
import random
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog

__all__ = ["MAX_HOPS", "TraceContext", "Tracer", "env_tracing"]

MAX_HOPS = 64
"""A trace stops propagating after this many hops (a loop guard, not a message drop)."""

_log = structlog.get_logger("meseta.trace")
_rand = random.Random()


def env_tracing() -> bool:
    """Whether ``MESETA_TRACE`` asks for tracing."""
    return os.environ.get("MESETA_TRACE", "").lower() in ("1", "true", "yes", "on")


def new_id() -> int:
    return _rand.getrandbits(63) or 1


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The trace position of one message."""

    trace_id: int
    msg_id: int
    parent_id: int
    hop: int

    def child(self) -> TraceContext | None:
        """The context of a message sent while handling this one."""
        if self.hop >= MAX_HOPS:
            return None
        return TraceContext(self.trace_id, new_id(), self.msg_id, self.hop + 1)

    @staticmethod
    def root() -> TraceContext:
        return TraceContext(new_id(), new_id(), 0, 0)

    def fields(self) -> dict[str, Any]:
        return {
            "trace_id": f"{self.trace_id:016x}",
            "msg_id": f"{self.msg_id:016x}",
            "parent_id": f"{self.parent_id:016x}" if self.parent_id else None,
            "hop": self.hop,
        }


class Tracer:
    """Emits trace events for one node and keeps the most recent ones."""

    def __init__(self, enabled: bool, ring_size: int = 10_000) -> None:
        self.enabled = enabled
        self.recent: deque[dict[str, Any]] = deque(maxlen=ring_size)

    def event(self, kind: str, frm: str, to: str, name: str, size: int | None,
              ctx: TraceContext | None, **extra: Any) -> None:
        record: dict[str, Any] = {"frm": frm, "to": to, "name": name}
        if size is not None:
            record["size"] = size
        if ctx is not None:
            record.update(ctx.fields())
        record.update(extra)
        self.recent.append({"event": kind, **record})
        _log.info(kind, **record)
