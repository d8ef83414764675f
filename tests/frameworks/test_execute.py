"""meseta-execute: flags, no master, and a whole run against a stand-in master and agent."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scheduler_harness import FRAMEWORK_ID, FakeMaster, status_update

from actors.messages import (
    URL,
    AcceptOffers,
    Address,
    DeclineOffers,
    FrameworkError,
    KillTask,
    Offer,
    RegisterFramework,
    ResourceOffers,
    StatusUpdateAcknowledgement,
    SuppressOffers,
    TaskState,
    UnregisterFramework,
)
from actors.resources import Resources
from frameworks.execute import build_command, parse_env, read_sandbox_stdout, run
from transport import PID, HttpRequest, HttpResponse, Node, Process

ROOT = Path(__file__).resolve().parents[2]


class FakeAgentHttp(Process):
    """The agent's HTTP side as meseta-execute uses it: ``/state`` and ``/files/read``."""

    def __init__(self, node: Node, work_dir: Path, files_route: bool = True) -> None:
        super().__init__(node, "agent")
        self.work_dir = work_dir
        self.route("/state", self._state)
        if files_route:
            self.route("/files/read", self._read)

    def _state(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json({"flags": {"work_dir": str(self.work_dir)}})

    def _read(self, request: HttpRequest) -> HttpResponse:
        path = Path(request.query["path"])
        if not path.is_file():
            return HttpResponse.text("not found", 404)
        return HttpResponse.json({"data": "(via http) " + path.read_text(), "offset": 0})


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Node, FakeMaster]]:
    node = Node("127.0.0.1", 0, http_port=0).start()
    node.http_delegate = "agent"
    try:
        yield node, FakeMaster.spawn(node)
    finally:
        node.stop()


def _offer(node: Node, offer_id: str, resources: str) -> Offer:
    assert node.http_port is not None
    url = URL(scheme="http", address=Address(port=node.http_port, ip="127.0.0.1"))
    return Offer(id=offer_id, framework_id=FRAMEWORK_ID, agent_id="m1-S1", hostname="localhost",
                 resources=Resources.parse(resources), url=url)


