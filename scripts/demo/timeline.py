"""Cluster utilization over time, from samples of the master's ``/master/frameworks``.

Pure: a ``Sample`` is one poll (time, total cpus, cpus used per framework name); a
``Timeline`` is a run's samples plus when its work started and ended. Utilization is what
Mesos' ``master/cpus_used / master/cpus_total`` say: resources held by tasks and executors,
not offers. The mean over a run is time-weighted (each sample holds until the next one).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Sample", "Timeline", "compare", "medians", "sample_from_frameworks"]


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    """Seconds since the run's work started."""
    total_cpus: float
    used: Mapping[str, float]
    """cpus held per framework name."""

    @property
    def utilization(self) -> float:
        return min(1.0, sum(self.used.values()) / self.total_cpus) if self.total_cpus else 0.0


@dataclass(slots=True)
class Timeline:
    mode: str
    samples: list[Sample] = field(default_factory=list)
    makespan_s: float = 0.0
    """From the work's start until the last finite framework (batch, mapreduce) finished."""
    finished: dict[str, float] = field(default_factory=dict)
    """When each finite framework finished, seconds since the start."""

    def window(self) -> list[Sample]:
        """The samples inside [0, makespan]."""
        return [s for s in self.samples if 0.0 <= s.t <= self.makespan_s]

    def mean_utilization(self) -> float:
        """Time-weighted mean of the utilization over [0, makespan]."""
        inside = self.window()
        if not inside or self.makespan_s <= 0:
            return 0.0
        area = 0.0
        for here, after in zip(inside, [*inside[1:], None], strict=True):
            end = self.makespan_s if after is None else after.t
            area += here.utilization * (end - here.t)
        return area / (self.makespan_s - inside[0].t) if self.makespan_s > inside[0].t else 0.0

    def frameworks(self) -> list[str]:
        names: dict[str, None] = {}
        for s in self.samples:
            names.update(dict.fromkeys(s.used))
        return sorted(names)

    def series(self) -> tuple[list[float], dict[str, list[float]]]:
        """Times, and the cpus each framework held at each time (0 when absent)."""
        names = self.frameworks()
        return ([s.t for s in self.samples],
                {n: [s.used.get(n, 0.0) for s in self.samples] for n in names})

    def summary(self) -> dict[str, Any]:
        return {"makespan_s": round(self.makespan_s, 2),
                "mean_utilization": round(self.mean_utilization(), 4),
                "finished_s": {k: round(v, 2) for k, v in sorted(self.finished.items())},
                "samples": len(self.samples)}


def sample_from_frameworks(t: float, total_cpus: float,
                           frameworks: Iterable[Mapping[str, Any]],
                           names: Sequence[str] = ()) -> Sample:
    """One ``Sample`` from ``/master/frameworks``' ``frameworks`` list (Mesos' shape).

    Frameworks of the same name are summed; with ``names``, only those are kept.
    """
    used: dict[str, float] = {}
    for fw in frameworks:
        name = str(fw.get("name", ""))
        if names and name not in names:
            continue
        cpus = float((fw.get("used_resources") or {}).get("cpus", 0.0))
        used[name] = used.get(name, 0.0) + cpus
    return Sample(t, total_cpus, used)


def compare(static: Timeline, shared: Timeline) -> dict[str, Any]:
    """The demo's result: both runs, ``speedup`` and ``utilization_gain_points``."""
    speedup = static.makespan_s / shared.makespan_s if shared.makespan_s > 0 else 0.0
    gain = 100.0 * (shared.mean_utilization() - static.mean_utilization())
    return {"static": static.summary(), "shared": shared.summary(),
            "speedup": round(speedup, 3), "utilization_gain_points": round(gain, 1)}


def medians(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several ``compare`` results as one: each figure's median over the runs.

    ``runs`` lists them all; ``median_run`` is the index of the run of median speedup
    (the one to plot). One run is returned as it is (plus ``median_run`` 0).
    """
    if len(runs) == 1:
        return {**runs[0], "median_run": 0}
    out: dict[str, Any] = {}
    for mode in ("static", "shared"):
        out[mode] = {key: round(statistics.median(r[mode][key] for r in runs), 4)
                     for key in ("makespan_s", "mean_utilization")}
    out["speedup"] = round(statistics.median(r["speedup"] for r in runs), 3)
    out["utilization_gain_points"] = round(
        statistics.median(r["utilization_gain_points"] for r in runs), 1)
    out["runs"] = list(runs)
    by_speedup = sorted(range(len(runs)), key=lambda i: runs[i]["speedup"])
    out["median_run"] = by_speedup[len(runs) // 2]
    return out
