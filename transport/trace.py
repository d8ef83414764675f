"""Message tracing: trace ids that follow causality, and send/receive events.

Every envelope may carry a trace ``[trace_id, msg_id, parent_id, hop]``. A
message sent while a process handles a traced message inherits its ``trace_id``,
takes the handled message's ``msg_id`` as ``parent_id`` and one more ``hop`` (Erlang's
seq_trace token), so one task can be followed across master, agents and executors.
A node with tracing on starts a new trace on every untraced send; a node with it off
only passes on traces it receives, and sends nil otherwise.

With tracing on, each send and receive is a structlog event on the ``meseta.trace``
logger (``trace.send`` / ``trace.recv``: frm, to, name, size, trace_id, msg_id,
parent_id, hop, handler_ms) and lands in the node's ring buffer of recent events,
numbered (``seq``, per node) and timed (``ts``, seconds since the epoch), with the
message's key fields when it has them (``task_id``, ``framework_id``, ``agent_id``,
``executor_id``, ``state``: read by a per-type extractor built once per message class,
``message_keys``). Turn it on with ``Node(trace=True)`` or ``MESETA_TRACE=1``; off, none
of this runs (``Node.send`` and ``Process._dispatch`` test ``tracer.enabled`` first).

``select`` filters a list of events (``/__trace__?trace_id=&task_id=&name=&since=``);
``Tracer.wait_after`` blocks (off the actors' threads) until events newer than a ``seq``
arrive, for the streaming form of ``/__trace__``.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

__all__ = ["MAX_HOPS", "TraceContext", "Tracer", "env_tracing", "message_keys", "select"]

MAX_HOPS = 64
"""A trace stops propagating after this many hops (a loop guard, not a message drop)."""

_log = structlog.get_logger("meseta.trace")
_rand = random.Random()


def env_tracing() -> bool | str:
    """What ``MESETA_TRACE`` asks for: ``True`` (record and log every event), ``"ring"``
    (record them in the node's ring buffer, served at ``/__trace__`` and gathered by
    ``meseta trace``, without a log line each: a fraction of the cost) or ``False``."""
    value = os.environ.get("MESETA_TRACE", "").lower()
    if value == "ring":
        return "ring"
    return value in ("1", "true", "yes", "on")


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

    def to_env(self) -> str:
        """``trace_id:msg_id:hop`` in hex, for ``MESETA_TRACE_PARENT`` (agent → executor)."""
        return f"{self.trace_id:x}:{self.msg_id:x}:{self.hop}"

    @staticmethod
    def from_env(value: str | None) -> TraceContext | None:
        """The context ``to_env`` wrote, as the parent of what its reader sends; else None."""
        try:
            trace_id, msg_id, hop = (value or "").split(":")
            ctx = TraceContext(int(trace_id, 16), int(msg_id, 16), 0, int(hop))
        except ValueError:
            return None
        ok = 0 < ctx.trace_id < 2**63 and 0 < ctx.msg_id < 2**63 and 0 <= ctx.hop <= MAX_HOPS
        return ctx if ok else None

    def fields(self) -> dict[str, Any]:
        return {
            "trace_id": f"{self.trace_id:016x}",
            "msg_id": f"{self.msg_id:016x}",
            "parent_id": f"{self.parent_id:016x}" if self.parent_id else None,
            "hop": self.hop,
        }


_KEYS = ("task_id", "framework_id", "agent_id", "executor_id")
_Extractor = Callable[[Any], dict[str, Any]]
_extractors: dict[type, _Extractor] = {}


def _first_task_id(msg: Any) -> str | None:
    """The task of a launch: ``LaunchTasks.tasks`` or ``AcceptOffers``' LAUNCH operations."""
    for task in getattr(msg, "tasks", None) or ():
        return str(task.task_id)
    for op in getattr(msg, "operations", None) or ():
        launch = getattr(op, "launch", None)
        for task in getattr(launch, "task_infos", None) or ():
            return str(task.task_id)
        group = getattr(op, "launch_group", None)
        for task in getattr(getattr(group, "task_group", None), "tasks", None) or ():
            return str(task.task_id)
    return None


