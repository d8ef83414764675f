"""Agent recovery through the actor harness: an agent "crashes" (its node stops; executors
of checkpointing frameworks are spared) and a new agent starts on the same port and
work_dir, against the fake master. Executors are real processes (subprocess launcher)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import psutil
import pytest
from agent_harness import (
    AGENT_ID,
    FRAMEWORK,
    WAIT,
    Cluster,
    command_task,
    eventually,
    executor_pids,
    run_task,
    send,
)

from actors.agent import checkpoint as paths
from actors.agent.actor import AgentActor
from actors.agent.config import AgentConfig
from actors.agent.recovery import RecoveryError
from actors.messages import (
    FrameworkCapability,
    FrameworkInfo,
    KillTask,
    Reason,
    ReregisterAgent,
    StatusUpdate,
    TaskState,
)
from actors.resources import Resources
from transport import Node

CHECKPOINTING = dataclasses.replace(FRAMEWORK, checkpoint=True)
SETTINGS: dict[str, Any] = dict(launcher="subprocess", executor_reregistration_timeout=5.0,
                                executor_reregistration_retry_interval=0.2)


def _config(cluster: Cluster, port: int, **overrides: Any) -> AgentConfig:
    settings: dict[str, Any] = dict(
        ip="127.0.0.1", port=port, master=cluster.master.pid,
        work_dir=str(cluster.tmp_path / "work"),
        resources=Resources.parse("cpus:2;mem:1024;disk:2048;ports:[31000-31010]"),
        registration_backoff_factor=0.01, executor_shutdown_grace_period=2.0,
        switch_user=False, **SETTINGS)  # the frameworks here name made-up users ("tester")
    settings.update(overrides)
    return AgentConfig(**settings)


def _start(cluster: Cluster, port: int = 0, **overrides: Any) -> AgentActor:
    """An agent on ``port`` (0: a new one) with the shared work_dir."""
    if port:
        node = Node("127.0.0.1", port, http_port=0).start()
        cluster.nodes.append(node)
    else:
        node = cluster.node(http_port=0)
    node.spawn(AgentActor, _config(cluster, node.port, **overrides))
    agent = node.processes["agent"]
    assert isinstance(agent, AgentActor)
    return agent


def _registered(agent: AgentActor) -> bool:
    return bool(agent.actor_ref.proxy().registered.get(timeout=WAIT))


def _gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _crash(agent: AgentActor) -> int:
    """Stop the agent's node without a shutdown (as a crash would); its port."""
    port = agent.node.port
    agent.node.stop()
    return port


def _running_agent(cluster: Cluster, task_id: str = "t1", framework: FrameworkInfo = CHECKPOINTING,
                   ) -> tuple[AgentActor, psutil.Process]:
    agent = _start(cluster)
    assert eventually(lambda: _registered(agent))
    run_task(cluster, agent, command_task(task_id, "sleep 60"), framework)
    cluster.master.wait_state(task_id, TaskState.TASK_RUNNING)
    executor = psutil.Process(executor_pids(agent)[0])
    return agent, executor


def _checkpointed(cluster: Cluster, pattern: str) -> list[Path]:
    """Files under the agent's meta dir (the ``latest`` links not followed twice)."""
    root = cluster.tmp_path / "work" / "meta" / "agents" / AGENT_ID / "frameworks"
    return sorted({p.resolve() for p in root.glob(pattern)})


def _reregistrations(cluster: Cluster) -> list[ReregisterAgent]:
    with cluster.master.cond:
        return [m for _, m in cluster.master.seen if isinstance(m, ReregisterAgent)]


def test_a_restarted_agent_reconnects_its_executor_and_reregisters_with_its_tasks(
        cluster: Cluster) -> None:
    agent, executor = _running_agent(cluster)
    port = _crash(agent)
    assert executor.is_running()
    agent = _start(cluster, port)
    msg = cluster.master.wait_for(ReregisterAgent)[0]
    assert msg.agent_info.id == AGENT_ID
    assert [(t.task_id, t.state) for t in msg.tasks] == [("t1", TaskState.TASK_RUNNING)]
    assert eventually(lambda: _registered(agent))
    assert executor_pids(agent) == [executor.pid]
    send(cluster, agent, KillTask(framework_id=FRAMEWORK.id, task_id="t1"))
    cluster.master.wait_state("t1", TaskState.TASK_KILLED)
    assert eventually(lambda: _gone(executor))


def test_an_unacknowledged_update_is_resent_once_after_the_restart(cluster: Cluster) -> None:
    cluster.master.auto_ack = False
    agent = _start(cluster)
    assert eventually(lambda: _registered(agent))
    run_task(cluster, agent, command_task("t1", "sleep 60"), CHECKPOINTING)
    starting = cluster.master.wait_state("t1", TaskState.TASK_STARTING)
    assert eventually(lambda: len(agent.sum) == 2)  # STARTING in flight, RUNNING queued
    port = _crash(agent)
    agent = _start(cluster, port)
    cluster.master.wait_for(ReregisterAgent)
    again = cluster.master.wait_for(
        StatusUpdate, lambda m: m.update.status.state is TaskState.TASK_STARTING, count=2)[1]
    assert again.update.uuid == starting.update.uuid
    assert eventually(lambda: _registered(agent))
    cluster.master.ack(again)
    running = cluster.master.wait_state("t1", TaskState.TASK_RUNNING)
    cluster.master.ack(running)
    assert eventually(lambda: len(agent.sum) == 0)
    assert cluster.master.updates("t1") == [TaskState.TASK_STARTING, TaskState.TASK_STARTING,
                                            TaskState.TASK_RUNNING]


