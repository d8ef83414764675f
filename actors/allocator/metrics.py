"""Allocator metrics under Mesos' names (``allocator/mesos/...``).

``HierarchicalAllocator`` records each run here; its ``metrics()`` merges these with
gauges it computes on demand (dominant shares, resource totals, active filters).
"""

from __future__ import annotations

from collections import deque

__all__ = ["AllocatorMetrics"]

PREFIX = "allocator/mesos/"


class AllocatorMetrics:
    """Counters and a windowed timer, like libprocess' Counter and Timer."""

    def __init__(self, window: int = 1000) -> None:
        self.allocation_runs = 0
        self._run_ms: deque[float] = deque(maxlen=window)

    def record_run(self, elapsed_seconds: float) -> None:
        self.allocation_runs += 1
        self._run_ms.append(elapsed_seconds * 1000.0)

    def snapshot(self) -> dict[str, float]:
        out = {PREFIX + "allocation_runs": float(self.allocation_runs)}
        if self._run_ms:
            ordered = sorted(self._run_ms)
            key = PREFIX + "allocation_run_ms"
            out[key] = self._run_ms[-1]
            out[key + "/count"] = float(len(ordered))
            out[key + "/min"] = ordered[0]
            out[key + "/max"] = ordered[-1]
            for label, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
                out[f"{key}/{label}"] = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        return out
