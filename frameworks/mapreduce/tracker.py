"""``ItemTracker``: which work item is where, and what to send again (pure, clock injected).

The mapreduce scheduler owns one. Items start *pending*; ``assign`` hands pending items
to an executor (they become *outstanding* there, with a deadline); ``complete`` records a
result (the first one for an item wins; later ones are duplicates and return False).
Items come back to the front of the pending queue when their result is late
(``expire``: the framework message or the result may have been lost, or the executor is
stuck) or when their executor is gone (``lose``), and are assigned again, possibly to
another executor. A result from an executor the item was taken from still counts if it
is the first: map functions are pure, so any copy's result is the result.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["ItemTracker"]


@dataclass
class _Outstanding:
    executor_id: str
    deadline: float


class ItemTracker:
    """See the module docstring; ``timeout`` seconds per assignment, ``now`` the clock."""

    def __init__(self, item_ids: Iterable[int], timeout: float,
                 now: Callable[[], float]) -> None:
        self.timeout = timeout
        self.now = now
        self.pending: deque[int] = deque(item_ids)
        self.total = len(self.pending)
        self.outstanding: dict[int, _Outstanding] = {}
        self.results: dict[int, Any] = {}
        self.reassigned = 0
        """Assignments given up (late result or lost executor) and queued again."""
        self.duplicates = 0
        """Results that came for an item already done (ignored)."""

    @property
    def done(self) -> bool:
        return len(self.results) == self.total

    @property
    def only_results_outstanding(self) -> bool:
        """Nothing left to assign, but results still to come."""
        return not self.pending and bool(self.outstanding)

    def load(self, executor_id: str) -> int:
        """How many items ``executor_id`` has outstanding."""
        return sum(1 for o in self.outstanding.values() if o.executor_id == executor_id)

    def assign(self, executor_id: str, count: int) -> list[int]:
        """Up to ``count`` pending items, now outstanding at ``executor_id``."""
        taken: list[int] = []
        deadline = self.now() + self.timeout
        while self.pending and len(taken) < count:
            item_id = self.pending.popleft()
            if item_id in self.results:
                continue  # a late result came while it waited
            self.outstanding[item_id] = _Outstanding(executor_id, deadline)
            taken.append(item_id)
        return taken

    def complete(self, item_id: int, value: Any) -> bool:
        """Record ``item_id``'s result; False for a duplicate or an unknown id."""
        if item_id in self.results or not 0 <= item_id < self.total:
            self.duplicates += item_id in self.results
            return False
        self.results[item_id] = value
        self.outstanding.pop(item_id, None)
        try:
            self.pending.remove(item_id)
        except ValueError:
            pass
        return True

    def expire(self) -> list[int]:
        """Items whose deadline passed, queued again (first in line); their ids."""
        now = self.now()
        late = sorted(i for i, o in self.outstanding.items() if o.deadline <= now)
        self._requeue(late)
        return late

    def lose(self, executor_id: str) -> list[int]:
        """``executor_id`` is gone: its items are queued again; their ids."""
        lost = sorted(i for i, o in self.outstanding.items() if o.executor_id == executor_id)
        self._requeue(lost)
        return lost

    def ordered_results(self) -> list[Any]:
        """Every result in item order (only when ``done``)."""
        return [self.results[i] for i in range(self.total)]

    def _requeue(self, item_ids: list[int]) -> None:
        for item_id in reversed(item_ids):
            del self.outstanding[item_id]
            self.pending.appendleft(item_id)
        self.reassigned += len(item_ids)
