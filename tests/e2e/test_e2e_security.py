"""Security over real processes: CurveZMQ admission, CRAM authentication, rate limits.

The master and agents are ``meseta-master`` / ``meseta-agent`` OS processes; the
frameworks run in the test process on nodes of their own (``MESETA_CURVE*`` /
``MESETA_CREDENTIAL`` as a framework author would set them).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import zmq

from actors.messages import TaskState, TaskStatus
from frameworks.scheduler_driver import SchedulerDriver
from tests.e2e.conftest import LocalCluster
from tests.e2e.faults import http, state, wait_for
from tests.e2e.harness import Recorder, command_task, framework, framework_info
from tests.e2e.test_e2e_agent_recovery import (
    AGENT_FLAGS,
    RESOURCES,
    _alive,
    _executor_pid,
    _launch_long,
    _restart,
    _sigkill,
    _state,
)
from tests.transport.helpers import keys_dir as transport_keys_dir

FAST = ("--allocation_interval=100ms",)
REFUSED_WITHIN = 30.0
"""A refused agent or framework must say so within this (bounded, not a hang)."""


def keys_dir(tmp: Path, own: str, *allowed: str) -> str:
    """A node's keys directory (``tests.transport.helpers.keys_dir``), as a flag value."""
    return str(transport_keys_dir(tmp, own, *allowed))


def exits_with(node_proc: subprocess.Popen[bytes], log: Path, text: str) -> None:
    node_proc.wait(REFUSED_WITHIN)
    assert node_proc.returncode == 1
    wait_for(lambda: text in log.read_text(errors="replace"), what=text)


def curve_framework(monkeypatch: pytest.MonkeyPatch, keys: str) -> None:
    monkeypatch.setenv("MESETA_CURVE", "1")
    monkeypatch.setenv("MESETA_CURVE_KEYS", keys)


@pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE")
def test_curve_cluster_runs_a_task_and_never_admits_a_key_it_does_not_allow(
        cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = tmp_path
    master = cluster.master(*FAST, "--curve", "--authenticate_frameworks",
                            "--authenticate_agents",
                            f"--curve_keys={keys_dir(tmp, 'master', 'agent1', 'alice')}")
    cluster.agent(master, "cpus:2;mem:1024", "--curve",
                  f"--curve_keys={keys_dir(tmp, 'agent1', 'master')}")
    eve = cluster.agent(master, "cpus:1;mem:128", "--curve",
                        f"--curve_keys={keys_dir(tmp, 'eve', 'master')}")
    exits_with(eve.proc, eve.log, "refused our CURVE key")
    plain = cluster.agent(master, "cpus:1;mem:128")
    exits_with(plain.proc, plain.log, "requires CURVE")

    curve_framework(monkeypatch, keys_dir(tmp, "alice", "master"))
    with framework(master.address, "alice") as (driver, sched):  # principal: the key's name
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("hi", offer, "echo curve")])
        sched.wait_state("hi", TaskState.TASK_FINISHED)
        assert state(master)["frameworks"][0]["principal"] == "alice"

    curve_framework(monkeypatch, keys_dir(tmp, "mallory", "master"))
    recorder = Recorder()
    intruder = SchedulerDriver.create(recorder, framework_info("mallory"), master.address)
    try:
        intruder.start()
        assert "refused our CURVE key" in recorder.wait("error", timeout=REFUSED_WITHIN)
    finally:
        intruder.close()
    final = state(master)
    assert [a["hostname"] for a in final["slaves"]] == ["127.0.0.1"]  # agent1 only
    assert all(f["name"] != "mallory" for f in final["frameworks"])


def test_a_plain_agent_exits_with_a_clear_error_against_a_curve_master_and_vice_versa(
        cluster: LocalCluster, tmp_path: Path) -> None:
    if not zmq.has("curve"):
        pytest.skip("libzmq without CURVE")
    plain_master = cluster.master()
    curve_agent = cluster.agent(plain_master, "cpus:1;mem:128", "--curve",
                                f"--curve_keys={keys_dir(tmp_path, 'agent1', 'master')}")
    exits_with(curve_agent.proc, curve_agent.log, "plain ZeroMQ")
    assert state(plain_master)["slaves"] == []


def test_a_bad_keys_directory_exits_with_a_message(tmp_path: Path) -> None:
    from tests.e2e.conftest import BIN

    done = subprocess.run([str(BIN / "meseta-master"), "--port=0", "--http_port=0", "--curve",
                           f"--curve_keys={tmp_path / 'missing'}"], capture_output=True,
                          timeout=60)
    assert done.returncode == 1 and b"does not exist" in done.stderr
    done = subprocess.run([str(BIN / "meseta-master"), "--port=0", "--curve"],
                          capture_output=True, timeout=60)
    assert done.returncode == 1 and b"--curve needs --curve_keys" in done.stderr


