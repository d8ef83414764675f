"""End to end: an executor written for Mesos' v1 executor HTTP API runs on a Meseta agent.

Real master and agent processes; a native ``SchedulerDriver`` framework in the test
launches tasks whose executor is ``python3 http_executor.py`` (plain Python, no Meseta
import: it knows only the ``MESOS_*`` environment and ``POST /api/v1/executor``). The
executor journals what it receives to its sandbox; the test reads the journal, the
scheduler's callbacks and the agent's ``/state``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from actors.cli.client import gather_task_trace
from actors.messages import CommandInfo, Environment, ExecutorInfo, TaskInfo, TaskState
from actors.messages.offers import Offer, launch_group
from actors.messages.task_state import Source
from actors.resources import Resources
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, framework

SCRIPT = Path(__file__).with_name("http_executor.py")
FAST = ("--allocation_interval=100ms",)
AGENT_FLAGS = ("--registration_backoff_factor=10ms", "--executor_reregistration_timeout=5secs",
               "--executor_shutdown_grace_period=2secs")


def _executor(executor_id: str = "http", **env: str) -> ExecutorInfo:
    return ExecutorInfo(executor_id=executor_id, name="HTTP executor", command=CommandInfo(
        value=f"python3 {SCRIPT}", environment=Environment.of(env) if env else None))


def _task(task_id: str, offer: Offer, executor: ExecutorInfo, data: bytes = b"") -> TaskInfo:
    return TaskInfo(name=task_id, task_id=task_id, agent_id=offer.agent_id,
                    resources=Resources.parse("cpus:0.1;mem:32"), executor=executor, data=data)


def _state(agent: Node) -> dict[str, Any]:
    with urllib.request.urlopen(f"{agent.http}/state", timeout=10) as reply:
        result: dict[str, Any] = json.load(reply)
        return result


def _until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _executor_state(agent: Node, executor_id: str) -> dict[str, Any] | None:
    for fw in _state(agent)["frameworks"] + _state(agent)["completed_frameworks"]:
        for executor in fw["executors"] + fw["completed_executors"]:
            if executor["id"] == executor_id:
                return dict(executor)
    return None


def _journal(sandbox: str) -> list[dict[str, Any]]:
    path = Path(sandbox, "journal")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _events(sandbox: str, kind: str) -> list[dict[str, Any]]:
    return [e["body"] for e in _journal(sandbox) if e.get("event") == kind]


def test_an_http_executor_runs_tasks_exchanges_messages_and_is_shut_down(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master)
    with framework(master.address, "http-exec") as (driver, sched):
        offer = sched.wait("offer")
        executor = _executor(PROBE="1")
        driver.launch_tasks([offer.id], [_task("one", offer, executor, b"finish"),
                                         _task("two", offer, executor)])
        sched.wait_state("one", TaskState.TASK_RUNNING)
        finished = sched.wait_state("one", TaskState.TASK_FINISHED)
        assert finished.source is Source.SOURCE_EXECUTOR
        sched.wait_state("two", TaskState.TASK_RUNNING)
        greetings = {sched.wait("message")[2], sched.wait("message")[2]}
        assert greetings == {b"hello from one", b"hello from two"}
        driver.send_framework_message("http", offer.agent_id, b"ping")
        executor_id, agent_id, echo = sched.wait("message")
        assert (executor_id, agent_id, echo) == ("http", offer.agent_id, b"echo: ping")

        # /state shows it as any executor: running, its os pid, its tasks.
        seen = _until(lambda: _executor_state(agent, "http"), "the executor in /state")
        assert seen["state"] == "RUNNING" and seen["pid"]
        assert [t["id"] for t in seen["tasks"]] == ["two"]
        assert [t["id"] for t in seen["completed_tasks"]] == ["one"]
        noted.append(int(seen["pid"]))
        sandbox = seen["directory"]

        driver.kill_task("two")
        assert sched.wait_state("two", TaskState.TASK_KILLED).source is Source.SOURCE_EXECUTOR
        state = _state(agent)
        framework_id, agent_id = state["frameworks"][0]["id"], state["id"]
    # leaving the block tears the framework down: the executor gets SHUTDOWN and exits
    _until(lambda: any(e.get("exiting") == "shutdown" for e in _journal(sandbox)),
           "the executor to be shut down")
    _until(lambda: (_executor_state(agent, "http") or {}).get("state") == "TERMINATED",
           "the agent to see the executor exit")

    journal = _journal(sandbox)
    env = journal[0]["env"]
    assert env["MESOS_FRAMEWORK_ID"] == framework_id and env["MESOS_EXECUTOR_ID"] == "http"
    assert env["MESOS_SANDBOX"] == env["MESOS_DIRECTORY"] == sandbox
    assert env["MESOS_AGENT_ENDPOINT"] == agent.http.removeprefix("http://")
    assert env["MESOS_SLAVE_ID"] == agent_id
    assert env["MESOS_CHECKPOINT"] == "0" and "MESOS_RECOVERY_TIMEOUT" not in env
    assert env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs"
    assert "MESOS_EXECUTOR_AUTHENTICATION_TOKEN" not in env  # the agent has no --jwt_secret_key

    probe = journal[1]["probe"]
    assert probe == {"malformed": 400, "no_type": 400, "update_before_subscribe": 403,
                     "protobuf": 415, "get": 405, "unknown_executor": 400}, journal[1]
    assert "JSON" in journal[1]["bodies"]["malformed"]
    assert journal[1]["bodies"]["update_before_subscribe"] == "Executor is not subscribed"

    subscribed = next(e for e in journal if "subscribe" in e)
    assert (subscribed["subscribe"], subscribed["content_type"]) == (200, "application/json")
    events = [e["event"] for e in journal if "event" in e]
    assert events[0] == "SUBSCRIBED" and events[-1] == "SHUTDOWN"
    assert events.count("LAUNCH") == 2 and events.count("KILL") == 1
    first = _events(sandbox, "SUBSCRIBED")[0]["subscribed"]
    assert first["executor_info"]["executor_id"] == {"value": "http"}
    assert first["framework_info"]["id"] == {"value": framework_id}
    assert first["agent_info"]["id"] == {"value": agent_id}
    assert first["container_id"]["value"] == seen["container"]
    launched = [e["launch"]["task"] for e in _events(sandbox, "LAUNCH")]
    assert [t["task_id"]["value"] for t in launched] == ["one", "two"]
    assert base64.b64decode(launched[0]["data"]) == b"finish"
    assert _events(sandbox, "KILL")[0]["kill"]["task_id"] == {"value": "two"}
    messages = [base64.b64decode(e["message"]["data"]) for e in _events(sandbox, "MESSAGE")]
    assert messages == [b"ping"]

    # every update was accepted (202) and acknowledged by its uuid
    sent = [e for e in journal if e.get("sent") == "UPDATE"]
    assert [(e["task_id"], e["state"]) for e in sent] == [
        ("one", "TASK_RUNNING"), ("one", "TASK_FINISHED"), ("two", "TASK_RUNNING"),
        ("two", "TASK_KILLED")]
    assert {e["status"] for e in sent} == {202}
    acked = {(e["acknowledged"]["task_id"]["value"], e["acknowledged"]["uuid"])
             for e in _events(sandbox, "ACKNOWLEDGED")}
    assert acked == {(e["task_id"], e["uuid"]) for e in sent}
    assert {e["status"] for e in journal if e.get("sent") == "MESSAGE"} == {202}


def test_a_task_group_reaches_an_http_executor_as_one_launch_group(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master)
    with framework(master.address, "http-group") as (driver, sched):
        offer = sched.wait("offer")
        executor = dataclasses.replace(  # a group's executor brings its own (Mesos)
            _executor("grouped"), resources=Resources.parse("cpus:0.1;mem:32;disk:32"))
        group = [_task(f"g{i}", offer, executor, b"finish") for i in range(2)]
        driver.accept_offers([offer.id], [launch_group(executor, *[
            dataclasses.replace(t, executor=None) for t in group])])
        for i in range(2):
            sched.wait_state(f"g{i}", TaskState.TASK_FINISHED)
        seen = _until(lambda: _executor_state(agent, "grouped"), "the executor in /state")
        noted.append(int(seen["pid"]))
        sandbox = seen["directory"]
    events = [e["event"] for e in _journal(sandbox) if "event" in e]
    assert "LAUNCH" not in events and events.count("LAUNCH_GROUP") == 1
    (body,) = _events(sandbox, "LAUNCH_GROUP")
    assert [t["task_id"]["value"] for t in body["launch_group"]["task_group"]["tasks"]] == [
        "g0", "g1"]


def test_an_http_executor_resubscribes_after_an_agent_restart_with_its_unacked_update(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*FAST)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]", *AGENT_FLAGS)
    http_port = agent.http.rsplit(":", 1)[1]
    with framework(master.address, "http-ckpt", checkpoint=True) as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [_task("long", offer, _executor())])
        sched.wait_state("long", TaskState.TASK_RUNNING)
        seen = _until(lambda: _executor_state(agent, "http"), "the executor in /state")
        sandbox, pid = seen["directory"], int(seen["pid"])
        noted.append(pid)
        created = psutil.Process(pid).create_time()
        _until(lambda: _events(sandbox, "ACKNOWLEDGED"), "the RUNNING update's ack")
        assert _journal(sandbox)[0]["env"]["MESOS_CHECKPOINT"] == "1"
        assert _journal(sandbox)[0]["env"]["MESOS_SUBSCRIPTION_BACKOFF_MAX"] == "5secs"

        os.kill(agent.proc.pid, signal.SIGKILL)
        agent.proc.wait(30)
        Path(sandbox, "finish-long").touch()  # the task ends while its agent is down
        _until(lambda: any(e.get("state") == "TASK_FINISHED" and e["status"] != 202
                           for e in _journal(sandbox)), "the update to fail to reach the agent")
        port = agent.address.rsplit(":", 1)[1]
        agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]",
                              *AGENT_FLAGS, f"--port={port}", f"--http_port={http_port}",
                              f"--work_dir={cluster.tmp / 'agent1'}")

        finished = sched.wait_state("long", TaskState.TASK_FINISHED)
        assert finished.source is Source.SOURCE_EXECUTOR
        subscriptions = [e for e in _journal(sandbox) if e.get("subscribe") == 200]
        assert len(subscriptions) >= 2
        again = subscriptions[-1]
        assert (again["unacknowledged_tasks"], again["unacknowledged_updates"]) == (1, 1)
        assert len(_events(sandbox, "SUBSCRIBED")) >= 2
        update = next(e for e in _journal(sandbox) if e.get("state") == "TASK_FINISHED")
        _until(lambda: update["uuid"] in {e["acknowledged"]["uuid"]
                                          for e in _events(sandbox, "ACKNOWLEDGED")},
               "the replayed update's ack")
        assert psutil.Process(pid).create_time() == created, "the executor was replaced"
        recovered = _until(lambda: _executor_state(agent, "http"), "the executor in /state")
        assert recovered["state"] == "RUNNING" and recovered["pid"] == pid
        assert TaskState.TASK_LOST not in sched.states("long")


def test_an_http_executors_updates_continue_their_tasks_trace(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master("--trace", *FAST)
    agent = cluster.agent(master, "cpus:4;mem:4096;disk:4096;ports:[31000-32000]", "--trace")
    with framework(master.address, "http-trace") as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [_task("traced", offer, _executor(), b"finish")])
        sched.wait_state("traced", TaskState.TASK_FINISHED)
        seen = _until(lambda: _executor_state(agent, "http"), "the executor in /state")
        noted.append(int(seen["pid"]))

        def forwarded() -> list[dict[str, Any]]:
            msgs = gather_task_trace(master.http, "traced")["messages"]
            return [m for m in msgs if m["name"] == "StatusUpdate"
                    and m["frm"].startswith("agent") and m.get("state") == "TASK_FINISHED"]

        (update,) = _until(forwarded, "the agent's forwarded TASK_FINISHED in the trace")[:1]
        msgs = gather_task_trace(master.http, "traced")["messages"]
        accept = next(m for m in msgs if m["name"] == "AcceptOffers")
        assert update["trace_id"] == accept["trace_id"]
