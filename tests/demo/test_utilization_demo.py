"""The utilization demo end to end, on its short workload: two 9-agent clusters of real
processes, the three frameworks running real tasks, the PNG and the JSON result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_short_demo_writes_its_plot_and_numbers(tmp_path: Path) -> None:
    png = tmp_path / "u.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo" / "main.py"), "--short", "--json",
         f"--out={png}", f"--work_dir={tmp_path / 'work'}", "--timeout=240"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) >= {"static", "shared", "speedup", "utilization_gain_points"}
    for mode in ("static", "shared"):
        run = report[mode]
        assert run["makespan_s"] > 0 and 0 < run["mean_utilization"] <= 1
        assert set(run["finished_s"]) == {"batch", "analytics"}
        assert run["samples"] > 3
    assert report["speedup"] == pytest.approx(
        report["static"]["makespan_s"] / report["shared"]["makespan_s"], rel=0.01)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # every framework's log says it registered, in both modes
    for mode in ("static", "shared"):
        for name in ("service", "batch", "analytics"):
            assert "registered" in (tmp_path / "work" / mode / f"{name}.log").read_text()
