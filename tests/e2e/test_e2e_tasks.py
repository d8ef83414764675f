"""End to end over real processes: a master, agents, executors and tasks on 127.0.0.1.

The framework runs in the test process (a ``SchedulerDriver`` on its own node); the
master and agents are ``meseta-master`` / ``meseta-agent`` OS processes; every task runs
under a real command executor process started by its agent.
"""

from __future__ import annotations

import contextlib
import time

from actors.messages import Filters, Reason, TaskState
from tests.e2e.conftest import LocalCluster
from tests.e2e.faults import state, wait_for
from tests.e2e.harness import command_task, framework

FAST = ("--allocation_interval=100ms",)
LONG_FILTER = Filters(refuse_seconds=3600.0)


def test_architecture_walkthrough_leftover_goes_to_the_second_framework(
        cluster: LocalCluster) -> None:
    """Mesos' walk-through: 4 cpus / 4 GB; f1 runs 2cpu/1GB and 1cpu/2GB; f2 gets 1cpu/1GB."""
    master = cluster.master(*FAST)
    cluster.agent(master, resources="cpus:4;mem:4096")
    with framework(master.address, "f1") as (driver1, f1):
        offer = f1.wait("offer")
        assert (offer.resources.get("cpus"), offer.resources.get("mem")) == (4, 4096)
        tasks = [command_task("t1", offer, "sleep 60", "cpus:2;mem:1024"),
                 command_task("t2", offer, "sleep 60", "cpus:1;mem:2048")]
        driver1.launch_tasks([offer.id], tasks, LONG_FILTER)
        f1.wait_state("t1", TaskState.TASK_RUNNING)
        f1.wait_state("t2", TaskState.TASK_RUNNING)
        with framework(master.address, "f2") as (_, f2):
            leftover = f2.wait("offer")
            assert (leftover.resources.get("cpus"), leftover.resources.get("mem")) == (1, 1024)


def test_a_command_task_runs_to_finished_and_its_output_lands_in_the_sandbox(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("hello", offer, "echo hello-meseta")])
        sched.wait_state("hello", TaskState.TASK_RUNNING)
        sched.wait_state("hello", TaskState.TASK_FINISHED)
    stdout = list(cluster.tmp.glob("agent1/agents/*/frameworks/*/executors/hello/runs/*/stdout"))
    assert stdout and "hello-meseta" in stdout[0].read_text()


def test_kill_a_running_task(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("sleeper", offer, "sleep 300")])
        sched.wait_state("sleeper", TaskState.TASK_RUNNING)
        driver.kill_task("sleeper")
        sched.wait_state("sleeper", TaskState.TASK_KILLED)


def test_killing_an_unknown_task_answers_task_lost(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    with framework(master.address) as (driver, sched):
        driver.kill_task("never-launched")
        status = sched.wait_state("never-launched", TaskState.TASK_LOST)
        assert status.reason == Reason.REASON_RECONCILIATION


def test_failing_command_ends_task_failed(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("bad", offer, "exit 3")])
        status = sched.wait_state("bad", TaskState.TASK_FAILED)
        assert "3" in status.message


def test_invalid_tasks_get_task_error_with_a_reason(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, resources="cpus:1;mem:256")
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        too_big = command_task("too-big", offer, "true", "cpus:8;mem:64")
        driver.launch_tasks([offer.id], [too_big])
        status = sched.wait_state("too-big", TaskState.TASK_ERROR)
        assert status.reason == Reason.REASON_TASK_INVALID


def test_an_unknown_offer_drops_the_task(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks(["no-such-offer"], [command_task("orphan", offer, "true")])
        status = sched.wait("status", lambda s: s.task_id == "orphan")
        assert status.state in (TaskState.TASK_LOST, TaskState.TASK_DROPPED)
        assert status.reason == Reason.REASON_INVALID_OFFERS


def test_explicit_and_implicit_reconciliation(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("long", offer, "sleep 300")])
        running = sched.wait_state("long", TaskState.TASK_RUNNING)
        driver.reconcile_tasks([running])
        answer = sched.wait_state("long", TaskState.TASK_RUNNING)
        assert answer.reason == Reason.REASON_RECONCILIATION
        driver.reconcile_tasks([])
        implicit = sched.wait_state("long", TaskState.TASK_RUNNING)
        assert implicit.reason == Reason.REASON_RECONCILIATION


def test_a_hundred_tasks_over_three_agents_all_finish(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    for _ in range(3):
        cluster.agent(master, resources="cpus:2;mem:2048")
    # all three registered before the framework: its first offers come from each of them
    wait_for(lambda: len(state(master)["agents"]) == 3, what="three agents registered")
    with framework(master.address) as (driver, sched):
        pending = [f"task-{i}" for i in range(100)]
        finished: set[str] = set()
        launched_on: dict[str, str] = {}
        deadline = time.monotonic() + 180
        while len(finished) < 100:
            assert time.monotonic() < deadline, f"only {len(finished)} tasks finished"
            if pending:  # take what offers there are; each fits 20 tasks at most
                with contextlib.suppress(TimeoutError):
                    offer = sched.wait("offer", timeout=0.05)
                    fits = int(min(offer.resources.get("cpus") / 0.1,
                                   offer.resources.get("mem") / 32))
                    batch, pending = pending[:fits], pending[fits:]
                    launched_on.update({t: offer.agent_id for t in batch})
                    driver.launch_tasks([offer.id], [command_task(t, offer, "true")
                                                     for t in batch])
            with contextlib.suppress(TimeoutError):
                status = sched.wait("status", timeout=0.05)
                assert status.state not in (TaskState.TASK_FAILED, TaskState.TASK_ERROR,
                                            TaskState.TASK_LOST), status
                if status.state == TaskState.TASK_FINISHED:
                    finished.add(status.task_id)
        assert finished == {f"task-{i}" for i in range(100)}
        assert len(set(launched_on.values())) == 3  # every agent ran some
