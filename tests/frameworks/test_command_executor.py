"""The command executor in-process, against a fake agent: a real command's life."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from executor_harness import FRAMEWORK, WAIT, Setup

from actors.messages import (
    CommandInfo,
    Environment,
    ExecutorRegistered,
    FrameworkCapability,
    FrameworkInfo,
    KillPolicy,
    KillTask,
    RunTask,
    ShutdownExecutor,
    StatusUpdate,
    TaskInfo,
    TaskState,
)
from frameworks.command_executor import CommandExecutor, command_argv, describe_exit

S = TaskState


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = Setup(directory=str(tmp_path))
    try:
        yield s
    finally:
        s.stop()


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def task(value: str, shell: bool = True, **kwargs: object) -> TaskInfo:
    return TaskInfo(name="t", task_id="t1", agent_id="M1-S1",
                    command=CommandInfo(value=value, shell=shell, **kwargs))  # type: ignore[arg-type]


def launch(setup: Setup, info: TaskInfo, framework: FrameworkInfo = FRAMEWORK) -> None:
    setup.agent.framework = framework
    registered = setup.node.hooks.expect(ExecutorRegistered)
    driver = setup.start_driver(CommandExecutor())
    registered.result(WAIT)
    assert driver.actor_ref.proxy().connected.get(timeout=WAIT)  # handled, not just arrived
    setup.agent_node.send(setup.agent.pid, setup.node.pid("executor"),
                          RunTask(framework_info=framework, task=info))


def test_argv_is_sh_c_for_shell_commands_and_value_plus_arguments_otherwise() -> None:
    assert command_argv(task("echo hi")) == ["/bin/sh", "-c", "echo hi"]
    assert command_argv(task("/bin/echo", shell=False, arguments=("a", "b"))) == [
        "/bin/echo", "a", "b"]
    assert describe_exit(3) == "Command exited with status 3"
    assert describe_exit(-signal.SIGKILL) == "Command terminated with signal SIGKILL"


def test_a_command_runs_in_the_sandbox_with_its_environment(setup: Setup,
                                                              tmp_path: Path) -> None:
    env = Environment.of({"GREETING": "hello"})
    launch(setup, task('echo "$GREETING" > out.txt', environment=env))
    setup.agent.wait_for(StatusUpdate, lambda m: m.update.status.state is S.TASK_FINISHED)
    assert setup.agent.states("t1") == [S.TASK_STARTING, S.TASK_RUNNING, S.TASK_FINISHED]
    assert (tmp_path / "out.txt").read_text() == "hello\n"


def test_the_executor_stops_once_its_terminal_update_is_acked(setup: Setup) -> None:
    launch(setup, task("true"))
    driver = setup.node.processes["executor"]
    assert driver.join(timeout=WAIT) == 0


def test_a_missing_program_fails_the_task(setup: Setup) -> None:
    launch(setup, task("/no/such/program", shell=False))
    failed = setup.agent.wait_for(
        StatusUpdate, lambda m: m.update.status.state is S.TASK_FAILED)[0]
    assert "Failed to launch" in failed.update.status.message


def test_kill_uses_a_shorter_grace_period_from_the_kill_request(
        setup: Setup, tmp_path: Path) -> None:
    framework = FrameworkInfo(user="u", name="f", id=FRAMEWORK.id,
                              capabilities=frozenset({FrameworkCapability.TASK_KILLING_STATE}))
    trapped = tmp_path / "trapped"
    launch(setup, task(f"trap '' TERM; touch {trapped}; sleep 60"), framework)
    setup.agent.wait_for(StatusUpdate, lambda m: m.update.status.state is S.TASK_RUNNING)
    wait_until(trapped.exists)  # TASK_RUNNING comes before the shell has set its trap
    started = time.monotonic()
    setup.agent_node.send(setup.agent.pid, setup.node.pid("executor"), KillTask(
        framework_id=FRAMEWORK.id, task_id="t1", kill_policy=KillPolicy(grace_period=0.3)))
    killed = setup.agent.wait_for(
        StatusUpdate, lambda m: m.update.status.state is S.TASK_KILLED)[0]
    assert time.monotonic() - started < 2.5  # not the default 3 s
    assert setup.agent.states("t1")[-2:] == [S.TASK_KILLING, S.TASK_KILLED]
    assert "SIGKILL" in killed.update.status.message


def test_shutdown_kills_the_task(setup: Setup) -> None:
    launch(setup, task("sleep 60"))
    setup.agent.wait_for(StatusUpdate, lambda m: m.update.status.state is S.TASK_RUNNING)
    setup.agent_node.send(setup.agent.pid, setup.node.pid("executor"),
                          ShutdownExecutor(executor_id="e1", framework_id=FRAMEWORK.id))
    setup.agent.wait_for(StatusUpdate, lambda m: m.update.status.state is S.TASK_KILLED)