def _start_run(args: list[str]) -> tuple[threading.Thread, dict[str, Any], io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    result: dict[str, Any] = {}

    def target() -> None:
        result["rc"] = run(args, out=out, err=err)
        result["err"] = err.getvalue()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result, out


def _launch(node: Node, master: FakeMaster, extra: list[str]) -> tuple[
        threading.Thread, dict[str, Any], io.StringIO, Any, str]:
    thread, result, out = _start_run(["--master", node.address, "--name", "hello",
                                       "--command", "echo hi", "--registration_timeout",
                                       "5secs", *extra])
    master.wait_for(RegisterFramework)
    driver_pid = master.received[0][0]
    master.push(driver_pid, ResourceOffers(offers=(_offer(node, "m1-O1", "cpus:0.05;mem:8"),
                                                   _offer(node, "m1-O2", "cpus:1;mem:64"))))
    [accept] = master.wait_for(AcceptOffers)
    assert accept.offer_ids == ("m1-O2",)
    [op] = accept.operations
    assert op.launch is not None
    [task] = op.launch.task_infos
    return thread, result, out, driver_pid, task.task_id


def test_a_finished_task_exits_0_and_prints_its_stdout(
        cluster: tuple[Node, FakeMaster], tmp_path: Path) -> None:
    node, master = cluster
    node.spawn(FakeAgentHttp, tmp_path)
    thread, result, out, driver_pid, task_id = _launch(node, master, [])
    assert task_id.startswith("hello-") and len(task_id) == len("hello-") + 8
    [task] = master.messages(AcceptOffers)[0].operations[0].launch.task_infos  # type: ignore[union-attr]
    assert task.command is not None and task.command.value == "echo hi" and task.command.shell
    assert task.executor is None
    assert task.resources == Resources.parse("cpus:0.1;mem:32")
    [decline] = master.wait_for(DeclineOffers)
    assert decline.offer_ids == ("m1-O1",) and decline.filters.refuse_seconds == 3600
    master.wait_for(SuppressOffers)
    sandbox = tmp_path / "agents/m1-S1/frameworks" / FRAMEWORK_ID / "executors" / task_id
    (sandbox / "runs/latest").mkdir(parents=True)
    (sandbox / "runs/latest/stdout").write_text("hi\n")
    master.push(driver_pid, status_update(task_id, TaskState.TASK_RUNNING, uuid=b"1" * 16))
    master.push(driver_pid, status_update(task_id, TaskState.TASK_FINISHED, uuid=b"2" * 16))
    thread.join(10)
    assert result["rc"] == 0, result
    text = out.getvalue()
    assert f"Subscribed with ID {FRAMEWORK_ID}" in text
    assert f"Submitted task '{task_id}' to agent 'm1-S1'" in text
    assert f"Received status update TASK_RUNNING for task '{task_id}'" in text
    assert f"Received status update TASK_FINISHED for task '{task_id}'" in text
    assert "(via http) hi" in text
    master.wait_for(UnregisterFramework)
    assert len(master.wait_for(StatusUpdateAcknowledgement, 2)) == 2


def test_stdout_falls_back_to_the_local_sandbox(
        cluster: tuple[Node, FakeMaster], tmp_path: Path) -> None:
    node, master = cluster
    node.spawn(FakeAgentHttp, tmp_path, files_route=False)
    thread, result, out, driver_pid, task_id = _launch(node, master, [])
    latest = tmp_path / "agents/m1-S1/frameworks" / FRAMEWORK_ID / "executors" / task_id / "runs"
    (latest / "latest").mkdir(parents=True)
    (latest / "latest/stdout").write_text("from disk\n")
    master.push(driver_pid, status_update(task_id, TaskState.TASK_FINISHED))
    thread.join(10)
    assert result["rc"] == 0
    assert "from disk" in out.getvalue()


def test_stdout_through_the_agent_pid_when_the_offer_has_no_url(
        cluster: tuple[Node, FakeMaster], tmp_path: Path) -> None:
    node, _ = cluster
    node.spawn(FakeAgentHttp, tmp_path)
    assert node.http_port is not None
    stdout = tmp_path / "agents/m1-S1/frameworks" / FRAMEWORK_ID / "executors/t1/runs/latest"
    stdout.mkdir(parents=True)
    (stdout / "stdout").write_text("via pid\n")
    no_url = Offer(id="m1-O1", framework_id=FRAMEWORK_ID, agent_id="m1-S1", hostname="h")
    assert read_sandbox_stdout(no_url, FRAMEWORK_ID, "t1") is None
    agent_pid = PID("agent", "127.0.0.1", node.http_port - 100)  # HTTP at port + 100
    assert read_sandbox_stdout(no_url, FRAMEWORK_ID, "t1", agent_pid) == "(via http) via pid\n"


def test_a_failed_task_exits_1(cluster: tuple[Node, FakeMaster]) -> None:
    node, master = cluster
    thread, result, out, driver_pid, task_id = _launch(node, master, [])
    master.push(driver_pid, status_update(task_id, TaskState.TASK_FAILED))
    thread.join(10)
    assert result["rc"] == 1
    assert f"Received status update TASK_FAILED for task '{task_id}'" in out.getvalue()


def test_kill_after_kills_the_running_task(cluster: tuple[Node, FakeMaster]) -> None:
    node, master = cluster
    thread, result, out, driver_pid, task_id = _launch(node, master, ["--kill_after", "50ms"])
    master.push(driver_pid, status_update(task_id, TaskState.TASK_RUNNING))
    [kill] = master.wait_for(KillTask)
    assert kill.task_id == task_id and kill.agent_id == "m1-S1"
    master.push(driver_pid, status_update(task_id, TaskState.TASK_KILLED))
    thread.join(10)
    assert result["rc"] == 1
    assert "Asked to kill task" in out.getvalue()


# --- flags ----------------------------------------------------------------------------


def test_missing_name_or_command_exits_2() -> None:
    err = io.StringIO()
    assert run(["--command", "true"], err=err) == 2
    assert "--name" in err.getvalue()
    assert run(["--name", "x"], err=io.StringIO()) == 2


@pytest.mark.parametrize("bad", [
    ["--kill_after", "soon"],
    ["--resources", "cpus:lots"],
    ["--env", "[1, 2]"],
    ["--master", "nonsense"],
    ["--shell", "maybe"],
    ["--no-such-flag"],
])
def test_bad_flags_exit_2(bad: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(["--name", "x", "--command", "true", *bad], err=io.StringIO())
    assert exc.value.code == 2


def test_env_and_non_shell_commands() -> None:
    assert parse_env('{"A": "1", "B": 2}') == {"A": "1", "B": "2"}
    command = build_command("ls -l '/tmp/a b'", shell=False, env={"A": "1"})
    assert command.shell is False and command.value == "ls"
    assert command.arguments == ("ls", "-l", "/tmp/a b")
    assert command.environment is not None and command.environment.to_dict() == {"A": "1"}


def _run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MESETA_MASTER", None)
    return subprocess.run([sys.executable, "-m", "frameworks.execute", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_bad_flag_exits_2_with_a_message() -> None:
    result = _run_cli("--name", "x", "--command", "true", "--kill_after", "soon")
    assert result.returncode == 2
    assert "--kill_after" in result.stderr


def test_cli_without_a_master_exits_1_within_its_timeout() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    result = _run_cli("--master", f"127.0.0.1:{port}", "--name", "x", "--command", "true",
                      "--registration_timeout", "1secs")
    assert result.returncode == 1, result.stderr
    assert "registered the framework within 1s" in result.stderr
    assert time.monotonic() - start < 20


def test_master_from_the_environment_and_an_error_exits_1(
        cluster: tuple[Node, FakeMaster], monkeypatch: pytest.MonkeyPatch) -> None:
    node, master = cluster
    monkeypatch.setenv("MESETA_MASTER", node.address)
    thread, result, _ = _start_run(["--name", "e", "--command", "true"])
    master.wait_for(RegisterFramework)
    master.push(master.received[0][0], FrameworkError(message="framework removed"))
    thread.join(10)
    assert result["rc"] == 1
    assert "Received an ERROR event: framework removed" in result["err"]
