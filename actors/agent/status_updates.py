"""The agent's task status update manager: reliable, ordered delivery to the master.

Pure bookkeeping (no threads, no clock): ``AgentActor`` feeds it the updates its
executors send (and the ones it makes itself), and the acknowledgements the master
relays from schedulers; each call returns what to send now and when to retry, and the
actor applies that with ``self.send`` and ``self.delay``. Semantics follow Mesos'
``TaskStatusUpdateManager`` (src/slave/task_status_update_manager.cpp):

- one stream per ``(framework_id, task_id)``; only its head is in flight, the next
  update goes out once the head is acknowledged, so order is strict per task;
- an update whose ``uuid`` the stream has seen is a duplicate and is ignored (the
  caller still acknowledges it to the executor); an update after a terminal one is
  ignored too;
- the head is re-sent with backoff (``retry_min`` doubling up to ``retry_max``; Mesos:
  10 s to 10 min) until acknowledged; a retry timer that finds another head is stale;
- an acknowledgement for anything but the head (unknown task, old or wrong uuid) is
  ignored;
- every forwarded update carries ``latest_state``, the state of the stream's tail, so
  the master can free resources at a terminal state before the earlier updates are
  acknowledged;
- ``pause()`` while the agent is disconnected from the master, ``resume()`` after it
  re-registered: every head goes out again at once;
- ``recover`` rebuilds a stream from its checkpoint (``recovery``) after an agent
  restart: acknowledged updates are not sent again, and their uuids stay known so a
  re-sent copy is a duplicate.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from actors.messages.task_state import TaskState, is_terminal
from actors.messages.tasks import StatusUpdateInfo

__all__ = ["Forward", "StatusUpdateManager", "StreamKey"]

StreamKey = tuple[str, str]
"""``(framework_id, task_id)``."""


@dataclass(frozen=True, slots=True)
class Forward:
    """Send ``update`` to the master now; call ``retry(key, uuid)`` after ``retry_in`` s."""

    key: StreamKey
    update: StatusUpdateInfo
    retry_in: float


@dataclass(slots=True)
class _Stream:
    pending: deque[StatusUpdateInfo] = field(default_factory=deque)
    seen: set[bytes] = field(default_factory=set)
    acked: set[bytes] = field(default_factory=set)
    terminated: bool = False
    """A terminal update was received: later new updates are refused."""
    backoff: float = 0.0


class StatusUpdateManager:
    """See the module docstring."""

    def __init__(self, retry_min: float = 10.0, retry_max: float = 600.0) -> None:
        if retry_min <= 0 or retry_max < retry_min:
            raise ValueError("need 0 < retry_min <= retry_max")
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.paused = False
        self._streams: dict[StreamKey, _Stream] = {}

    # --- what the actor calls -----------------------------------------------------------

    def update(self, update: StatusUpdateInfo) -> tuple[bool, list[Forward]]:
        """Record ``update``; returns (accepted, what to forward now).

        ``accepted`` is False for a duplicate or an update after a terminal one.
        """
        key = (update.framework_id, update.status.task_id)
        stream = self._streams.setdefault(key, _Stream())
        if update.uuid in stream.seen or stream.terminated:
            return False, []
        stream.seen.add(update.uuid)
        stream.pending.append(update)
        if is_terminal(update.status.state):
            stream.terminated = True
        if len(stream.pending) == 1:
            stream.backoff = self.retry_min
            return True, self._head(key, stream)
        return True, []

    def acknowledge(self, framework_id: str, task_id: str,
                    uuid: bytes) -> tuple[StatusUpdateInfo | None, list[Forward]]:
        """Apply an ack; returns (the update it acknowledged or None, what to forward next)."""
        key = (framework_id, task_id)
        stream = self._streams.get(key)
        if stream is None or not stream.pending or stream.pending[0].uuid != uuid:
            return None, []
        acked = stream.pending.popleft()
        stream.acked.add(uuid)
        if not stream.pending:
            return acked, []
        stream.backoff = self.retry_min
        return acked, self._head(key, stream)

    def retry(self, key: StreamKey, uuid: bytes) -> list[Forward]:
        """A retry timer fired: re-send the head if it is still ``uuid`` (backing off)."""
        stream = self._streams.get(key)
        if stream is None or not stream.pending or stream.pending[0].uuid != uuid:
            return []
        stream.backoff = min(self.retry_max, stream.backoff * 2)
        return self._head(key, stream)

    def recover(self, framework_id: str, task_id: str, updates: Iterable[StatusUpdateInfo],
                acks: Iterable[bytes]) -> None:
        """Rebuild a stream from its checkpointed UPDATEs and ACKs (sent on ``resume``)."""
        stream = self._streams[(framework_id, task_id)] = _Stream()
        stream.acked = set(acks)
        stream.backoff = self.retry_min
        for update in updates:
            if update.uuid in stream.seen:
                continue
            stream.seen.add(update.uuid)
            if is_terminal(update.status.state):
                stream.terminated = True
            if update.uuid not in stream.acked:
                stream.pending.append(update)

    def pause(self) -> None:
        """Stop forwarding (the master is gone); updates still queue up."""
        self.paused = True

    def resume(self) -> list[Forward]:
        """Forward again: every stream's head goes out now."""
        self.paused = False
        return self._heads(lambda key: True)

    def resend(self, framework_id: str) -> list[Forward]:
        """The framework's scheduler moved (failover): its streams' heads go out now, as
        Mesos' agent does on ``UpdateFrameworkMessage``, not at their next retry."""
        return self._heads(lambda key: key[0] == framework_id)

    def _heads(self, wanted: Callable[[StreamKey], bool]) -> list[Forward]:
        out: list[Forward] = []
        for key, stream in self._streams.items():
            if stream.pending and wanted(key):
                stream.backoff = self.retry_min
                out.extend(self._head(key, stream))
        return out

    def forget(self, keys: Iterable[StreamKey]) -> None:
        """Drop these streams (their executor and framework are gone)."""
        for key in keys:
            self._streams.pop(key, None)

    def forget_framework(self, framework_id: str) -> None:
        for key in [k for k in self._streams if k[0] == framework_id]:
            del self._streams[key]

    # --- what the agent reads -----------------------------------------------------------

    def head(self, framework_id: str, task_id: str) -> StatusUpdateInfo | None:
        """The update in flight for this task (Mesos' ``Task.status_update_state/uuid``)."""
        stream = self._streams.get((framework_id, task_id))
        return stream.pending[0] if stream is not None and stream.pending else None

    def pending(self, framework_id: str, task_id: str) -> tuple[StatusUpdateInfo, ...]:
        stream = self._streams.get((framework_id, task_id))
        return tuple(stream.pending) if stream is not None else ()

    def latest_state(self, framework_id: str, task_id: str) -> TaskState | None:
        stream = self._streams.get((framework_id, task_id))
        return stream.pending[-1].status.state if stream is not None and stream.pending else None

    def __len__(self) -> int:
        """Updates waiting for an ack, over all streams."""
        return sum(len(s.pending) for s in self._streams.values())

    # --- internals ----------------------------------------------------------------------

    def _head(self, key: StreamKey, stream: _Stream) -> list[Forward]:
        if self.paused:
            return []
        head = stream.pending[0]
        latest = stream.pending[-1].status.state
        if head.latest_state is not latest:
            head = dataclasses.replace(head, latest_state=latest)
        return [Forward(key, head, stream.backoff)]
