"""Isolation with real processes, under both ``posix/*`` and ``cgroups/*``: a memory hog is
killed for its limit while its neighbour runs on, a cpu quota throttles a busy loop,
``/monitor/statistics`` reports what a task holds, and a destroyed container leaves no
process and no cgroup behind."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Any

import psutil
import pytest
from agent_harness import WAIT, Cluster, eventually, run_task, send, state
from agent_harness import command_task as _command_task
from isolation_helpers import (
    CGROUPS,
    ISOLATIONS,
    MB,
    SUPPORT,
    container_dirs,
    monitor,
    needs_cgroups,
    statistics_of,
)

from actors.agent.actor import AgentActor
from actors.messages import (
    CommandInfo,
    ExecutorInfo,
    KillTask,
    Reason,
    ShutdownFramework,
    Source,
    TaskInfo,
    TaskState,
)
from actors.resources import Resources

PY = sys.executable


def command_task(task_id: str, value: str, resources: str = "cpus:0.1;mem:32") -> TaskInfo:
    return dataclasses.replace(_command_task(task_id, value),
                               resources=Resources.parse(resources))


HOG = (f"{PY} -c \"import time\nb = []\nfor _ in range(40):\n"
       f"    b.append(b'x' * (5 * 2**20)); time.sleep(0.05)\ntime.sleep(60)\"")
"""Allocates 200 MB in 5 MB steps (written, so resident), then sleeps."""


def _sandbox(agent: AgentActor, executor_id: str) -> str:
    assert eventually(lambda: any(e["id"] == executor_id for f in state(agent)["frameworks"]
                                  for e in f["executors"]))
    return next(e["directory"] for f in state(agent)["frameworks"] for e in f["executors"]
                if e["id"] == executor_id)


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _executor_pid(agent: AgentActor, executor_id: str) -> int:
    assert eventually(lambda: any(e["id"] == executor_id and e["pid"]
                                  for f in state(agent)["frameworks"] for e in f["executors"]))
    return int(next(e["pid"] for f in state(agent)["frameworks"] for e in f["executors"]
                    if e["id"] == executor_id))


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_memory_hog_fails_with_the_memory_limitation_and_its_neighbour_runs_on(
        cluster: Cluster, cgroups_root: str, isolation: str) -> None:
    agent = cluster.make_agent(isolation=isolation, cgroups_root=cgroups_root)
    run_task(cluster, agent, command_task("neighbour", "sleep 600"))
    cluster.master.wait_state("neighbour", TaskState.TASK_RUNNING)
    # The hog starts a child of its own session (it would escape a process-group kill)
    # and waits for the test to note its tree before it allocates.
    hog = command_task("hog", f"setsid sleep 600 & while [ ! -e go ]; do sleep 0.05; done; "
                              f"{HOG}", resources="cpus:0.1;mem:32")
    run_task(cluster, agent, hog)
    cluster.master.wait_state("hog", TaskState.TASK_RUNNING)
    sandbox = _sandbox(agent, "hog")
    pid = _executor_pid(agent, "hog")
    assert eventually(lambda: any("600" in p.cmdline() for p in _tree(pid)))
    hog_tree = _tree(pid)
    neighbour_tree = _tree(_executor_pid(agent, "neighbour"))
    open(os.path.join(sandbox, "go"), "w").close()

    update = cluster.master.wait_state("hog", TaskState.TASK_FAILED, timeout=60).update
    status = update.status
    assert status.reason is Reason.REASON_CONTAINER_LIMITATION_MEMORY
    assert status.source is Source.SOURCE_AGENT
    assert status.message.startswith("Memory limit exceeded: Requested: 64MB Maximum Used: ")
    used = int(status.message.split("Maximum Used: ")[1].split("MB")[0])
    assert used >= 64
    _, gone_alive = psutil.wait_procs(hog_tree, timeout=WAIT)
    assert not gone_alive, f"left of the hog's container: {gone_alive}"
    # The neighbour was not touched: still running, no update past RUNNING.
    assert all(p.is_running() and p.status() != psutil.STATUS_STOPPED for p in neighbour_tree)
    assert cluster.master.updates("neighbour")[-1] is TaskState.TASK_RUNNING
    send(cluster, agent, KillTask(task_id="neighbour", framework_id="M1-0001"))
    cluster.master.wait_state("neighbour", TaskState.TASK_KILLED)
    _, alive = psutil.wait_procs(neighbour_tree, timeout=WAIT)
    assert not alive
    assert eventually(lambda: not container_dirs(cgroups_root)), container_dirs(cgroups_root)


def test_posix_counts_pages_shared_with_the_warm_launcher_once(cluster: Cluster) -> None:
    """A warm-forked command executor's RSS (~40 MB) is over a 33 MB limit, its PSS is
    not: the watchdog, having looked, lets it run."""
    agent = cluster.make_agent(isolation="posix/cpu,posix/mem")
    run_task(cluster, agent, command_task("small", "sleep 600", resources="cpus:0.1;mem:1"))
    cluster.master.wait_state("small", TaskState.TASK_RUNNING)
    port = agent.node.http_port
    assert eventually(lambda: (statistics_of(port, "small") or {}).get("mem_rss_bytes", 0)
                      > 33 * MB), statistics_of(port, "small")
    seen = statistics_of(port, "small")
    assert seen is not None and seen["mem_limit_bytes"] == 33 * MB
    # Three more watchdog samples over the limit's RSS, and the task still runs.
    assert eventually(lambda: (statistics_of(port, "small") or {})
                      .get("timestamp", 0) > seen["timestamp"] + 1.2)
    assert cluster.master.updates("small")[-1] is TaskState.TASK_RUNNING
    send(cluster, agent, KillTask(task_id="small", framework_id="M1-0001"))
    cluster.master.wait_state("small", TaskState.TASK_KILLED)


def _cpu_share(agent: AgentActor, executor_id: str,
               seconds: float) -> tuple[float, dict[str, Any]]:
    """CPU used per wall second between two samples ``seconds`` apart, and the last one."""
    port = agent.node.http_port
    assert eventually(lambda: bool((statistics_of(port, executor_id) or {})
                                   .get("cpus_user_time_secs")))
    first = statistics_of(port, executor_id)
    assert first is not None
    deadline = time.monotonic() + WAIT
    while True:
        last = statistics_of(port, executor_id)
        assert last is not None
        if last["timestamp"] - first["timestamp"] >= seconds or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    used = (last["cpus_user_time_secs"] + last["cpus_system_time_secs"]
            - first["cpus_user_time_secs"] - first["cpus_system_time_secs"])
    return used / (last["timestamp"] - first["timestamp"]), last


@needs_cgroups
def test_a_cpu_quota_throttles_a_busy_loop(cluster: Cluster, cgroups_root: str) -> None:
    agent = cluster.make_agent(isolation=CGROUPS, cgroups_root=cgroups_root)
    # 0.15 + the command executor's 0.1 = 0.25 cpus: cpu.cfs_quota_us 25000 of 100000.
    run_task(cluster, agent, command_task(
        "busy", f"{PY} -c 'while True: pass'", resources="cpus:0.15;mem:64"))
    cluster.master.wait_state("busy", TaskState.TASK_RUNNING)
    share, last = _cpu_share(agent, "busy", 2.0)
    assert share < 0.5, f"a 0.25-cpu container used {share:.2f} cpu"
    assert last["cpus_limit"] == pytest.approx(0.25)
    assert last["cpus_nr_throttled"] > 0
    assert last["cpus_throttled_time_secs"] > 0
    cpu_groups = [d for d in container_dirs(cgroups_root)
                  if os.path.exists(os.path.join(d, "cpu.cfs_quota_us"))]
    assert cpu_groups  # (v1 here; a v2 machine shows the same quota in cpu.max)
    for directory in cpu_groups:
        with open(os.path.join(directory, "cpu.cfs_quota_us")) as f:
            assert int(f.read()) == 25000
        with open(os.path.join(directory, "cpu.shares")) as f:
            assert int(f.read()) == 256
    send(cluster, agent, KillTask(task_id="busy", framework_id="M1-0001"))
    cluster.master.wait_state("busy", TaskState.TASK_KILLED)
    assert eventually(lambda: not container_dirs(cgroups_root)), container_dirs(cgroups_root)


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_monitor_statistics_report_a_tasks_rss_and_its_limits(
        cluster: Cluster, cgroups_root: str, isolation: str) -> None:
    agent = cluster.make_agent(isolation=isolation, cgroups_root=cgroups_root)
    holder = (f"{PY} -c \"import time\nb = b'x' * (50 * 2**20)\ntime.sleep(600)\"")
    run_task(cluster, agent, command_task("holder", holder,
                                          resources="cpus:0.5;mem:128"))
    cluster.master.wait_state("holder", TaskState.TASK_RUNNING)
    port = agent.node.http_port
    assert eventually(lambda: (statistics_of(port, "holder") or {})
                      .get("mem_rss_bytes", 0) >= 50 * MB), statistics_of(port, "holder")
    stats = statistics_of(port, "holder")
    assert stats is not None
    assert stats["cpus_limit"] == pytest.approx(0.6)
    assert stats["mem_limit_bytes"] == (128 + 32) * MB
    assert stats["processes"] >= 2 and stats["threads"] >= 2
    assert stats["timestamp"] == pytest.approx(time.time(), abs=30)
    entry = next(e for e in monitor(port) if e["executor_id"] == "holder")
    assert entry["framework_id"] == "M1-0001" and entry["source"] == "holder"
    assert entry["executor_name"] == "Command Executor (Task: holder)"
    if isolation == CGROUPS:
        assert stats["mem_total_bytes"] >= 50 * MB
        assert "cpus_nr_periods" in stats
    else:
        assert "mem_total_bytes" not in stats and "cpus_nr_periods" not in stats
    send(cluster, agent, KillTask(task_id="holder", framework_id="M1-0001"))
    cluster.master.wait_state("holder", TaskState.TASK_KILLED)
    assert eventually(lambda: statistics_of(port, "holder") is None)


@needs_cgroups
def test_destroying_a_container_kills_processes_that_left_its_tree(
        cluster: Cluster, cgroups_root: str) -> None:
    """A double-forked daemon leaves the executor's tree (reparented to the warm helper);
    the freezer sweep of the container's cgroups still finds and kills it."""
    agent = cluster.make_agent(isolation=CGROUPS, cgroups_root=cgroups_root)
    daemon = "(setsid sleep 600 & echo $! > daemon.pid) & wait; sleep 600"
    run_task(cluster, agent, command_task("daemon", daemon))
    cluster.master.wait_state("daemon", TaskState.TASK_RUNNING)
    path = os.path.join(_sandbox(agent, "daemon"), "daemon.pid")
    assert eventually(lambda: os.path.exists(path) and bool(open(path).read().strip()))
    escaped = psutil.Process(int(open(path).read()))
    executor = _executor_pid(agent, "daemon")
    assert escaped.pid not in {p.pid for p in _tree(executor)}
    send(cluster, agent, KillTask(task_id="daemon", framework_id="M1-0001"))
    cluster.master.wait_state("daemon", TaskState.TASK_KILLED)
    _, alive = psutil.wait_procs([escaped], timeout=WAIT)
    assert not alive, "the escaped daemon survived its container"
    assert eventually(lambda: not container_dirs(cgroups_root)), container_dirs(cgroups_root)


