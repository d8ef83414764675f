"""Per-principal rate limits of framework -> master messages (Mesos' ``--rate_limits``).

``RateLimits.parse(text)`` reads Mesos' JSON::

    {"limits": [{"principal": "foo", "qps": 10, "capacity": 100}, {"principal": "bar"}],
     "aggregate_default_qps": 50, "aggregate_default_capacity": 1000}

A principal listed without ``qps`` is not limited; frameworks of a principal not listed
(or of none) share one aggregate limiter when ``aggregate_default_qps`` is given, else
are not limited. Each ``Limiter`` lets one message through every ``1/qps`` seconds
(the first at once, as Mesos' ``RateLimiter`` with one permit); the others wait, in
order, in the master, and are handled when their turn comes: delayed, never lost. A
``capacity`` bounds how many may wait; one more is dropped, and the master tells the
framework (``FrameworkError``: ``capacity_exceeded``), as Mesos does. Pure: the master
actor (``MasterActor._dispatch``) feeds it with its clock's ``now``.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["Limiter", "RateLimits", "capacity_exceeded"]

T = TypeVar("T")


def capacity_exceeded(name: str, capacity: int) -> str:
    """The FrameworkError text of a dropped message (Mesos' wording)."""
    return f"Message {name} dropped: capacity({capacity}) exceeded"


@dataclass(eq=False)
class Limiter(Generic[T]):
    """One message per ``1/qps`` seconds; at most ``capacity`` waiting (``None``: no bound)."""

    qps: float
    capacity: int | None = None
    waiting: deque[tuple[float, T]] = field(default_factory=deque)
    _next: float = -math.inf

    def offer(self, now: float, item: T) -> str:
        """``"run"`` (handle it now), ``"queued"`` (``due`` will return it) or ``"dropped"``."""
        if self.capacity is not None and len(self.waiting) >= self.capacity:
            return "dropped"
        slot = max(now, self._next)
        self._next = slot + 1.0 / self.qps
        if slot <= now and not self.waiting:
            return "run"
        self.waiting.append((slot, item))
        return "queued"

    def due(self, now: float) -> list[T]:
        """The waiting items whose turn has come, in order."""
        ready = []
        while self.waiting and self.waiting[0][0] <= now:
            ready.append(self.waiting.popleft()[1])
        return ready

    def next_due(self) -> float | None:
        return self.waiting[0][0] if self.waiting else None


@dataclass(frozen=True)
class _Limit:
    qps: float | None
    capacity: int | None


class RateLimits:
    """The parsed ``--rate_limits`` and one ``Limiter`` per limited principal."""

    def __init__(self, limits: dict[str, _Limit], aggregate_qps: float | None = None,
                 aggregate_capacity: int | None = None) -> None:
        self.limits = limits
        self.aggregate = (Limiter[Any](aggregate_qps, aggregate_capacity)
                          if aggregate_qps else None)
        self._limiters: dict[str, Limiter[Any]] = {
            principal: Limiter(limit.qps, limit.capacity)
            for principal, limit in limits.items() if limit.qps}

    @classmethod
    def parse(cls, text: str) -> RateLimits:
        """Mesos' JSON (see the module docstring); ``ValueError`` says what is wrong."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"rate limits are not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("limits", []), list):
            raise ValueError("rate limits: expected {\"limits\": [...]}")
        limits: dict[str, _Limit] = {}
        for entry in data.get("limits", []):
            if not isinstance(entry, dict) or not isinstance(entry.get("principal"), str):
                raise ValueError("rate limits: each limit needs a principal")
            if entry["principal"] in limits:
                raise ValueError(f"rate limits: duplicate principal {entry['principal']!r}")
            limits[entry["principal"]] = _Limit(_qps(entry.get("qps")),
                                                _capacity(entry.get("capacity")))
        return cls(limits, _qps(data.get("aggregate_default_qps")),
                   _capacity(data.get("aggregate_default_capacity")))

    def limiter_for(self, principal: str | None) -> Limiter[Any] | None:
        """The limiter of ``principal``'s frameworks (``None``: not limited)."""
        if principal is not None and principal in self.limits:
            return self._limiters.get(principal)
        return self.aggregate

    def limiters(self) -> list[Limiter[Any]]:
        return [*self._limiters.values(), *([self.aggregate] if self.aggregate else [])]


def _qps(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"rate limits: qps must be a positive number, not {value!r}")
    return float(value)


def _capacity(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"rate limits: capacity must be a whole number >= 0, not {value!r}")
    return value
