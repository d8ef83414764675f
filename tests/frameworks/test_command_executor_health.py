"""Health checks in the command executor, in-process against a fake agent, real checks.

Each test runs a real task (a subprocess) and real COMMAND / HTTP / TCP checks on
127.0.0.1 with short timings, and reads the status updates the fake agent received.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from executor_harness import FRAMEWORK, WAIT, Setup

from actors.messages import (
    CommandInfo,
    Environment,
    ExecutorRegistered,
    HealthCheck,
    HealthCheckType,
    KillTask,
    Reason,
    RunTask,
    StatusUpdate,
    TaskInfo,
    TaskState,
    TaskStatus,
)
from actors.messages.tasks import HTTPCheckInfo, KillPolicy, TCPCheckInfo
from frameworks.command_executor import CommandExecutor

S = TaskState
HEALTH = Reason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED
FAST = dict(delay_seconds=0.0, interval_seconds=0.2, timeout_seconds=5.0,
            grace_period_seconds=0.0, consecutive_failures=3)


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.setup = Setup(directory=str(tmp_path))
        self.executor = CommandExecutor()

    def launch(self, command: str, check: HealthCheck, **kwargs: Any) -> None:
        info = TaskInfo(name="t", task_id="t1", agent_id="M1-S1",
                        command=CommandInfo(value=command), health_check=check,
                        kill_policy=KillPolicy(grace_period=1.0), **kwargs)
        registered = self.setup.node.hooks.expect(ExecutorRegistered)
        driver = self.setup.start_driver(self.executor)
        registered.result(WAIT)
        assert driver.actor_ref.proxy().connected.get(timeout=WAIT)
        self.setup.agent_node.send(self.setup.agent.pid, self.setup.node.pid("executor"),
                                   RunTask(framework_info=FRAMEWORK, task=info))

    def wait(self, where: Callable[[TaskStatus], bool], count: int = 1) -> list[TaskStatus]:
        found = self.setup.agent.wait_for(StatusUpdate, lambda m: where(m.update.status),
                                          count=count)
        return [m.update.status for m in found]

    def wait_terminal(self) -> TaskStatus:
        return self.wait(lambda s: s.state not in (S.TASK_STARTING, S.TASK_RUNNING,
                                                   S.TASK_KILLING))[0]

    def statuses(self) -> list[TaskStatus]:
        with self.setup.agent.cond:
            return [m.update.status for _, m in self.setup.agent.seen
                    if isinstance(m, StatusUpdate)]

    def health(self) -> list[bool | None]:
        return [s.healthy for s in self.statuses() if s.reason is HEALTH]

    def kill(self) -> None:
        self.setup.agent_node.send(self.setup.agent.pid, self.setup.node.pid("executor"),
                                   KillTask(framework_id=FRAMEWORK.id, task_id="t1"))

    def stop(self) -> None:
        proc = self.executor.proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        self.setup.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    try:
        yield r
    finally:
        r.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def assert_killed_by_health_check(rig: Rig, failures: int) -> TaskStatus:
    final = rig.wait_terminal()
    assert final.state is S.TASK_KILLED and final.healthy is False
    unhealthy = [s for s in rig.statuses() if s.reason is HEALTH and s.healthy is False]
    assert [s.state for s in unhealthy] == [S.TASK_RUNNING] * failures
    assert [f"failed {n} time(s)" in s.message for n, s in enumerate(unhealthy, 1)] == [
        True] * failures
    return final


# --- COMMAND ---------------------------------------------------------------------------


def test_a_command_check_in_the_sandbox_passes_then_fails_and_the_task_is_killed(
        rig: Rig, tmp_path: Path) -> None:
    flag = tmp_path / "ready"
    flag.touch()
    check = HealthCheck(type=HealthCheckType.COMMAND, **FAST, command=CommandInfo(
        value='test -f "$FLAG"', environment=Environment.of({"FLAG": "ready"})))
    rig.launch("sleep 300", check)
    healthy = rig.wait(lambda s: s.reason is HEALTH)[0]
    assert (healthy.state, healthy.healthy) == (S.TASK_RUNNING, True)
    flag.unlink()
    final = assert_killed_by_health_check(rig, failures=3)
    assert rig.health() == [True, False, False, False]
    states = [s.state for s in rig.statuses()]
    assert states == [S.TASK_STARTING, S.TASK_RUNNING] + [S.TASK_RUNNING] * 4 + [S.TASK_KILLED]
    assert "SIGTERM" in final.message


def test_a_failing_command_check_kills_the_task_after_consecutive_failures(rig: Rig) -> None:
    check = HealthCheck(type=HealthCheckType.COMMAND, **{**FAST, "consecutive_failures": 2},
                        command=CommandInfo(value="/bin/false", shell=False))
    rig.launch("sleep 300", check)
    assert_killed_by_health_check(rig, failures=2)
    assert rig.health() == [False, False]
    assert "Command exited with status 1" in rig.statuses()[2].message


def test_a_command_check_that_times_out_is_killed_and_counts_as_a_failure(
        rig: Rig, tmp_path: Path) -> None:
    pid_file = tmp_path / "check.pid"
    check = HealthCheck(type=HealthCheckType.COMMAND,
                        **{**FAST, "timeout_seconds": 1.0, "consecutive_failures": 1},
                        command=CommandInfo(value="echo $$ > check.pid; exec sleep 60"))
    rig.launch("sleep 300", check)
    started = time.monotonic()
    assert_killed_by_health_check(rig, failures=1)
    assert time.monotonic() - started >= 1.0
    assert "timed out after 1s" in rig.statuses()[2].message
    check_pid = int(pid_file.read_text())
    wait_until(lambda: not psutil.pid_exists(check_pid))  # its process group was killed


def test_without_failures_nothing_but_the_first_healthy_update_is_sent(rig: Rig) -> None:
    check = HealthCheck(type=HealthCheckType.COMMAND, **FAST, command=CommandInfo(value="true"))
    rig.launch("sleep 300", check)
    rig.wait(lambda s: s.reason is HEALTH)
    checker = rig.executor.health_checker
    assert checker is not None
    wait_until(lambda: checker.checks_run >= 5)
    assert rig.health() == [True]
    rig.kill()  # a kill by the scheduler: no healthy field on TASK_KILLED
    final = rig.wait_terminal()
    assert final.state is S.TASK_KILLED and final.healthy is None
    assert checker.stopped


# --- HTTP ------------------------------------------------------------------------------


def test_an_http_check_passes_against_the_tasks_own_server(rig: Rig) -> None:
    port = free_port()
    # Failures until the server listens are ignored: the grace period lasts until the
    # first success.
    check = HealthCheck(type=HealthCheckType.HTTP,
                        **{**FAST, "grace_period_seconds": WAIT},
                        http=HTTPCheckInfo(port=port, path="/"))
    rig.launch(f"exec {sys.executable} -m http.server {port} --bind 127.0.0.1", check)
    healthy = rig.wait(lambda s: s.reason is HEALTH)[0]
    assert healthy.healthy is True and healthy.state is S.TASK_RUNNING
    assert rig.health() == [True]
    rig.kill()
    assert rig.wait_terminal().state is S.TASK_KILLED


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404 if self.path == "/missing" else 200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_check_answered_404_with_statuses_200_kills_the_task(rig: Rig,
                                                                     web: int) -> None:
    check = HealthCheck(type=HealthCheckType.HTTP, **{**FAST, "consecutive_failures": 2},
                        http=HTTPCheckInfo(port=web, path="/missing", statuses=(200,)))
    rig.launch("sleep 300", check)
    assert_killed_by_health_check(rig, failures=2)
    assert "unexpected HTTP status 404" in rig.statuses()[2].message


def test_an_http_check_of_a_closed_port_kills_the_task(rig: Rig) -> None:
    check = HealthCheck(type=HealthCheckType.HTTP, **{**FAST, "consecutive_failures": 2},
                        http=HTTPCheckInfo(port=free_port()))
    rig.launch("sleep 300", check)
    assert_killed_by_health_check(rig, failures=2)
    assert "failed" in rig.statuses()[2].message


# --- TCP -------------------------------------------------------------------------------


def test_a_tcp_check_passes_while_the_port_listens_and_kills_once_it_is_closed(
        rig: Rig) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        check = HealthCheck(type=HealthCheckType.TCP, **FAST, tcp=TCPCheckInfo(port=port))
        rig.launch("sleep 300", check)
        healthy = rig.wait(lambda s: s.reason is HEALTH)[0]
        assert healthy.healthy is True
    finally:
        listener.close()
    final = assert_killed_by_health_check(rig, failures=3)
    assert rig.health() == [True, False, False, False]
    assert "TCP connection" in rig.statuses()[-2].message and final.healthy is False
