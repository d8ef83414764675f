"""``/monitor/statistics``: each running executor's latest usage, as Mesos' JSON.

``AgentActor`` serves it (also as ``/monitor/statistics.json``) on its own thread by
joining its executor records with the containerizer's latest samples
(``Containerizer.statistics()``, taken by the containerizer's watchdog thread): the
route reads no /proc file itself, so it stays cheap with hundreds of executors. The
answer is a list of ``{executor_id, executor_name, framework_id, source,
statistics}`` with the ``ResourceStatistics`` fields that were measured (a field the
isolation cannot tell is left out, as protobuf JSON leaves out unset fields).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from actors.agent.executors import ExecutorState, FrameworkRecord
from actors.messages.statistics import ResourceStatistics

__all__ = ["render_statistics", "statistics_json"]


def statistics_json(stats: ResourceStatistics) -> dict[str, Any]:
    """The measured fields of one sample."""
    return {f.name: getattr(stats, f.name) for f in dataclasses.fields(stats)
            if getattr(stats, f.name) is not None}


def render_statistics(frameworks: Iterable[FrameworkRecord],
                      samples: Mapping[str, ResourceStatistics]) -> list[dict[str, Any]]:
    """One entry per live executor that has been sampled (keyed by its run id)."""
    out: list[dict[str, Any]] = []
    for framework in frameworks:
        for executor in framework.executors.values():
            stats = samples.get(executor.run_id)
            if stats is None or executor.state is ExecutorState.TERMINATED:
                continue
            out.append({
                "executor_id": executor.executor_id, "executor_name": executor.info.name,
                "framework_id": framework.framework_id, "source": executor.info.source,
                "statistics": statistics_json(stats)})
    return out