def test_credentials_admit_the_right_secret_and_refuse_the_rest(
        cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"credentials": [{"principal": "agent", "secret": "a-s"},
                                                 {"principal": "ops", "secret": "o-s"}]}))
    master = cluster.master(*FAST, "--authenticate_frameworks", "--authenticate_agents",
                            f"--credentials={creds}")
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_text("agent a-s\n")
    bad.write_text("agent wrong\n")
    cluster.agent(master, "cpus:1;mem:256", f"--credential={good}")
    wrong = cluster.agent(master, "cpus:1;mem:256", f"--credential={bad}")
    exits_with(wrong.proc, wrong.log, "refused authentication")
    silent = cluster.agent(master, "cpus:1;mem:256")  # no credential: never admitted
    wait_for(lambda: "not authenticated" in master.log.read_text(errors="replace"),
             what="the master refusing the unauthenticated agent")
    assert len(state(master)["slaves"]) == 1 and silent.proc.poll() is None

    ops = tmp_path / "ops"
    ops.write_text("ops o-s\n")
    monkeypatch.setenv("MESETA_CREDENTIAL", str(ops))
    with framework(master.address, "authenticated") as (_, sched):
        assert sched.wait("offer").resources.get("cpus") == 1
    for info, expected in (
            ({"principal": "someone-else"},
             "Framework principal 'someone-else' does not match authenticated principal 'ops'"),
            ({}, "is not authenticated")):
        if not info:
            monkeypatch.delenv("MESETA_CREDENTIAL")
        recorder = Recorder()
        driver = SchedulerDriver.create(recorder, framework_info("refused", **info),
                                        master.address)
        try:
            driver.start()
            assert expected in recorder.wait("error", timeout=REFUSED_WITHIN)
        finally:
            driver.close()
    assert [f["name"] for f in state(master)["frameworks"]] == []


def _reconcile_burst(driver: SchedulerDriver, sched: Recorder, count: int) -> float:
    """Send ``count`` reconciliation calls; seconds until every answer came back."""
    start = time.monotonic()
    for i in range(count):
        driver.reconcile_tasks([TaskStatus(task_id=f"ghost-{i}", state=TaskState.TASK_RUNNING)])
    for i in range(count):
        sched.wait_state(f"ghost-{i}", TaskState.TASK_LOST, timeout=60)
    return time.monotonic() - start


def test_a_rate_limited_framework_is_slowed_down_but_loses_no_message(
        cluster: LocalCluster) -> None:
    limits = {"limits": [{"principal": "slow", "qps": 20, "capacity": 1000}]}
    master = cluster.master(*FAST, f"--rate_limits={json.dumps(limits)}")
    burst = 30
    with framework(master.address, "fast", principal="fast") as (driver, sched):
        unlimited = _reconcile_burst(driver, sched, burst)
    with framework(master.address, "slow", principal="slow") as (driver, sched):
        limited = _reconcile_burst(driver, sched, burst)
        _, metrics = http(f"{master.http}/metrics/snapshot")
        assert metrics["frameworks/slow/messages_processed"] >= burst
        assert metrics["frameworks/slow/messages_received"] >= burst
    assert limited >= (burst - 1) / 20 * 0.95  # one message per 50 ms, the first at once
    assert limited > unlimited


@pytest.mark.skipif(not zmq.has("curve"), reason="libzmq without CURVE")
def test_under_curve_a_restarted_agent_readmits_its_recovered_executor(
        cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        noted: list[int]) -> None:
    master = cluster.master(*FAST, "--curve",
                            f"--curve_keys={keys_dir(tmp_path, 'master', 'agent1', 'ckpt')}")
    agent_curve = ("--curve", f"--curve_keys={keys_dir(tmp_path, 'agent1', 'master')}")
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS, *agent_curve)
    curve_framework(monkeypatch, keys_dir(tmp_path, "ckpt", "master"))
    with framework(master.address, "ckpt", checkpoint=True) as (driver, sched):
        pidfile = cluster.tmp / "long.pid"
        task = _launch_long(cluster, driver, sched, agent, "long",
                            f"echo $$ > {pidfile}; exec sleep 300", noted)
        executor = _executor_pid(agent, "long")
        _sigkill(agent)
        agent = _restart(cluster, master, agent, *agent_curve)
        wait_for(lambda: _state(agent)["registered"], what="the agent re-registered")
        wait_for(lambda: any(e["pid"] for f in _state(agent)["frameworks"]
                             for e in f["executors"] if e["id"] == "long"),
                 what="the executor reconnected")
        assert _executor_pid(agent, "long") == executor and _alive(task)
        driver.kill_task("long")
        sched.wait_state("long", TaskState.TASK_KILLED)