@needs_cgroups
@pytest.mark.parametrize("launcher", ["warm", "subprocess"])
def test_the_executor_and_its_tasks_start_inside_every_cgroup_of_the_container(
        cluster: Cluster, cgroups_root: str, launcher: str) -> None:
    agent = cluster.make_agent(isolation=CGROUPS, cgroups_root=cgroups_root,
                               launcher=launcher)
    run_task(cluster, agent, command_task("inside", "sleep 600"))
    cluster.master.wait_state("inside", TaskState.TASK_RUNNING)
    executor = _executor_pid(agent, "inside")
    assert eventually(lambda: any(p.name() == "sleep" for p in _tree(executor)))
    tree = {p.pid for p in _tree(executor)}
    dirs = container_dirs(cgroups_root)
    # v1: one group in each of memory, cpu, pids and freezer; v2: one unified group.
    assert len(dirs) == (4 if SUPPORT.version == 1 else 1), dirs
    for directory in dirs:
        with open(os.path.join(directory, "cgroup.procs")) as f:
            members = {int(p) for p in f.read().split()}
        assert tree <= members, (directory, tree, members)
    send(cluster, agent, KillTask(task_id="inside", framework_id="M1-0001"))
    cluster.master.wait_state("inside", TaskState.TASK_KILLED)
    assert eventually(lambda: not container_dirs(cgroups_root)), container_dirs(cgroups_root)


