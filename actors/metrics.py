"""Metrics plumbing shared by the master and the agent: windowed timers and the
Prometheus text exposition of a ``/metrics/snapshot``.

A snapshot is Mesos' flat ``{"master/tasks_running": 3.0, ...}`` map (libprocess'
``/metrics/snapshot``). ``prometheus_text`` renders one in the Prometheus text format
0.0.4 (``CONTENT_TYPE``): names sanitised (``master/tasks_running`` ->
``master_tasks_running``; anything but ``[a-zA-Z0-9_:]`` becomes ``_``), one ``# TYPE``
line per metric, ``counter`` where ``is_counter(name)`` and ``gauge`` for the rest.
``WindowTimer`` keeps the last values of a timed operation and snapshots them as
libprocess' ``Timer`` does (``<name>``: the last, ``/count``, ``/min``, ``/max``,
``/p50``, ``/p90``, ``/p99``). Callers: ``actors.master.metrics``, ``actors.agent.endpoints``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping

__all__ = ["CONTENT_TYPE", "WindowTimer", "prometheus_name", "prometheus_text"]

CONTENT_TYPE = "text/plain; version=0.0.4"
"""Prometheus' text exposition format (what ``/metrics`` answers with)."""

_BAD = re.compile(r"[^a-zA-Z0-9_:]")


class WindowTimer:
    """The last ``window`` durations of an operation, in milliseconds; recorded on one
    thread and snapshot on another (hence the lock)."""

    def __init__(self, window: int = 1000) -> None:
        self._ms: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def record(self, elapsed_seconds: float) -> None:
        with self._lock:
            self._ms.append(elapsed_seconds * 1000.0)

    def snapshot(self, key: str) -> dict[str, float]:
        """``{key: last, key/count, key/min, key/max, key/p50, key/p90, key/p99}``;
        nothing before the first record."""
        with self._lock:
            values = list(self._ms)
        if not values:
            return {}
        ordered = sorted(values)
        out = {key: values[-1], f"{key}/count": float(len(ordered)),
               f"{key}/min": ordered[0], f"{key}/max": ordered[-1]}
        for label, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            out[f"{key}/{label}"] = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        return out


def prometheus_name(name: str) -> str:
    """``roles/*/shares/dominant`` -> ``roles___shares_dominant`` (a name starting with a
    digit gets a leading ``_``)."""
    out = _BAD.sub("_", name)
    return "_" + out if out[:1].isdigit() else out


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def prometheus_text(snapshot: Mapping[str, float],
                    is_counter: Callable[[str], bool] = lambda name: False) -> str:
    """The snapshot in Prometheus' text format, sorted by name (see the module docstring)."""
    lines: list[str] = []
    seen: set[str] = set()
    for name in sorted(snapshot):
        metric = prometheus_name(name)
        if metric in seen:  # two Mesos names that sanitise alike: the first one wins
            continue
        seen.add(metric)
        kind = "counter" if is_counter(name) else "gauge"
        lines.append(f"# TYPE {metric} {kind}")
        lines.append(f"{metric} {_value(snapshot[name])}")
    return "\n".join(lines) + "\n"