def _build_extractor(cls: type) -> _Extractor:
    """Which of the key fields ``cls`` carries, decided once from its field names."""
    names = set(getattr(cls, "__dataclass_fields__", ()) or ())
    direct = [k for k in _KEYS if k in names]
    nested_task = "task" in names  # RunTask.task: TaskInfo
    update = "update" in names  # StatusUpdate.update: StatusUpdateInfo
    status = "status" in names
    launches = "tasks" in names or "operations" in names

    def extract(msg: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in direct:
            v = getattr(msg, k, None)
            if v:
                out[k] = str(v)
        st = None
        if update:
            upd = msg.update
            out.setdefault("framework_id", upd.framework_id)
            st = upd.status
        elif status:
            st = msg.status
        if st is not None and hasattr(st, "task_id"):
            out["task_id"] = st.task_id
            out["state"] = getattr(st.state, "name", str(st.state))
            if getattr(st, "agent_id", ""):
                out.setdefault("agent_id", st.agent_id)
        if nested_task and msg.task is not None and hasattr(msg.task, "task_id"):
            out["task_id"] = msg.task.task_id
            if msg.task.agent_id:
                out.setdefault("agent_id", msg.task.agent_id)
            fw_id = getattr(getattr(msg, "framework_info", None), "id", None)
            if fw_id:
                out.setdefault("framework_id", str(fw_id))
        if launches and "task_id" not in out:
            tid = _first_task_id(msg)
            if tid is not None:
                out["task_id"] = tid
        return out

    return extract


def message_keys(msg: Any) -> dict[str, Any]:
    """The key fields of ``msg`` a trace reader wants (never raises)."""
    if msg is None:
        return {}
    cls = type(msg)
    extract = _extractors.get(cls)
    if extract is None:
        extract = _extractors[cls] = _build_extractor(cls)
    try:
        return extract(msg)
    except Exception:  # a malformed message: its trace event just has fewer fields
        return {}


def select(events: Iterable[Mapping[str, Any]], *, trace_id: str | None = None,
           task_id: str | None = None, name: str | None = None,
           since: float | None = None, framework_id: str | None = None,
           agent_id: str | None = None) -> list[dict[str, Any]]:
    """The events matching every filter given; ``since`` below 1e9 is a ``seq``, else a time."""
    out = []
    for ev in events:
        if trace_id is not None and ev.get("trace_id") != trace_id:
            continue
        if task_id is not None and ev.get("task_id") != task_id:
            continue
        if name is not None and ev.get("name") != name:
            continue
        if framework_id is not None and ev.get("framework_id") != framework_id:
            continue
        if agent_id is not None and ev.get("agent_id") != agent_id:
            continue
        if since is not None:
            key = "seq" if since < 1e9 else "ts"
            if float(ev.get(key, 0)) <= since:
                continue
        out.append(dict(ev))
    return out


class Tracer:
    """Emits trace events for one node and keeps the most recent ones."""

    def __init__(self, enabled: bool | str, ring_size: int = 10_000, node: str = "") -> None:
        """``enabled``: ``True`` records and logs each event, ``"ring"`` only records it."""
        self.enabled = bool(enabled)
        self.log = enabled is True
        self.node = node
        self.recent: deque[dict[str, Any]] = deque(maxlen=ring_size)
        self.seq = 0
        self._cond = threading.Condition()

    def event(self, kind: str, frm: str, to: str, name: str, size: int | None,
              ctx: TraceContext | None, msg: Any = None, ts: float | None = None,
              **extra: Any) -> None:
        """Record one event; ``ts`` (default now) is when it happened (a receive: its start)."""
        record: dict[str, Any] = {"frm": frm, "to": to, "name": name}
        if size is not None:
            record["size"] = size
        if ctx is not None:
            record.update(ctx.fields())
        if msg is not None:
            record.update(message_keys(msg))
        record.update(extra)
        with self._cond:
            self.seq += 1
            self.recent.append({"event": kind, "seq": self.seq, "ts": ts or time.time(),
                                "node": self.node, **record})
            self._cond.notify_all()
        if self.log:
            _log.info(kind, **record)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self.recent)

    def wait_after(self, seq: int, timeout: float) -> bool:
        """Block until an event numbered above ``seq`` exists, or ``timeout``; whether one does."""
        with self._cond:
            return self._cond.wait_for(lambda: self.seq > seq, timeout)
