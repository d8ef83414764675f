"""The demo's arithmetic: samples → mean utilization, makespan ratios, workload specs."""

from __future__ import annotations

import pytest
from demo.timeline import Sample, Timeline, compare, medians, sample_from_frameworks
from demo.workload import ROLES, Workload


def _tl(mode: str, points: list[tuple[float, float]], makespan: float) -> Timeline:
    return Timeline(mode, [Sample(t, 10.0, {"x": used}) for t, used in points], makespan)


def test_mean_utilization_is_time_weighted_over_the_makespan() -> None:
    # 10 cpus: 10 used for 1 s, 0 for 3 s → 25 %; the sample after the makespan is ignored
    tl = _tl("m", [(0.0, 10.0), (1.0, 0.0), (5.0, 10.0)], makespan=4.0)
    assert tl.mean_utilization() == pytest.approx(0.25)
    assert _tl("m", [], 4.0).mean_utilization() == 0.0


def test_compare_gives_speedup_and_gain_points() -> None:
    static = _tl("static", [(0.0, 5.0)], makespan=20.0)
    shared = _tl("shared", [(0.0, 8.0)], makespan=10.0)
    result = compare(static, shared)
    assert result["speedup"] == 2.0
    assert result["utilization_gain_points"] == pytest.approx(30.0)
    assert result["static"]["makespan_s"] == 20.0
    assert result["shared"]["mean_utilization"] == pytest.approx(0.8)


def test_sample_from_master_frameworks_sums_by_name() -> None:
    s = sample_from_frameworks(1.0, 8.0, [
        {"name": "batch", "used_resources": {"cpus": 2.0, "mem": 64}},
        {"name": "batch", "used_resources": {"cpus": 1.0}},
        {"name": "service", "used_resources": {}},
    ])
    assert dict(s.used) == {"batch": 3.0, "service": 0.0}
    assert s.utilization == pytest.approx(3.0 / 8.0)


def test_static_agents_are_reserved_three_per_role() -> None:
    w = Workload()
    static = [w.agent_resources(i, static=True) for i in range(w.agents)]
    for role in ROLES:
        assert sum(f"cpus({role}):4" in r for r in static) == 3
    assert "(" not in w.agent_resources(0, static=False)
    names = [j["name"] for j in w.jobs()]
    assert len(names) == len(set(names)) == 2 * w.wave_jobs + 1


def test_medians_over_runs_and_the_run_to_plot() -> None:
    runs = [compare(_tl("static", [(0.0, 5.0)], m), _tl("shared", [(0.0, 8.0)], 10.0))
            for m in (12.0, 20.0, 16.0)]
    out = medians(runs)
    assert out["static"]["makespan_s"] == 16.0 and out["speedup"] == 1.6
    assert out["utilization_gain_points"] == pytest.approx(30.0)
    assert out["median_run"] == 2 and len(out["runs"]) == 3
    assert medians(runs[:1])["median_run"] == 0
