"""ExecutorDriver against a fake agent: registration, callbacks, reliable updates, shutdown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from executor_harness import FRAMEWORK, WAIT, RecordingExecutor, Setup

from actors.messages import (
    ExecutorToFramework,
    FrameworkToExecutor,
    KillTask,
    ReconnectExecutor,
    RegisterExecutor,
    ReregisterExecutor,
    RunTask,
    ShutdownExecutor,
    StatusUpdate,
    TaskInfo,
    TaskState,
    TaskStatus,
)
from actors.messages.task_state import Source
from frameworks.executor_driver import ExecutorEnvironment, ExecutorError


@pytest.fixture
def setup() -> Iterator[Setup]:
    s = Setup()
    try:
        yield s
    finally:
        s.stop()


def tell(setup: Setup, msg: object) -> None:
    driver_pid = setup.node.pid("executor")
    setup.agent_node.send(setup.agent.pid, driver_pid, msg)


def test_environment_is_read_from_meseta_variables() -> None:
    env = ExecutorEnvironment.from_env({
        "MESETA_AGENT_PID": "agent@10.0.0.2:5051", "MESETA_FRAMEWORK_ID": "f",
        "MESETA_EXECUTOR_ID": "e", "MESETA_SANDBOX": "/s", "MESETA_CHECKPOINT": "1",
        "MESETA_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "2.5", "MESETA_HOST": "10.0.0.2"})
    assert (env.agent.host, env.framework_id, env.executor_id) == ("10.0.0.2", "f", "e")
    assert env.directory == "/s" and env.checkpoint and env.shutdown_grace_period == 2.5
    with pytest.raises(ExecutorError, match="MESETA_AGENT_PID"):
        ExecutorEnvironment.from_env({})


def test_registers_and_calls_back_registered_then_launch_task(setup: Setup) -> None:
    executor = RecordingExecutor()
    setup.start_driver(executor)
    reg = setup.agent.wait_for(RegisterExecutor)[0]
    assert (reg.framework_id, reg.executor_id) == (FRAMEWORK.id, "e1")
    _, framework_info, agent_info = executor.wait_call("registered")
    assert framework_info == FRAMEWORK and agent_info.id == "M1-S1"
    task = TaskInfo(name="t", task_id="t1", agent_id="M1-S1")
    tell(setup, RunTask(framework_info=FRAMEWORK, task=task))
    assert executor.wait_call("launch_task") == (task,)
    tell(setup, KillTask(framework_id=FRAMEWORK.id, task_id="t1"))
    assert executor.wait_call("kill_task") == ("t1",)


def test_status_updates_are_filled_in_and_kept_until_acked(setup: Setup) -> None:
    setup.agent.auto_ack = False
    executor = RecordingExecutor()
    driver = setup.start_driver(executor)
    executor.wait_call("registered")
    uuid = driver.send_status_update(TaskStatus(task_id="t1", state=TaskState.TASK_RUNNING))
    update = setup.agent.wait_for(StatusUpdate)[0].update
    assert update.uuid == uuid == update.status.uuid and len(uuid) == 16
    assert update.framework_id == FRAMEWORK.id and update.executor_id == "e1"
    assert update.agent_id == "M1-S1" and update.status.source is Source.SOURCE_EXECUTOR
    assert update.timestamp > 0
    # Unacknowledged: it travels again when a restarted agent asks to reconnect.
    tell(setup, ReconnectExecutor(agent_id="M1-S1"))
    rereg = setup.agent.wait_for(ReregisterExecutor)[0]
    assert [u.uuid for u in rereg.updates] == [uuid]
    setup.agent.ack(driver.pid, setup.agent.wait_for(StatusUpdate)[0])
    assert executor.wait_call("acknowledged") == ("t1", uuid)
    tell(setup, ReconnectExecutor(agent_id="M1-S1"))
    assert setup.agent.wait_for(ReregisterExecutor, count=2)[1].updates == ()


def test_staging_is_refused(setup: Setup) -> None:
    driver = setup.start_driver(RecordingExecutor())
    with pytest.raises(ExecutorError):
        driver.send_status_update(TaskStatus(task_id="t", state=TaskState.TASK_STAGING))


def test_framework_messages_both_ways(setup: Setup) -> None:
    executor = RecordingExecutor()
    driver = setup.start_driver(executor)
    executor.wait_call("registered")
    tell(setup, FrameworkToExecutor(agent_id="M1-S1", framework_id=FRAMEWORK.id,
                                    executor_id="e1", data=b"hi"))
    assert executor.wait_call("framework_message") == (b"hi",)
    driver.send_framework_message(b"back")
    msg = setup.agent.wait_for(ExecutorToFramework)[0]
    assert (msg.data, msg.executor_id, msg.agent_id) == (b"back", "e1", "M1-S1")


def test_shutdown_calls_back_then_stops_after_the_grace_period(setup: Setup) -> None:
    executor = RecordingExecutor()
    driver = setup.start_driver(executor)
    executor.wait_call("registered")
    tell(setup, ShutdownExecutor(executor_id="e1", framework_id=FRAMEWORK.id))
    executor.wait_call("shutdown")
    assert driver.join(timeout=WAIT) == 0 and driver.stopped


def test_agent_exit_shuts_a_non_checkpointing_executor_down(setup: Setup) -> None:
    executor = RecordingExecutor()
    driver = setup.start_driver(executor)
    executor.wait_call("registered")
    setup.stop_agent()
    executor.wait_call("shutdown")
    driver.join(timeout=WAIT)
    assert driver.stopped


