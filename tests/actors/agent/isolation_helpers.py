"""Helpers of the isolation tests: isolations to run under, cgroup clean-up, statistics.

``ISOLATIONS`` parametrises a test over ``posix/cpu,posix/mem`` and
``cgroups/cpu,cgroups/mem,cgroups/pids`` (skipped, with the reason, only where the
kernel lacks the controllers). ``new_root`` names each test's own cgroups root and
``remove_root`` (the ``cgroups_root`` fixture's teardown, conftest.py) kills whatever
is left in it and removes it, so a failing test leaks nothing; ``container_dirs``
lists what exists under it.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
import uuid
from typing import Any

import pytest

from actors.agent.containerizer.cgroups import probe

SUPPORT = probe()
POSIX = "posix/cpu,posix/mem"
CGROUPS = "cgroups/cpu,cgroups/mem,cgroups/pids"
needs_cgroups = pytest.mark.skipif(
    SUPPORT.version == 0, reason=f"cgroup controllers missing: {SUPPORT.describe()}")
ISOLATIONS = [pytest.param(POSIX, id="posix"),
              pytest.param(CGROUPS, id="cgroups", marks=needs_cgroups)]
MB = 1024 * 1024


def container_dirs(root: str) -> list[str]:
    """The container cgroup directories under ``root`` in every hierarchy."""
    found: list[str] = []
    for base in SUPPORT.own.values():
        top = os.path.join(base, root)
        if os.path.isdir(top):
            found += [os.path.join(top, d) for d in os.listdir(top)
                      if os.path.isdir(os.path.join(top, d))]
    return found


def remove_root(root: str) -> None:
    """Kill every process left under ``root`` and rmdir it all (best effort, bounded)."""
    for _ in range(200):
        left = container_dirs(root)
        for directory in left:
            freezer = os.path.join(directory, "freezer.state")
            try:
                with open(os.path.join(directory, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                if os.path.exists(freezer):
                    with open(freezer, "w") as f:
                        f.write("THAWED")
                os.rmdir(directory)
            except OSError:
                pass
        if not container_dirs(root):
            break
        time.sleep(0.05)
    for base in SUPPORT.own.values():
        try:
            os.rmdir(os.path.join(base, root))
        except OSError:
            pass


def new_root() -> str:
    """A cgroups root name of one test's own."""
    return f"meseta-test-{uuid.uuid4().hex[:8]}"


def monitor(http_port: int | None) -> list[dict[str, Any]]:
    """GET the agent's /monitor/statistics."""
    url = f"http://127.0.0.1:{http_port}/monitor/statistics"
    with urllib.request.urlopen(url, timeout=30) as resp:
        result: list[dict[str, Any]] = json.load(resp)
    return result


def statistics_of(http_port: int | None, executor_id: str) -> dict[str, Any] | None:
    for entry in monitor(http_port):
        if entry["executor_id"] == executor_id:
            stats: dict[str, Any] = entry["statistics"]
            return stats
    return None
