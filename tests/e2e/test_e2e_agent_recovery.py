"""End to end: an agent process is SIGKILLed and restarted on the same work_dir and port.

Real master and agent processes, real command executors and tasks. Tasks write their
shell's pid to a file (``exec`` keeps it), so a test can tell whether the process that
runs after the restart is the very one that ran before (pid and creation time).
Executors outlive the killed agent in their own sessions, so each test kills the
processes it noted by pid at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from actors.messages import Reason, TaskState, TaskStatus
from actors.messages.task_state import Source
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, Recorder, command_task, framework

RESOURCES = "cpus:4;mem:4096;disk:4096;ports:[31000-32000]"
MASTER_FLAGS = ("--allocation_interval=100ms",)
AGENT_FLAGS = ("--registration_backoff_factor=10ms", "--executor_reregistration_timeout=3secs",
               "--executor_shutdown_grace_period=2secs", "--launcher=warm")


def _identity(pid: int) -> tuple[int, float]:
    return pid, psutil.Process(pid).create_time()


def _alive(identity: tuple[int, float]) -> bool:
    try:
        proc = psutil.Process(identity[0])
        return proc.status() != psutil.STATUS_ZOMBIE and proc.create_time() == identity[1]
    except psutil.Error:
        return False


def _wait(check: Any, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _read_pid(path: Path) -> int:
    _wait(lambda: path.exists() and path.read_text().strip().isdigit(), f"{path}")
    return int(path.read_text())


def _state(agent: Node) -> dict[str, Any]:
    with urllib.request.urlopen(f"{agent.http}/agent/state", timeout=10) as reply:
        result: dict[str, Any] = json.load(reply)
        return result


def _executor_pid(agent: Node, task_id: str) -> int:
    for framework_state in _state(agent)["frameworks"]:
        for executor in framework_state["executors"]:
            if executor["id"] == task_id and executor["pid"]:
                return int(executor["pid"])
    raise AssertionError(f"no executor of {task_id} on the agent")


def _sigkill(agent: Node) -> None:
    """SIGKILL the agent process alone (not its group) and reap it."""
    os.kill(agent.proc.pid, signal.SIGKILL)
    agent.proc.wait(30)


def _restart(cluster: LocalCluster, master: Node, old: Node, *flags: str) -> Node:
    """A new agent process on the old one's port and work_dir."""
    port = old.address.rsplit(":", 1)[1]
    return cluster.agent(master, RESOURCES, *AGENT_FLAGS, f"--port={port}",
                         f"--work_dir={cluster.tmp / 'agent1'}", *flags)


def _reconciled(driver: Any, sched: Recorder, task_id: str) -> TaskStatus:
    """Explicit reconciliation until the master answers for ``task_id``."""
    deadline = time.monotonic() + WAIT
    while True:
        driver.reconcile_tasks([TaskStatus(task_id=task_id, state=TaskState.TASK_RUNNING)])
        with contextlib.suppress(TimeoutError):
            status: TaskStatus = sched.wait(
                "status", lambda s: s.task_id == task_id
                and s.reason is Reason.REASON_RECONCILIATION, timeout=1.0)
            return status
        assert time.monotonic() < deadline, f"no reconciliation answer for {task_id}"


def _launch_long(cluster: LocalCluster, driver: Any, sched: Recorder, agent: Node,
                 task_id: str, command: str, noted: list[int]) -> tuple[int, float]:
    """Launch ``command`` (which must write its pid to ``<task_id>.pid``) and wait RUNNING."""
    offer = sched.wait("offer")
    driver.launch_tasks([offer.id], [command_task(task_id, offer, command)])
    sched.wait_state(task_id, TaskState.TASK_RUNNING)
    noted.append(_executor_pid(agent, task_id))
    task_pid = _read_pid(cluster.tmp / f"{task_id}.pid")
    noted.append(task_pid)
    return _identity(task_pid)


@pytest.mark.parametrize("launcher", ["warm", "subprocess"])
def test_a_checkpointed_task_survives_an_agent_sigkill_and_the_restarted_agent_adopts_it(
        cluster: LocalCluster, noted: list[int], launcher: str) -> None:
    master = cluster.master(*MASTER_FLAGS)
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS, f"--launcher={launcher}")
    with framework(master.address, "ckpt", checkpoint=True) as (driver, sched):
        pidfile = cluster.tmp / "long.pid"
        task = _launch_long(cluster, driver, sched, agent, "long",
                            f"echo $$ > {pidfile}; exec sleep 300", noted)
        executor = _identity(_executor_pid(agent, "long"))
        agent_id = _state(agent)["id"]

        _sigkill(agent)
        assert _alive(executor) and _alive(task), "the executor died with its agent"
        agent = _restart(cluster, master, agent)

        assert _reconciled(driver, sched, "long").state is TaskState.TASK_RUNNING
        _wait(lambda: _state(agent)["registered"], "the agent to handle its re-registration")
        assert _state(agent)["id"] == agent_id
        assert _executor_pid(agent, "long") == executor[0]
        assert _alive(task), "the task was not adopted but relaunched or killed"
        driver.kill_task("long")
        sched.wait_state("long", TaskState.TASK_KILLED)
        _wait(lambda: not _alive(task), "the task process to end")
        assert TaskState.TASK_LOST not in sched.states("long")
        assert cluster.tmp.joinpath("agent1", "meta", "boot_id").exists()