def _limit_in_bytes(root: str) -> int | None:
    for directory in container_dirs(root):
        path = os.path.join(directory, "memory.limit_in_bytes")
        if os.path.exists(path):
            with open(path) as f:
                return int(f.read())
    return None


@needs_cgroups
def test_a_custom_executors_limits_grow_with_each_task_it_is_given(
        cluster: Cluster, cgroups_root: str) -> None:
    """A custom executor gets no allowance: its own resources plus its tasks'."""
    agent = cluster.make_agent(isolation=CGROUPS, cgroups_root=cgroups_root)
    executor = ExecutorInfo(executor_id="hello", framework_id="M1-0001",
                            resources=Resources.parse("cpus:0.1;mem:32"),
                            command=CommandInfo(value=f"{PY} -m frameworks.examples."
                                                      "hello_executor"))

    def task(task_id: str, resources: str) -> TaskInfo:
        return TaskInfo(name=task_id, task_id=task_id, agent_id="M1-S1",
                        resources=Resources.parse(resources), executor=executor)

    run_task(cluster, agent, task("first", "cpus:0.1;mem:32"))
    cluster.master.wait_state("first", TaskState.TASK_RUNNING)
    assert _limit_in_bytes(cgroups_root) == 64 * MB
    run_task(cluster, agent, task("second", "cpus:0.2;mem:64"))
    cluster.master.wait_state("second", TaskState.TASK_RUNNING)
    assert eventually(lambda: _limit_in_bytes(cgroups_root) == 128 * MB)
    assert eventually(lambda: (statistics_of(agent.node.http_port, "hello") or {})
                      .get("cpus_limit") == pytest.approx(0.4))
    send(cluster, agent, ShutdownFramework(framework_id="M1-0001"))
    assert eventually(lambda: not container_dirs(cgroups_root)), container_dirs(cgroups_root)
