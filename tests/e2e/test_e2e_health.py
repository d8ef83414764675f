"""Health checks end to end: a real master and agent, command executors, real checks.

The scheduler (a ``Recorder`` in the test process) must see what the command
executors decide: RUNNING updates with ``healthy`` (reason
REASON_TASK_HEALTH_CHECK_STATUS_UPDATED), and TASK_KILLED with ``healthy=False`` for
a task killed for failing its checks; the master refuses an invalid check with
TASK_ERROR.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

from actors.messages import (
    CommandInfo,
    Filters,
    HealthCheck,
    HealthCheckType,
    Reason,
    TaskState,
    TaskStatus,
)
from actors.messages.tasks import HTTPCheckInfo, TCPCheckInfo
from tests.e2e.conftest import LocalCluster
from tests.e2e.harness import WAIT, Recorder, command_task, framework

FAST = ("--allocation_interval=100ms",)
S = TaskState
HEALTH = Reason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED
QUICK = dict(delay_seconds=0.0, interval_seconds=0.2, timeout_seconds=5.0,
             grace_period_seconds=0.0, consecutive_failures=3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def health_update(sched: Recorder, task_id: str, healthy: bool) -> TaskStatus:
    status: TaskStatus = sched.wait("status", lambda s: s.task_id == task_id
                                    and s.reason is HEALTH and s.healthy is healthy)
    assert status.state is S.TASK_RUNNING
    return status


def sandbox_file(cluster: LocalCluster, task_id: str, name: str) -> Path:
    pattern = f"agent1/agents/*/frameworks/*/executors/{task_id}/runs/*/{name}"
    deadline = time.monotonic() + WAIT
    while not (found := list(cluster.tmp.glob(pattern))):
        assert time.monotonic() < deadline, f"no {pattern}"
        time.sleep(0.05)
    return found[0]


def test_the_scheduler_sees_health_and_unhealthy_tasks_are_killed(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    web_port = free_port()
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        cmd = command_task("cmd", offer, "touch ready && exec sleep 300", health_check=HealthCheck(
            type=HealthCheckType.COMMAND, **{**QUICK, "grace_period_seconds": WAIT},
            command=CommandInfo(value="test -f ready")))
        web = command_task(
            "web", offer, f"exec {sys.executable} -m http.server {web_port} --bind 127.0.0.1",
            health_check=HealthCheck(type=HealthCheckType.HTTP,
                                     **{**QUICK, "grace_period_seconds": WAIT},
                                     http=HTTPCheckInfo(port=web_port, path="/")))
        tcp = command_task("tcp", offer, "exec sleep 300", health_check=HealthCheck(
            type=HealthCheckType.TCP, **{**QUICK, "consecutive_failures": 2},
            tcp=TCPCheckInfo(port=free_port())))
        driver.launch_tasks([offer.id], [cmd, web, tcp], Filters(refuse_seconds=0))

        # TCP to a closed port: unhealthy twice, then killed.
        for _ in range(2):
            health_update(sched, "tcp", False)
        killed = sched.wait_state("tcp", S.TASK_KILLED)
        assert killed.healthy is False

        # HTTP against the task's own server: healthy.
        health_update(sched, "web", True)

        # COMMAND: healthy while the file is there; the test removes it.
        health_update(sched, "cmd", True)
        sandbox_file(cluster, "cmd", "ready").unlink()
        failures = [health_update(sched, "cmd", False) for _ in range(3)]
        assert [f"failed {n} time(s)" in s.message for n, s in enumerate(failures, 1)] == [
            True, True, True]
        killed = sched.wait_state("cmd", S.TASK_KILLED)
        assert killed.healthy is False

        # The healthy web server was not killed: the scheduler ends it itself.
        assert not any(s == S.TASK_KILLED for s in sched.states("web"))
        driver.kill_task("web")
        assert sched.wait_state("web", S.TASK_KILLED).healthy is None


def test_a_task_with_an_invalid_health_check_ends_in_task_error(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master)
    with framework(master.address) as (driver, sched):
        offer = sched.wait("offer")
        bad = command_task("bad", offer, "sleep 300", health_check=HealthCheck(
            type=HealthCheckType.HTTP, tcp=TCPCheckInfo(port=8080)))
        driver.launch_tasks([offer.id], [bad])
        error = sched.wait_state("bad", S.TASK_ERROR)
        assert error.reason is Reason.REASON_TASK_INVALID
        assert error.message == ("task uses an invalid health check: "
                                 "expecting 'http' to be set for HTTP health check")