@pytest.mark.parametrize(("capabilities", "state"), [
    (frozenset(), TaskState.TASK_LOST),
    (frozenset({FrameworkCapability.PARTITION_AWARE}), TaskState.TASK_GONE)])
def test_an_executor_that_does_not_reregister_is_killed_and_its_task_lost(
        cluster: Cluster, capabilities: frozenset[FrameworkCapability], state: TaskState) -> None:
    framework = dataclasses.replace(CHECKPOINTING, capabilities=capabilities)
    agent, executor = _running_agent(cluster, framework=framework)
    port = _crash(agent)
    executor.suspend()  # alive, but it cannot answer ReconnectExecutor
    try:
        _start(cluster, port, executor_reregistration_timeout=0.5)
        lost = cluster.master.wait_state("t1", state)
        assert lost.update.status.reason is Reason.REASON_EXECUTOR_REREGISTRATION_TIMEOUT
        assert eventually(lambda: _gone(executor))
        assert cluster.master.wait_for(ReregisterAgent)[0].agent_info.id == AGENT_ID
    finally:
        if executor.is_running():
            executor.kill()


def test_an_executor_that_died_while_the_agent_was_down_fails_its_task(
        cluster: Cluster) -> None:
    agent, executor = _running_agent(cluster)
    port = _crash(agent)
    children = executor.children(recursive=True)
    for proc in [executor, *children]:
        proc.kill()
    psutil.wait_procs([executor, *children], timeout=WAIT)
    _start(cluster, port)
    failed = cluster.master.wait_state("t1", TaskState.TASK_FAILED)
    assert failed.update.status.reason is Reason.REASON_COMMAND_EXECUTOR_FAILED
    assert len(_checkpointed(cluster, "*/executors/t1/runs/*/executor.sentinel")) == 1


def test_recover_cleanup_kills_the_executors_and_never_registers(cluster: Cluster) -> None:
    agent, executor = _running_agent(cluster)
    port = _crash(agent)
    cleaner = _start(cluster, port, recover="cleanup")
    assert cleaner.shutdown_requested.wait(WAIT)
    assert eventually(lambda: _gone(executor))
    assert _reregistrations(cluster) == []
    assert cleaner.actor_ref.proxy().registered.get(timeout=WAIT) is False
    # The next, reconnecting start reports what the cleanup did to the task.
    port = _crash(cleaner)
    _start(cluster, port)
    cluster.master.wait_for(ReregisterAgent)
    # TASK_KILLED if the executor's report reached the cleaning agent, else the agent's
    # TASK_FAILED for the command executor that ended with the task still live.
    ended = cluster.master.wait_for(StatusUpdate, lambda m: m.update.status.task_id == "t1"
                                    and m.update.status.state in (TaskState.TASK_KILLED,
                                                                  TaskState.TASK_FAILED))[0]
    assert ended.update.status.reason is not Reason.REASON_RECONCILIATION


def test_a_corrupt_checkpoint_stops_a_strict_agent_and_is_skipped_otherwise(
        cluster: Cluster) -> None:
    agent, executor = _running_agent(cluster)
    port = _crash(agent)
    executor.kill()
    (updates,) = _checkpointed(cluster, "*/executors/t1/runs/*/tasks/t1/task.updates")
    data = bytearray(updates.read_bytes())
    data[paths.FRAME_HEADER.size] ^= 0xFF
    updates.write_bytes(bytes(data))
    with pytest.raises(RecoveryError, match=r"task.updates"):
        cluster.node().spawn(AgentActor, _config(cluster, port))
    agent = _start(cluster, port, strict=False)
    msg = cluster.master.wait_for(ReregisterAgent)[0]
    assert msg.agent_info.id == AGENT_ID and msg.tasks == ()  # the bad task was skipped
    assert eventually(lambda: _registered(agent))


def test_an_agent_whose_port_changed_refuses_to_recover(cluster: Cluster) -> None:
    agent, executor = _running_agent(cluster)
    _crash(agent)
    executor.kill()
    node = cluster.node()
    with pytest.raises(RecoveryError, match=r"(?s)port changed.*meta/agents/latest"):
        node.spawn(AgentActor, _config(cluster, node.port))
    assert "agent" not in node.processes
    assert os.path.islink(paths.latest_agent_link(str(cluster.tmp_path / "work")))


def test_a_reboot_with_another_agent_info_starts_a_new_agent(cluster: Cluster) -> None:
    agent, executor = _running_agent(cluster)
    _crash(agent)
    executor.kill()
    work = str(cluster.tmp_path / "work")
    Path(paths.boot_id_path(work)).parent.mkdir(parents=True, exist_ok=True)
    paths.write_record(paths.boot_id_path(work), "an-earlier-boot")
    fresh = _start(cluster, 0, boot_id="this-boot")  # another port: incompatible, rebooted
    assert eventually(lambda: _registered(fresh))
    assert _reregistrations(cluster) == []  # registered as a new agent
    assert fresh.actor_ref.proxy().frameworks.get(timeout=WAIT) == {}
