"""Faults with real processes: partitions, split brain, scheduler failover, lost messages.

Masters and agents run as OS processes started with ``MESETA_TEST_HOOKS=1``, so a test
drops their messages through ``/__hooks__`` (``tests.e2e.faults``); ZooKeeper is the
real session server (``zookeeper`` fixture) where leadership matters. Short flags keep
each scenario to seconds: pings every 500 ms, registration backoff 100 ms, sessions of
1 s, failover timeouts of 2-5 s. Tasks record their OS pid, so "still running" means the
very same process, never a second launch.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.messages import FrameworkCapability, Reason, TaskState
from frameworks.scheduler_driver import SchedulerDriver
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.faults import (
    SchedProc,
    alive,
    drop,
    heal,
    http,
    pid_task,
    rules,
    state,
    task_pids,
    wait_for,
)
from tests.e2e.harness import WAIT, Recorder, command_task, framework, framework_info
from tests.zk_helpers import ZkProxy

AWARE = frozenset({FrameworkCapability.PARTITION_AWARE})
PINGS = ("--agent_ping_timeout=500ms", "--max_agent_ping_timeouts=4")
FAST = ("--allocation_interval=100ms", *PINGS)
AGENT_FLAGS = ("--registration_backoff_factor=100ms",)
RESOURCES = "cpus:4;mem:4096;disk:4096;ports:[31000-32000]"


@pytest.fixture(autouse=True)
def test_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every process a test starts serves ``/__hooks__``."""
    monkeypatch.setenv("MESETA_TEST_HOOKS", "1")


@pytest.fixture
def scheds(tmp_path: Path) -> Iterator[list[SchedProc]]:
    started: list[SchedProc] = []
    try:
        yield started
    finally:
        for proc in started:
            proc.kill()


def _launch(driver: SchedulerDriver, sched: Recorder, task_id: str, command: str,
            resources: str = "cpus:0.1;mem:32") -> None:
    offer = sched.wait("offer")
    driver.launch_tasks([offer.id], [command_task(task_id, offer, command, resources)])
    sched.wait_state(task_id, TaskState.TASK_RUNNING)


def _elected(masters: list[Node]) -> Node:
    return wait_for(lambda: next((m for m in masters if m.proc.poll() is None
                                  and state(m)["elected"]), None), what="an elected master")


def _reconciled_running(driver: SchedulerDriver, sched: Recorder, task_id: str) -> None:
    """Reconcile until the master answers TASK_RUNNING for ``task_id``."""
    deadline = time.monotonic() + WAIT
    while True:
        driver.reconcile_tasks([])
        with contextlib.suppress(TimeoutError):
            sched.wait_state(task_id, TaskState.TASK_RUNNING, timeout=1.0)
            return
        assert time.monotonic() < deadline, f"{task_id} never reconciled as running"


# --- a. partition between the master and one agent -------------------------------------


def test_a_partitioned_agent_is_unreachable_then_its_tasks_run_again_when_healed(
        cluster: LocalCluster, tmp_path: Path) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    with framework(master.address, "aware", capabilities=AWARE) as (aware, s_aware), \
            framework(master.address, "plain") as (plain, s_plain):
        _launch(aware, s_aware, "a", pid_task(tmp_path / "a.pid"))
        _launch(plain, s_plain, "p", pid_task(tmp_path / "p.pid"))
        pids = {t: task_pids(tmp_path / f"{t}.pid") for t in ("a", "p")}

        drop(master, direction="in", peer=agent.address)   # both ways, all messages
        drop(master, direction="out", peer=agent.address)
        unreachable = s_aware.wait_state("a", TaskState.TASK_UNREACHABLE)
        lost = s_plain.wait_state("p", TaskState.TASK_LOST)
        assert unreachable.reason is lost.reason is Reason.REASON_AGENT_REMOVED
        assert s_aware.wait("agent_lost") == unreachable.agent_id
        assert state(master)["unreachable_agents"] == 1

        heal(master)  # the agent, hearing no pings, registers again with its tasks
        back = s_aware.wait_state("a", TaskState.TASK_RUNNING)
        again = s_plain.wait_state("p", TaskState.TASK_RUNNING)  # Mesos >= 1.5: not killed
        assert back.reason is again.reason is Reason.REASON_AGENT_REREGISTERED
        wait_for(lambda: state(master)["unreachable_agents"] == 0
                 and state(master)["activated_agents"] == 1, what="the agent back")
        for task_id, launched in pids.items():
            assert task_pids(tmp_path / f"{task_id}.pid") == launched  # launched once
            assert alive(launched[0])
        frameworks = {f["name"]: f for f in state(master)["frameworks"]}
        assert [t["id"] for t in frameworks["plain"]["tasks"]] == ["p"]
        assert frameworks["aware"]["unreachable_tasks"] == []

        aware.kill_task("a")
        plain.kill_task("p")
        s_aware.wait_state("a", TaskState.TASK_KILLED)
        s_plain.wait_state("p", TaskState.TASK_KILLED)
        wait_for(lambda: not alive(pids["a"][0]) and not alive(pids["p"][0]),
                 what="the tasks' processes gone")


