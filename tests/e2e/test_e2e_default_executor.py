"""End to end: task groups on Meseta's default executor (``ExecutorInfo.type=DEFAULT``).

Real master and agent processes; frameworks over the v1 scheduler HTTP API
(``v1_client``) and through the native ``SchedulerDriver``. The agent starts
``python -m frameworks.default_executor`` for the group; it speaks the v1 executor
HTTP API and runs each task as a process of its own in ``<sandbox>/tasks/<task_id>``.
The tests read the updates the framework gets, the files the tasks leave in their
sandboxes, the agent's ``/state`` and the processes themselves.
"""

from __future__ import annotations

import getpass
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from actors.messages import ExecutorInfo, ExecutorType, TaskState
from actors.messages.offers import launch_group
from actors.messages.task_state import Source
from actors.resources import Resources
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, command_task, framework
from tests.e2e.v1_client import Subscription, launch
from tests.e2e.v1_client import command_task as v1_task

FAST = ("--allocation_interval=100ms",)
EXECUTOR_RESOURCES = [
    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
    {"name": "disk", "type": "SCALAR", "scalar": {"value": 32}}]
WRITE_PIDS = 'echo "$$ $PPID" > "$MESOS_SANDBOX/pids"; echo "out of $MESOS_SANDBOX"'


def _info(name: str, **extra: Any) -> dict[str, Any]:
    return {"user": getpass.getuser(), "name": name, **extra}


def _executor(executor_id: str = "pod", **extra: Any) -> dict[str, Any]:
    return {"executor_id": {"value": executor_id}, "type": "DEFAULT",
            "resources": EXECUTOR_RESOURCES, **extra}


def _group(executor: dict[str, Any], *tasks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "LAUNCH_GROUP", "launch_group": {
        "executor": executor, "task_group": {"tasks": list(tasks)}}}


def _accept(sub: Subscription, offer: dict[str, Any], *operations: dict[str, Any]) -> None:
    code, body = sub.call("ACCEPT", {"offer_ids": [offer["id"]], "operations": list(operations),
                                     "filters": {"refuse_seconds": 0}})
    assert code == 202, (code, body)


def _state(agent: Node) -> dict[str, Any]:
    with urllib.request.urlopen(f"{agent.http}/state", timeout=10) as reply:
        result: dict[str, Any] = json.load(reply)
        return result


def _executor_state(agent: Node, executor_id: str, completed: bool = False
                    ) -> dict[str, Any] | None:
    state = _state(agent)
    for fw in state["frameworks"] + state["completed_frameworks"]:
        runs = fw["completed_executors"] + ([] if completed else fw["executors"])
        for executor in runs:
            if executor["id"] == executor_id:
                return dict(executor)
    return None


def _until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def subscription() -> Iterator[list[Subscription]]:
    subs: list[Subscription] = []
    try:
        yield subs
    finally:
        for sub in subs:
            sub.close()


@pytest.mark.parametrize("launcher", ["warm", "subprocess"])
def test_a_task_group_runs_each_task_in_its_own_process_and_the_executor_then_exits(
        cluster: LocalCluster, noted: list[int], subscription: list[Subscription],
        launcher: str) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          f"--launcher={launcher}")
    sub = Subscription(master.http, _info("pod-v1"))
    subscription.append(sub)
    offer = sub.offers()[0]
    tasks = [v1_task(t, offer, WRITE_PIDS) for t in ("a", "b")]
    _accept(sub, offer, _group(_executor(), *tasks))
    seen = _until(lambda: _executor_state(agent, "pod"), "the executor in /state")
    executor_pid, sandbox = int(seen["pid"]), Path(seen["directory"])
    noted.append(executor_pid)
    for task_id in ("a", "b"):
        states = sub.follow(task_id, "TASK_FINISHED")
        assert [s["state"] for s in states] == ["TASK_STARTING", "TASK_RUNNING",
                                                 "TASK_FINISHED"]
        assert {s["source"] for s in states} == {"SOURCE_EXECUTOR"}
        assert states[-1]["message"] == "Command exited with status 0"
        assert states[-1]["executor_id"] == {"value": "pod"}
    pids = {t: (sandbox / "tasks" / t / "pids").read_text().split() for t in ("a", "b")}
    # Each task was a process of its own, a child of the one executor process.
    assert pids["a"][0] != pids["b"][0]
    assert {int(p[1]) for p in pids.values()} == {executor_pid}
    assert (sandbox / "tasks" / "a" / "stdout").read_text().strip() == (
        f"out of {sandbox / 'tasks' / 'a'}")
    # No live task, every update acknowledged: the executor is done.
    _until(lambda: _gone(executor_pid), "the executor process to exit")
    assert _until(lambda: _executor_state(agent, "pod", completed=True),
                  "the executor among the completed ones")


