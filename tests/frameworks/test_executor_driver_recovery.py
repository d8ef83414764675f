"""A checkpointing executor whose agent disappears: it waits ``recovery_timeout`` (on the
node's clock, a ``ManualClock`` here) for the agent to reconnect, then shuts down."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from executor_harness import FRAMEWORK, WAIT, FakeAgent, RecordingExecutor, Setup

from actors.messages import (
    AgentInfo,
    ExecutorReregistered,
    ReconnectExecutor,
    ReregisterExecutor,
    TaskState,
    TaskStatus,
)
from frameworks.executor_driver import ExecutorDriver
from transport import ManualClock, Node


class Recovering(RecordingExecutor):
    def disconnected(self, driver: ExecutorDriver) -> None:
        self._record("disconnected")

    def reregistered(self, driver: ExecutorDriver, *args: Any) -> None:
        self._record("reregistered", *args)


@pytest.fixture
def setup() -> Iterator[Setup]:
    s = Setup(checkpoint=True, grace=1.0)
    try:
        yield s
    finally:
        s.stop()


def _driver(setup: Setup, clock: ManualClock, executor: Recovering) -> ExecutorDriver:
    setup.node.stop()
    setup.node = Node("127.0.0.1", 0, clock=clock).start()
    env = dataclasses.replace(setup.env, recovery_timeout=60.0)
    ref = setup.node.spawn(ExecutorDriver, executor, env)
    driver: ExecutorDriver = ref.proxy().handle().get(timeout=WAIT)
    executor.wait_call("registered")
    return driver


def _barrier(driver: ExecutorDriver) -> None:
    """Everything posted to the driver so far (timers included) has run."""
    driver.actor_ref.proxy().handle().get(timeout=WAIT)


def _names(executor: Recovering) -> list[str]:
    with executor.event:
        return [name for name, _ in executor.calls]


def test_a_checkpointing_executor_gives_up_after_the_recovery_timeout(setup: Setup) -> None:
    clock, executor = ManualClock(), Recovering()
    driver = _driver(setup, clock, executor)
    setup.stop_agent()
    executor.wait_call("disconnected")
    clock.advance(59.0)
    _barrier(driver)
    assert "shutdown" not in _names(executor) and not driver.stopped
    clock.advance(2.0)
    executor.wait_call("shutdown")
    _barrier(driver)  # the grace-period timer is set right after the callback
    clock.advance(1.0)  # the shutdown grace period
    assert driver.join(timeout=WAIT) == 0


def test_an_agent_that_reconnects_in_time_keeps_the_executor_and_gets_its_updates(
        setup: Setup) -> None:
    clock, executor = ManualClock(), Recovering()
    driver = _driver(setup, clock, executor)
    setup.stop_agent()
    executor.wait_call("disconnected")
    driver.send_status_update(TaskStatus(task_id="t1", state=TaskState.TASK_FINISHED))
    _barrier(driver)

    agent_node = Node("127.0.0.1", 0).start()
    try:
        agent_node.spawn(FakeAgent)
        agent = agent_node.processes["agent"]
        assert isinstance(agent, FakeAgent)
        agent_node.send(agent.pid, setup.node.pid("executor"),
                        ReconnectExecutor(agent_id="M1-S1"))
        msg = agent.wait_for(ReregisterExecutor)[0]
        assert [u.status.state for u in msg.updates] == [TaskState.TASK_FINISHED]
        assert msg.framework_id == FRAMEWORK.id
        agent_node.send(agent.pid, setup.node.pid("executor"), ExecutorReregistered(
            agent_id="M1-S1", agent_info=AgentInfo(hostname="h", id="M1-S1")))
        executor.wait_call("reregistered")
        clock.advance(120.0)
        _barrier(driver)
        assert "shutdown" not in _names(executor) and not driver.stopped
    finally:
        agent_node.stop()
