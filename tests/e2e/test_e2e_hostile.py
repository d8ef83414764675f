"""A short hostile-input campaign (``scripts/hostile``) against a real master and agent.

Every attack kind, ZeroMQ and HTTP, against live nodes while a framework runs tasks
alongside: no node dies, the framework sees no failure, memory stays bounded, and the
report has the shape the full campaign prints.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from frameworks.hostile.http_garbage import HTTP_ATTACKS
from frameworks.hostile.wire import ATTACKS

MAIN = Path(__file__).resolve().parents[2] / "scripts" / "benchmarks" / "main.py"
KEYS = {"frames_sent", "crashes", "rss_before_mb", "rss_after_mb", "framework_failures",
        "http_requests_sent", "valid_tasks_finished", "attacks", "duration_s", "master", "agent"}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_short_campaign_crashes_nothing_and_fails_no_task() -> None:
    result = subprocess.run([sys.executable, str(MAIN), "hostile", "--frames", "3000", "--json",
                             "--settle_timeout", "120"],
                            capture_output=True, text=True, timeout=580)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    report = json.loads(lines[-1])
    assert KEYS <= set(report), report
    assert report["frames_sent"] == 3000
    assert report["crashes"] == 0, report
    assert report["framework_failures"] == 0, report["framework_failure_detail"]
    assert report["memory_bounded"], report
    assert report["valid_tasks_finished"] > 10
    assert report["http_requests_sent"] >= 50
    assert report["http_internal_errors"] == 0, report["http_statuses"]
    assert set(report["attacks"]) == {*ATTACKS, *HTTP_ATTACKS, "slowloris"}, report["attacks"]
    for node in ("master", "agent"):
        detail = report[node]
        assert detail["alive"] and detail["answers"], detail
        assert detail["io_errors"] == 0, detail
        assert detail["dropped"].get("dropped/malformed", 0) > 100, detail
    # invalid tasks on real offers earned TASK_ERROR, those on bogus offers TASK_LOST
    assert report["hostile_scheduler"].get("REASON_TASK_INVALID", 0) > 0, report
    assert report["hostile_scheduler"].get("REASON_INVALID_OFFERS", 0) > 0, report
    assert result.returncode == 0, report
