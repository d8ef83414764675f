"""Isolation end to end: real ``meseta-master`` / ``meseta-agent`` processes, a framework
in the test process, tasks under cgroups (or posix) limits.

- a memory hog ends TASK_FAILED / REASON_CONTAINER_LIMITATION_MEMORY (source AGENT)
  while a neighbour that holds 50 MB shows it in ``/monitor/statistics.json``;
- the containers' cgroups are gone once the framework is;
- ``--isolation=cgroups/...`` where the controllers cannot be seen (a mount namespace
  hiding /sys/fs/cgroup) exits 1 with a message saying what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from actors.agent.containerizer.cgroups import probe
from actors.messages import Filters, Reason, Source, TaskState
from actors.messages.task_state import is_terminal
from tests.e2e.conftest import BIN, LocalCluster
from tests.e2e.harness import command_task, framework

SUPPORT = probe()
MB = 1024 * 1024
PY = sys.executable
HOG = (f"{PY} -c \"import time\nb = []\nfor _ in range(40):\n"
       f"    b.append(b'x' * (5 * 2**20)); time.sleep(0.05)\ntime.sleep(60)\"")
HOLDER = f"{PY} -c \"import time\nb = b'x' * (50 * 2**20)\ntime.sleep(600)\""


def _dirs(root: str) -> list[str]:
    found: list[str] = []
    for base in SUPPORT.own.values():
        top = os.path.join(base, root)
        if os.path.isdir(top):
            found += [os.path.join(top, d) for d in os.listdir(top)]
    return [d for d in found if os.path.isdir(d)]


@pytest.fixture
def cgroups_root() -> Iterator[str]:
    root = f"meseta-e2e-{uuid.uuid4().hex[:8]}"
    try:
        yield root
    finally:  # whatever a failed test left: kill it, remove it
        deadline = time.monotonic() + 30
        while _dirs(root) and time.monotonic() < deadline:
            for directory in _dirs(root):
                try:
                    with open(os.path.join(directory, "cgroup.procs")) as f:
                        for pid in f.read().split():
                            os.kill(int(pid), signal.SIGKILL)
                    if os.path.exists(os.path.join(directory, "freezer.state")):
                        with open(os.path.join(directory, "freezer.state"), "w") as f:
                            f.write("THAWED")
                    os.rmdir(directory)
                except OSError:
                    pass
            time.sleep(0.05)
        for base in SUPPORT.own.values():
            try:
                os.rmdir(os.path.join(base, root))
            except OSError:
                pass


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.load(reply)


ISOLATIONS = [
    pytest.param("posix/cpu,posix/mem", id="posix"),
    pytest.param("cgroups/cpu,cgroups/mem,cgroups/pids", id="cgroups",
                 marks=pytest.mark.skipif(SUPPORT.version == 0,
                                          reason=f"no cgroups: {SUPPORT.describe()}")),
]


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_hog_fails_for_memory_while_its_neighbour_is_monitored(
        cluster: LocalCluster, cgroups_root: str, isolation: str) -> None:
    master = cluster.master("--allocation_interval=100ms")
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          f"--isolation={isolation}", f"--cgroups_root={cgroups_root}")
    flags = _get(f"{agent.http}/state")["flags"]
    assert (flags["isolation"], flags["cgroups_root"]) == (isolation, cgroups_root)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [
            command_task("holder", offer, HOLDER, "cpus:0.5;mem:128"),
            command_task("hog", offer, HOG, "cpus:0.1;mem:32")],
            Filters(refuse_seconds=3600.0))
        failed = sched.wait_state("hog", TaskState.TASK_FAILED)
        assert failed.reason is Reason.REASON_CONTAINER_LIMITATION_MEMORY
        assert failed.source is Source.SOURCE_AGENT
        assert failed.message.startswith("Memory limit exceeded: Requested: 64MB")
        sched.wait_state("holder", TaskState.TASK_RUNNING)
        deadline = time.monotonic() + 60
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:
            entries = _get(f"{agent.http}/monitor/statistics.json")
            stats = next((e["statistics"] for e in entries if e["executor_id"] == "holder"), {})
            if stats.get("mem_rss_bytes", 0) >= 50 * MB:
                break
            time.sleep(0.2)
        assert stats.get("mem_rss_bytes", 0) >= 50 * MB, stats
        assert stats["mem_limit_bytes"] == 160 * MB
        assert stats["cpus_limit"] == pytest.approx(0.6)
        assert not any(is_terminal(s) for s in sched.states("holder"))  # untouched
    # The framework is gone: its executors were shut down, their groups removed.
    deadline = time.monotonic() + 60
    while _dirs(cgroups_root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _dirs(cgroups_root)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="hiding /sys/fs/cgroup needs root and unshare(1)")
def test_cgroups_isolation_without_the_controllers_exits_with_a_clear_error(
        tmp_path: Any) -> None:
    agent = [str(BIN / "meseta-agent"), "--master=127.0.0.1:1", "--port=0", "--http_port=0",
             f"--work_dir={tmp_path}", "--isolation=cgroups/cpu,cgroups/mem"]
    hide = "mount -t tmpfs none /sys/fs/cgroup && exec \"$@\""
    proc = subprocess.run(["unshare", "--mount", "/bin/sh", "-c", hide, "sh", *agent],
                          capture_output=True, text=True, timeout=60)
    if "mount" in proc.stderr and "meseta-agent" not in proc.stderr:
        pytest.skip(f"cannot hide /sys/fs/cgroup here: {proc.stderr.strip()}")
    assert proc.returncode == 1, proc.stderr
    assert "--isolation=cgroups/cpu,cgroups/mem needs cgroups" in proc.stderr
    assert "memory" in proc.stderr and "not writable" in proc.stderr