def test_the_master_refuses_a_default_executor_for_launch_or_with_a_command(
        cluster: LocalCluster, subscription: list[Subscription]) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    sub = Subscription(master.http, _info("pod-invalid"))
    subscription.append(sub)
    offer = sub.offers()[0]
    single = v1_task("single", offer, "true")
    del single["command"]
    single["executor"] = _executor("lone")
    launch(sub, offer, single, refuse_seconds=0)
    status = sub.update("single", "TASK_ERROR")
    assert status["reason"] == "REASON_TASK_INVALID"
    assert status["message"] == "'ExecutorInfo.type' must be 'CUSTOM'"
    offer = sub.offers()[0]
    commanded = _executor("commanded", command={"value": "true"})
    _accept(sub, offer, _group(commanded, v1_task("g1", offer, "true"),
                               v1_task("g2", offer, "true")))
    for task_id in ("g1", "g2"):
        status = sub.update(task_id, "TASK_ERROR")
        assert status["reason"] == "REASON_TASK_GROUP_INVALID"
        assert status["message"] == (
            "'ExecutorInfo.command' must not be set for 'DEFAULT' executor")
    offer = sub.offers()[0]
    poor = _executor("poor", resources=EXECUTOR_RESOURCES[:2])  # no disk
    _accept(sub, offer, _group(poor, v1_task("p1", offer, "true")))
    assert sub.update("p1", "TASK_ERROR")["message"] == "Executor 'poor' uses no disk"


def test_a_failing_task_fails_and_the_rest_of_its_group_is_killed(
        cluster: LocalCluster, noted: list[int]) -> None:
    """Through the native driver: ``exit 3`` is TASK_FAILED, its sibling TASK_KILLED."""
    master = cluster.master(*FAST)
    agent = cluster.agent(master)
    with framework(master.address, "pod-driver") as (driver, sched):
        offer = sched.wait("offer")
        executor = ExecutorInfo(executor_id="pod", type=ExecutorType.DEFAULT,
                                resources=Resources.parse("cpus:0.1;mem:32;disk:32"))
        driver.accept_offers([offer.id], [launch_group(
            executor, command_task("bad", offer, "sleep 0.5; exit 3"),
            command_task("slow", offer, "sleep 60"))])
        seen = _until(lambda: _executor_state(agent, "pod"), "the executor in /state")
        noted.append(int(seen["pid"]))
        failed = sched.wait_state("bad", TaskState.TASK_FAILED)
        assert failed.message == "Command exited with status 3"
        assert failed.source is Source.SOURCE_EXECUTOR
        killed = sched.wait_state("slow", TaskState.TASK_KILLED)
        assert killed.message == "Command terminated with signal SIGTERM"
        _until(lambda: _gone(int(seen["pid"])), "the executor process to exit")


