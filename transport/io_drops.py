"""The I/O thread's account of what it drops: counted by reason, logged rate limited.

``DropLog(node.stats)`` is called by the I/O thread's parts (``transport.io`` and its
``io_inbound`` / ``io_outbound`` helpers) whenever an envelope is not delivered or not
sent: it adds the count to ``stats["dropped/<reason>"]`` (what ``/metrics`` and the
tests read) and logs at most a few lines per reason each second, then how many it
suppressed. ``peek`` makes a short printable view of untrusted input for those lines.
Pure Python; no zmq.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import structlog

__all__ = ["DropLog", "peek"]

_log = structlog.get_logger("meseta.transport")


class DropLog:
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


def peek(value: Any, field: int | None = None, limit: int = 64) -> str:
    """A short printable view of an untrusted value (or one field of an envelope), for logs."""
    if field is not None:
        value = value[field] if type(value) is list and len(value) > field else None
    text = value if isinstance(value, str) else repr(value)
    return text[:limit] + ("…" if len(text) > limit else "")