# --- e. lost registration messages are retried -----------------------------------------


def test_dropped_registrations_are_retried_with_backoff(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    drop(master, name="RegisterAgent", count=3)
    drop(master, name="RegisterFramework", count=2)
    cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    wait_for(lambda: state(master)["activated_agents"] == 1, what="the agent registered")
    sched = Recorder()
    driver = SchedulerDriver.create(sched, framework_info("retry"), master.address,
                                    registration_backoff_factor=0.2)
    try:
        driver.start()
        framework_id = sched.wait("registered")
        assert [f["id"] for f in state(master)["frameworks"]] == [framework_id]
        assert sched.wait("offer").agent_id == state(master)["agents"][0]["id"]
    finally:
        driver.stop()
        driver.close()
    used = {r["name"]: (r["hits"], r["active"]) for r in rules(master)}
    assert used == {"RegisterAgent": (3, False), "RegisterFramework": (2, False)}


# --- c. scheduler failover within the failover timeout ---------------------------------


def test_a_new_scheduler_takes_over_within_the_failover_timeout(
        cluster: LocalCluster, tmp_path: Path, scheds: list[SchedProc]) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    pid_file = tmp_path / "t.pid"
    first = SchedProc(tmp_path / "sched1.log", f"--master={master.address}",
                      "--failover_timeout=60", "--task_id=t", f"--command={pid_task(pid_file)}",
                      "--no_ack")
    scheds.append(first)
    framework_id = first.wait("registered").split()[1]
    # The command executor's first update, never acknowledged: the agent keeps it pending,
    # and the task's later updates (TASK_RUNNING) wait behind it.
    first.wait("status t TASK_STARTING")
    forwarded = time.monotonic()  # the agent's 10 s retry timer runs from about here
    (task_pid,) = task_pids(pid_file)

    sched = Recorder()
    driver = SchedulerDriver.create(
        sched, framework_info("failover", id=framework_id, failover_timeout=60),
        master.address, registration_backoff_factor=0.2)
    try:
        driver.start()
        sched.wait("reregistered")
        assert first.wait("error").split(None, 1)[1] == "framework failed over"
        # The agent re-sends the unacknowledged update as soon as the master tells it of
        # the new scheduler (UpdateFramework), not at its 10 s retry; the new scheduler's
        # acknowledgement releases TASK_RUNNING.
        resent = sched.wait_state("t", TaskState.TASK_STARTING)
        assert time.monotonic() - forwarded < 8.0  # before the agent's retry would fire
        assert resent.uuid  # the agent's reliable update, not a master's reconciliation
        assert sched.wait_state("t", TaskState.TASK_RUNNING).uuid
        (fw,) = state(master)["frameworks"]
        assert fw["id"] == framework_id and fw["pid"] != "" and fw["connected"]
        assert [t["id"] for t in fw["tasks"]] == ["t"] and alive(task_pid)
        driver.kill_task("t")
        sched.wait_state("t", TaskState.TASK_KILLED)
        wait_for(lambda: not alive(task_pid), what="the task's process gone")
        assert task_pids(pid_file) == [task_pid]
    finally:
        driver.stop()
        driver.close()


# --- d. scheduler failover after the failover timeout ----------------------------------


def test_a_scheduler_gone_past_its_failover_timeout_is_torn_down(
        cluster: LocalCluster, tmp_path: Path, scheds: list[SchedProc]) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:2;mem:1024;disk:1024;ports:[31000-31010]", *AGENT_FLAGS)
    pid_file = tmp_path / "t.pid"
    proc = SchedProc(tmp_path / "sched.log", f"--master={master.address}",
                     "--failover_timeout=2", "--task_id=t", f"--command={pid_task(pid_file)}",
                     "--resources=cpus:1.5;mem:256")
    scheds.append(proc)
    framework_id = proc.wait("registered").split()[1]
    proc.wait("status t TASK_RUNNING")
    (task_pid,) = task_pids(pid_file)
    with framework(master.address, "other") as (_, other):
        killed_at = time.monotonic()
        proc.kill()
        wait_for(lambda: not alive(task_pid), what="the task killed with its framework")
        assert time.monotonic() - killed_at >= 2.0  # not before the failover timeout
        # What the torn-down framework held is offered to the other one.
        freed = other.wait("offer", lambda o: o.resources.get("cpus") >= 1.5)
        assert freed.agent_id == state(master)["agents"][0]["id"]
        done = {f["id"]: f for f in state(master)["completed_frameworks"]}
        assert [t["state"] for t in done[framework_id]["completed_tasks"]] == ["TASK_KILLED"]
        assert framework_id not in {f["id"] for f in state(master)["frameworks"]}


# --- b. split brain: a deposed leader comes back and is ignored -------------------------


def test_a_frozen_leader_that_comes_back_is_ignored_and_exits(
        cluster: LocalCluster, tmp_path: Path, zookeeper: str, zk_path: str) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    proxy = ZkProxy(zookeeper)  # the first master reaches ZooKeeper through it
    try:
        session = "--zk_session_timeout=1secs"
        old = cluster.master(*FAST, f"--zk=zk://{proxy.address}{zk_path}", session,
                             name="master1")
        assert _elected([old]) is old
        new = cluster.master(*FAST, f"--zk={zk}", session, name="master2")
        agent = cluster.agent(zk, RESOURCES, *AGENT_FLAGS)
        with framework(zk, "split") as (driver, sched):
            _launch(driver, sched, "t", pid_task(tmp_path / "t.pid"))
            (task_pid,) = task_pids(tmp_path / "t.pid")
            _freeze(old)
            sched.wait("reregistered")  # ZooKeeper expired its session: the other leads
            assert _elected([new]) is new
            _reconciled_running(driver, sched, "t")
            proxy.cut()  # resumed, the old leader still believes it leads for a while
            _thaw(old)
            assert old.proc.wait(WAIT) != 0
            text = agent.log.read_text(errors="replace")
            ignored = [line for line in text.splitlines()
                       if "not the leader" in line and old.pid in line]
            assert ignored, "the agent heard nothing from the deposed leader"
            assert "committing suicide" in old.log.read_text(errors="replace")
            agent_state = wait_for(lambda: _agent_state(agent), what="agent state")
            assert agent_state["master"] == new.pid and agent_state["registered"]
            _reconciled_running(driver, sched, "t")
            assert alive(task_pid) and task_pids(tmp_path / "t.pid") == [task_pid]
            driver.kill_task("t")
            sched.wait_state("t", TaskState.TASK_KILLED)
    finally:
        proxy.close()


# --- f. ZooKeeper session expiry of the leader ------------------------------------------


def test_a_leader_whose_session_expired_steps_down_and_everyone_follows_the_next(
        cluster: LocalCluster, tmp_path: Path, zookeeper: str, zk_path: str) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    flags = (*FAST, f"--zk={zk}", "--zk_session_timeout=1secs")
    first = cluster.master(*flags, name="master1")
    assert _elected([first]) is first
    second = cluster.master(*flags, name="master2")
    agent = cluster.agent(zk, RESOURCES, *AGENT_FLAGS)
    with framework(zk, "expiry") as (driver, sched):
        _launch(driver, sched, "t", pid_task(tmp_path / "t.pid"))
        (task_pid,) = task_pids(tmp_path / "t.pid")
        _freeze(first)  # no heartbeats: the server expires its session
        assert _elected([second]) is second
        _thaw(first)  # it reconnects, hears SESSION_EXPIRED, and exits
        assert first.proc.wait(WAIT) != 0
        assert "committing suicide" in first.log.read_text(errors="replace")
        sched.wait("reregistered")
        wait_for(lambda: (_agent_state(agent) or {}).get("master") == second.pid
                 and state(second)["activated_agents"] == 1, what="the agent follows")
        _reconciled_running(driver, sched, "t")
        assert alive(task_pid) and task_pids(tmp_path / "t.pid") == [task_pid]
        driver.kill_task("t")
        sched.wait_state("t", TaskState.TASK_KILLED)


def _freeze(node: Node) -> None:
    node.proc.send_signal(signal.SIGSTOP)


def _thaw(node: Node) -> None:
    node.proc.send_signal(signal.SIGCONT)


def _agent_state(agent: Node) -> dict[str, Any] | None:
    status, body = http(f"{agent.http}/state")
    return body if status == 200 else None