def test_an_update_sent_while_the_agent_is_down_arrives_once_after_the_restart(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*MASTER_FLAGS)
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    go = cluster.tmp / "go"
    with framework(master.address, "ckpt", checkpoint=True) as (driver, sched):
        pidfile = cluster.tmp / "waiter.pid"
        task = _launch_long(cluster, driver, sched, agent, "waiter",
                            f"echo $$ > {pidfile}; while [ ! -e {go} ]; do sleep 0.05; done",
                            noted)
        executor = _identity(_executor_pid(agent, "waiter"))
        _sigkill(agent)
        go.touch()  # the task finishes while its agent is dead
        _wait(lambda: not _alive(task), "the task to finish")
        assert _alive(executor), "the executor must wait for its agent to come back"
        agent = _restart(cluster, master, agent)

        finished = sched.wait_state("waiter", TaskState.TASK_FINISHED)
        assert finished.source is Source.SOURCE_EXECUTOR
        # The executor re-registered with that update, got it acknowledged and left.
        _wait(lambda: not _alive(executor), "the command executor to exit")
        _wait(lambda: _state(agent)["pending_status_updates"] == 0, "the ack to reach the agent")
        _reconciled(driver, sched, "waiter")  # a barrier behind anything still in flight
        assert TaskState.TASK_FINISHED not in sched.states("waiter"), "delivered twice"
        assert TaskState.TASK_LOST not in sched.states("waiter")


def test_recover_cleanup_kills_the_old_executors_and_exits(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*MASTER_FLAGS)
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    with framework(master.address, "ckpt", checkpoint=True) as (driver, sched):
        pidfile = cluster.tmp / "doomed.pid"
        task = _launch_long(cluster, driver, sched, agent, "doomed",
                            f"echo $$ > {pidfile}; exec sleep 300", noted)
        executor = _identity(_executor_pid(agent, "doomed"))
        _sigkill(agent)

        cleaner = _restart(cluster, master, agent, "--recover=cleanup")
        assert cleaner.proc.wait(WAIT) == 0, "the cleanup agent did not exit by itself"
        assert not _alive(task) and not _alive(executor)
        assert "every recovered executor is gone" in cleaner.log.read_text()

        # The next start reconnects to nothing and reports the task's end.
        _restart(cluster, master, agent)
        ended = sched.wait("status", lambda s: s.task_id == "doomed"
                           and s.state in (TaskState.TASK_KILLED, TaskState.TASK_LOST,
                                           TaskState.TASK_FAILED))
        assert ended.reason is not Reason.REASON_RECONCILIATION
        assert _reconciled(driver, sched, "doomed").state is not TaskState.TASK_RUNNING


def test_a_changed_boot_id_does_not_reconnect_to_old_executors(
        cluster: LocalCluster, noted: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    master = cluster.master(*MASTER_FLAGS)
    monkeypatch.setenv("MESETA_BOOT_ID", "boot-one")
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    with framework(master.address, "ckpt", checkpoint=True) as (driver, sched):
        pidfile = cluster.tmp / "old.pid"
        task = _launch_long(cluster, driver, sched, agent, "old",
                            f"echo $$ > {pidfile}; exec sleep 300", noted)
        agent_id = _state(agent)["id"]
        _sigkill(agent)

        monkeypatch.setenv("MESETA_BOOT_ID", "boot-two")  # as if the machine rebooted
        agent = _restart(cluster, master, agent)
        gone = sched.wait("status", lambda s: s.task_id == "old" and s.state in (
            TaskState.TASK_FAILED, TaskState.TASK_LOST, TaskState.TASK_GONE))
        assert gone.source is Source.SOURCE_AGENT
        state = _state(agent)
        assert state["id"] == agent_id  # the same agent info: the id is kept (Mesos >= 1.4)
        assert not [e for f in state["frameworks"] for e in f["executors"]
                    if e["state"] != "TERMINATED"]
        assert _alive(task), "a rebooted agent has no pids to kill: nothing was touched"
        assert (cluster.tmp / "agent1" / "meta" / "boot_id").read_bytes().endswith(b"boot-two")


def test_a_non_checkpointing_frameworks_task_is_lost_when_its_agent_restarts(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*MASTER_FLAGS)
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    with framework(master.address, "plain") as (driver, sched):
        pidfile = cluster.tmp / "plain.pid"
        task = _launch_long(cluster, driver, sched, agent, "plain",
                            f"echo $$ > {pidfile}; exec sleep 300", noted)
        executor = _identity(_executor_pid(agent, "plain"))
        _sigkill(agent)
        _wait(lambda: not _alive(executor) and not _alive(task),
              "the executor and its task to die with the agent")
        _restart(cluster, master, agent)
        sched.wait_state("plain", TaskState.TASK_LOST)
        assert TaskState.TASK_RUNNING not in sched.states("plain")