def test_a_task_that_cannot_start_fails_and_takes_its_group_along(
        cluster: LocalCluster, noted: list[int], subscription: list[Subscription]) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master)
    sub = Subscription(master.http, _info("pod-missing"))
    subscription.append(sub)
    offer = sub.offers()[0]
    missing = v1_task("missing", offer, "/no/such/program")
    missing["command"]["shell"] = False
    _accept(sub, offer, _group(_executor(), missing, v1_task("slow", offer, "sleep 60")))
    seen = _until(lambda: _executor_state(agent, "pod"), "the executor in /state")
    noted.append(int(seen["pid"]))
    failed = sub.follow("missing", "TASK_FAILED")[-1]
    assert failed["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    assert failed["message"].startswith("Failed to launch task: ")
    assert "/no/such/program" in failed["message"]
    assert sub.follow("slow", "TASK_KILLED")[-1]["source"] == "SOURCE_EXECUTOR"
    _until(lambda: _gone(int(seen["pid"])), "the executor process to exit")


def test_killing_one_task_kills_its_group_but_not_another_group(
        cluster: LocalCluster, noted: list[int], subscription: list[Subscription]) -> None:
    """Two LAUNCH_GROUPs on one executor; KILL of one task takes its group (the task
    that ignores SIGTERM gets SIGKILL after its grace period); the other group lives on
    and finishes, then the executor exits."""
    master = cluster.master(*FAST)
    agent = cluster.agent(master)
    sub = Subscription(master.http, _info("pod-kill", capabilities=[
        {"type": "TASK_KILLING_STATE"}]))
    subscription.append(sub)
    offer = sub.offers()[0]
    stubborn = v1_task("stubborn", offer, "trap '' TERM; sleep 60")
    stubborn["kill_policy"] = {"grace_period": {"nanoseconds": 500_000_000}}
    _accept(sub, offer, _group(_executor(), v1_task("target", offer, "sleep 60"), stubborn))
    for task_id in ("target", "stubborn"):
        sub.follow(task_id, "TASK_RUNNING")
    seen = _until(lambda: _executor_state(agent, "pod"), "the executor in /state")
    executor_pid, sandbox = int(seen["pid"]), Path(seen["directory"])
    noted.append(executor_pid)
    offer = sub.offers()[0]  # the second group goes to the running executor
    waiter = v1_task("waiter", offer, 'while [ ! -e ../../go ]; do sleep 0.05; done')
    _accept(sub, offer, _group(_executor(), waiter))
    sub.follow("waiter", "TASK_RUNNING")
    code, body = sub.call("KILL", {"task_id": {"value": "target"},
                                   "agent_id": offer["agent_id"]})
    assert code == 202, body
    target = sub.follow("target", "TASK_KILLED")
    assert [s["state"] for s in target] == ["TASK_KILLING", "TASK_KILLED"]
    stubborn_states = sub.follow("stubborn", "TASK_KILLED")
    assert stubborn_states[-1]["message"] == "Command terminated with signal SIGKILL"
    assert psutil.pid_exists(executor_pid) and not _gone(executor_pid)  # "waiter" lives
    (sandbox / "go").touch()
    assert sub.follow("waiter", "TASK_FINISHED")[-1]["message"] == (
        "Command exited with status 0")
    _until(lambda: _gone(executor_pid), "the executor process to exit")


def test_a_checkpointing_default_executor_resubscribes_with_its_unacked_update(
        cluster: LocalCluster, noted: list[int]) -> None:
    """The agent dies, a task ends meanwhile; the restarted agent gets its TASK_FINISHED
    from the executor's next SUBSCRIBE, and the executor exits once it is acknowledged."""
    flags = ("--registration_backoff_factor=10ms", "--executor_reregistration_timeout=10secs")
    resources = "cpus:4;mem:4096;disk:4096;ports:[31000-32000]"
    master = cluster.master(*FAST)
    agent = cluster.agent(master, resources, *flags)
    http_port = agent.http.rsplit(":", 1)[1]
    with framework(master.address, "pod-ckpt", checkpoint=True) as (driver, sched):
        offer = sched.wait("offer")
        executor = ExecutorInfo(executor_id="pod", type=ExecutorType.DEFAULT,
                                resources=Resources.parse("cpus:0.1;mem:32;disk:32"))
        driver.accept_offers([offer.id], [launch_group(executor, command_task(
            "patient", offer, "while [ ! -e ../../go ]; do sleep 0.05; done"))])
        sched.wait_state("patient", TaskState.TASK_RUNNING)
        seen = _until(lambda: _executor_state(agent, "pod"), "the executor in /state")
        executor_pid, sandbox = int(seen["pid"]), Path(seen["directory"])
        noted.append(executor_pid)

        agent.proc.kill()
        agent.proc.wait(30)
        (sandbox / "go").touch()  # the task ends while its agent is down
        port = agent.address.rsplit(":", 1)[1]
        agent = cluster.agent(master, resources, *flags, f"--port={port}",
                              f"--http_port={http_port}", f"--work_dir={cluster.tmp / 'agent1'}")
        finished = sched.wait_state("patient", TaskState.TASK_FINISHED)
        assert finished.source is Source.SOURCE_EXECUTOR
        assert finished.message == "Command exited with status 0"
        _until(lambda: _gone(executor_pid), "the executor process to exit")
        runs = [p.name for p in sandbox.parent.iterdir() if p.name != "latest"]
        assert runs == [sandbox.name], "the executor was replaced"
        assert TaskState.TASK_LOST not in sched.states("patient")


def test_the_default_executor_authenticates_with_its_token_and_keeps_it_from_its_tasks(
        cluster: LocalCluster, tmp_path: Path, noted: list[int],
        subscription: list[Subscription]) -> None:
    key = tmp_path / "jwt.key"
    key.write_bytes(b"a key only this agent knows")
    master = cluster.master(*FAST)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                          "--authenticate_http_executors", f"--jwt_secret_key={key}")
    sub = Subscription(master.http, _info("pod-auth"))
    subscription.append(sub)
    offer = sub.offers()[0]
    _accept(sub, offer, _group(_executor(), v1_task("env", offer, 'env > "$MESOS_SANDBOX/env"'),
                               v1_task("two", offer, "true")))
    seen = _until(lambda: _executor_state(agent, "pod"), "the executor in /state")
    noted.append(int(seen["pid"]))
    for task_id in ("env", "two"):  # every UPDATE got in: the token went along
        assert sub.follow(task_id, "TASK_FINISHED")[-1]["source"] == "SOURCE_EXECUTOR"
    env = (Path(seen["directory"]) / "tasks" / "env" / "env").read_text()
    assert "MESOS_FRAMEWORK_ID=" in env
    assert "AUTHENTICATION_TOKEN" not in env
