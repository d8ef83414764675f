"""End to end: executors that crash, custom executors with framework messages, teardown."""

from __future__ import annotations

import os
import signal
import sys
import time

import psutil

from actors.messages import CommandInfo, ExecutorInfo, Filters, Reason, TaskInfo, TaskState
from actors.resources import Resources
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, command_task, framework

FAST = ("--allocation_interval=100ms",)


def _wait_for_file(pattern: str, cluster: LocalCluster) -> str:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for path in cluster.tmp.glob(pattern):
            text = path.read_text().strip()
            if text:
                return text
        time.sleep(0.05)
    raise TimeoutError(f"no {pattern} in {WAIT}s")


def _executors_of(agent: Node) -> list[psutil.Process]:
    """The agent's descendants, minus its warm launcher (a direct child that stays)."""
    root = psutil.Process(agent.proc.pid)
    found = []
    for proc in root.children(recursive=True):
        try:
            if proc.ppid() != root.pid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.NoSuchProcess:  # ended between the listing and the look
            pass
    return found


def test_a_crashed_command_executor_fails_its_task(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        # $PPID of the task's shell is the command executor: the task tells us its pid.
        victim = command_task("victim", offer, "echo $PPID > pid; sleep 300")
        driver.launch_tasks([offer.id], [victim])
        sched.wait_state("victim", TaskState.TASK_RUNNING)
        sandbox = "agent1/agents/*/frameworks/*/executors/victim/runs/*"
        executor_pid = int(_wait_for_file(f"{sandbox}/pid", cluster))
        os.kill(executor_pid, signal.SIGKILL)
        status = sched.wait_state("victim", TaskState.TASK_FAILED)
        assert status.reason == Reason.REASON_COMMAND_EXECUTOR_FAILED
        # (no executor_lost: as in Mesos, command executors are not reported as lost)


def test_a_custom_executor_that_dies_at_once_loses_its_task(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        dies = CommandInfo(value=f"{sys.executable} -c 'raise SystemExit(7)'")
        executor = ExecutorInfo(executor_id="doomed", command=dies)
        task = TaskInfo(name="t", task_id="t", agent_id=offer.agent_id,
                        resources=Resources.parse("cpus:0.1;mem:32"), executor=executor)
        driver.launch_tasks([offer.id], [task])
        status = sched.wait("status", lambda s: s.task_id == "t")
        assert status.state in (TaskState.TASK_LOST, TaskState.TASK_GONE, TaskState.TASK_FAILED)
        assert status.reason in (Reason.REASON_EXECUTOR_TERMINATED,
                                 Reason.REASON_EXECUTOR_REGISTRATION_TIMEOUT)
        executor_id, agent_id, wait_status = sched.wait("executor_lost")
        assert (executor_id, agent_id) == ("doomed", offer.agent_id)
        assert os.waitstatus_to_exitcode(wait_status) == 7


def test_framework_messages_travel_both_ways_through_a_custom_executor(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        executor = ExecutorInfo(executor_id="hello", command=CommandInfo(
            value=f"{sys.executable} -m frameworks.examples.hello_executor"))
        task = TaskInfo(name="greet", task_id="greet", agent_id=offer.agent_id,
                        resources=Resources.parse("cpus:0.1;mem:32"), executor=executor)
        driver.launch_tasks([offer.id], [task])
        executor_id, agent_id, data = sched.wait("message")
        assert (executor_id, agent_id) == ("hello", offer.agent_id)
        assert data.startswith(b"hello from greet")
        driver.send_framework_message("hello", agent_id, b"bye greet")
        finished = sched.wait_state("greet", TaskState.TASK_FINISHED)
        assert "bye greet" in finished.message


def test_teardown_kills_the_tasks_and_frees_every_resource(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master, resources="cpus:1;mem:512")
    with framework(master.address, "greedy") as (driver, sched):
        offer = sched.wait("offer")
        tasks = [command_task(f"hog-{i}", offer, "sleep 300", "cpus:0.5;mem:256") for i in range(2)]
        driver.launch_tasks([offer.id], tasks, Filters(refuse_seconds=3600))
        for i in range(2):
            sched.wait_state(f"hog-{i}", TaskState.TASK_RUNNING)
        assert _executors_of(agent)
    # the framework is torn down on leaving the block
    with framework(master.address, "next") as (_, sched2):
        offer = sched2.wait("offer")
        assert (offer.resources.get("cpus"), offer.resources.get("mem")) == (1, 512)
    deadline = time.monotonic() + WAIT
    while _executors_of(agent) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _executors_of(agent), "executors or tasks outlived the teardown"
