"""Agent harness: registration, pings, kills, executor exits, timeouts and shutdowns,
with a stand-in master and real executor processes forked by the warm launcher."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import psutil
from agent_harness import (
    AGENT_ID,
    FRAMEWORK,
    Cluster,
    command_task,
    custom_task,
    eventually,
    executor_pids,
    run_task,
    send,
    state,
)

from actors.messages import (
    AgentReregistered,
    ExitedExecutor,
    FrameworkCapability,
    FrameworkInfo,
    KillPolicy,
    KillTask,
    PingAgent,
    PongAgent,
    Reason,
    ReconcileTasks,
    RegisterAgent,
    ReregisterAgent,
    RunTask,
    Shutdown,
    ShutdownFramework,
    StatusUpdate,
    TaskState,
    TaskStatus,
)

S = TaskState


def test_a_dropped_registration_is_retried(cluster: Cluster) -> None:
    dropped = cluster.master_node.hooks.drop(RegisterAgent, count=1)
    agent = cluster.make_agent()
    assert dropped.hits == 1 and agent.agent_id == AGENT_ID  # the second one got through
    assert len(cluster.master.wait_for(RegisterAgent)) == 1


def test_ping_is_answered_with_pong(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    send(cluster, agent, PingAgent())
    cluster.master.wait_for(PongAgent)


def test_a_ping_saying_not_connected_makes_the_agent_reregister_with_its_id(
        cluster: Cluster) -> None:
    agent = cluster.make_agent()
    reregistered = agent.node.hooks.expect(AgentReregistered)
    send(cluster, agent, PingAgent(connected=False))
    msg = cluster.master.wait_for(ReregisterAgent)[0]
    assert msg.agent_info.id == AGENT_ID
    reregistered.result(30)


def test_updates_are_retried_until_acknowledged_then_the_next_goes(cluster: Cluster) -> None:
    cluster.master.auto_ack = False
    agent = cluster.make_agent(status_update_retry_min=0.2, status_update_retry_max=0.4)
    run_task(cluster, agent, command_task("t1", "true"))
    first, again = cluster.master.wait_for(StatusUpdate, count=2)
    assert first.update.uuid == again.update.uuid
    assert first.update.status.state is S.TASK_STARTING
    assert again.update.latest_state is S.TASK_FINISHED  # the whole run happened meanwhile
    cluster.master.ack(first)
    cluster.master.wait_state("t1", S.TASK_RUNNING)
    assert S.TASK_FINISHED not in cluster.master.updates("t1")  # strictly one at a time


def test_kill_of_sleep_gives_killing_then_killed_within_the_grace_period(
        cluster: Cluster) -> None:
    agent = cluster.make_agent()
    framework = FrameworkInfo(user="u", name="f", id=FRAMEWORK.id,
                              capabilities=frozenset({FrameworkCapability.TASK_KILLING_STATE}))
    run_task(cluster, agent, command_task("sleeper", "sleep 60"), framework)
    cluster.master.wait_state("sleeper", S.TASK_RUNNING)
    started = time.monotonic()
    send(cluster, agent, KillTask(framework_id=FRAMEWORK.id, task_id="sleeper"))
    killed = cluster.master.wait_state("sleeper", S.TASK_KILLED)
    assert time.monotonic() - started < 3.0
    assert cluster.master.updates("sleeper")[-2:] == [S.TASK_KILLING, S.TASK_KILLED]
    assert "signal SIGTERM" in killed.update.status.message


def test_a_task_ignoring_sigterm_is_killed_after_its_grace_period(
        cluster: Cluster, tmp_path: Path) -> None:
    agent = cluster.make_agent()
    trapped = tmp_path / "trapped"
    task = command_task("stubborn", f"trap '' TERM; touch {trapped}; sleep 60",
                        kill_policy=KillPolicy(grace_period=0.5))
    run_task(cluster, agent, task)
    cluster.master.wait_state("stubborn", S.TASK_RUNNING)
    deadline = time.monotonic() + 20
    while not trapped.exists():  # TASK_RUNNING comes before the shell has set its trap
        assert time.monotonic() < deadline, "the task never set its trap"
        time.sleep(0.01)
    send(cluster, agent, KillTask(framework_id=FRAMEWORK.id, task_id="stubborn"))
    killed = cluster.master.wait_state("stubborn", S.TASK_KILLED)
    assert "signal SIGKILL" in killed.update.status.message


def test_failing_command_reports_its_exit_status(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, command_task("bad", "exit 7"))
    failed = cluster.master.wait_state("bad", S.TASK_FAILED)
    assert failed.update.status.message == "Command exited with status 7"


def test_custom_executor_that_exits_at_once_loses_its_task(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, custom_task("c1", "agent_crash_executor"))
    lost = cluster.master.wait_state("c1", S.TASK_LOST)
    assert lost.update.status.reason is Reason.REASON_EXECUTOR_TERMINATED
    assert "exited with status 3" in lost.update.status.message
    exited = cluster.master.wait_for(ExitedExecutor)[0]
    assert exited.executor_id == "custom" and exited.status >> 8 == 3


def test_partition_aware_framework_gets_task_gone_when_its_executor_dies(
        cluster: Cluster) -> None:
    agent = cluster.make_agent()
    framework = FrameworkInfo(user="u", name="f", id=FRAMEWORK.id,
                              capabilities=frozenset({FrameworkCapability.PARTITION_AWARE}))
    run_task(cluster, agent, custom_task("c2", "agent_crash_executor"), framework)
    gone = cluster.master.wait_state("c2", S.TASK_GONE)
    assert gone.update.status.reason is Reason.REASON_EXECUTOR_TERMINATED


def test_killed_command_executor_fails_its_task(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, command_task("victim", "sleep 60"))
    cluster.master.wait_state("victim", S.TASK_RUNNING)
    [pid] = executor_pids(agent)
    psutil.Process(pid).kill()
    failed = cluster.master.wait_state("victim", S.TASK_FAILED)
    assert failed.update.status.reason is Reason.REASON_COMMAND_EXECUTOR_FAILED
    assert failed.update.status.source is not None
    assert failed.update.status.source.name == "SOURCE_AGENT"


def test_executor_that_never_registers_is_killed_and_its_task_failed(
        cluster: Cluster) -> None:
    agent = cluster.make_agent(executor_registration_timeout=1.0)
    run_task(cluster, agent, custom_task("quiet", "agent_silent_executor"))
    [pid] = executor_pids(agent)
    failed = cluster.master.wait_state("quiet", S.TASK_FAILED)
    assert failed.update.status.reason is Reason.REASON_EXECUTOR_REGISTRATION_TIMEOUT
    try:
        psutil.Process(pid).wait(timeout=10)
    except psutil.NoSuchProcess:
        pass  # killed and reaped already


def test_shutdown_framework_leaves_no_process_behind(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    for i in range(3):
        run_task(cluster, agent, command_task(f"s{i}", "sleep 60"))
    for i in range(3):
        cluster.master.wait_state(f"s{i}", S.TASK_RUNNING)
    procs = [psutil.Process(pid) for pid in executor_pids(agent, 3)]
    procs += [child for p in procs for child in p.children(recursive=True)]
    assert len(procs) >= 6  # three executors and their sleeps
    send(cluster, agent, ShutdownFramework(framework_id=FRAMEWORK.id))
    _, alive = psutil.wait_procs(procs, timeout=15)
    assert [p for p in alive if _running(p)] == []
    assert eventually(lambda: state(agent)["frameworks"] == [])  # exit reports handled


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_reconciliation_answers_unknown_tasks_with_lost(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    send(cluster, agent, ReconcileTasks(framework_id=FRAMEWORK.id, statuses=(
        TaskStatus(task_id="ghost", state=S.TASK_RUNNING),)))
    lost = cluster.master.wait_state("ghost", S.TASK_LOST)
    assert lost.update.status.reason is Reason.REASON_RECONCILIATION


def test_state_endpoint_shows_agent_frameworks_executors_and_tasks(cluster: Cluster) -> None:
    agent = cluster.make_agent(attributes="rack:a;zone:b")
    run_task(cluster, agent, command_task("web", "sleep 60"))
    cluster.master.wait_state("web", S.TASK_RUNNING)
    base = f"http://127.0.0.1:{agent.node.http_port}"
    for path in ("/state", "/agent/state"):
        with urllib.request.urlopen(base + path, timeout=30) as resp:
            doc = json.load(resp)
        assert doc["id"] == AGENT_ID and doc["pid"] == str(agent.pid)
        assert doc["resources"]["cpus"] == 2.0 and doc["resources"]["ports"] == "[31000-31010]"
        assert doc["attributes"] == {"rack": "a", "zone": "b"}
        [framework] = doc["frameworks"]
        [executor] = framework["executors"]
        assert executor["id"] == "web" and executor["tasks"][0]["state"] == "TASK_RUNNING"
        assert doc["flags"]["launcher"] == "warm"
    with urllib.request.urlopen(base + "/health", timeout=30) as resp:
        assert resp.status == 200


def test_master_messages_from_anyone_but_its_master_are_ignored(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    stranger = cluster.node()
    impostor = stranger.pid("master")  # named like a master, on another node
    for msg in (Shutdown(message="bye"), PingAgent(connected=False),
                RunTask(framework_info=FRAMEWORK, task=command_task("rogue", "true"))):
        stranger.send(impostor, agent.pid, msg)
    send(cluster, agent, PingAgent())  # ours still counts, and comes after theirs
    cluster.master.wait_for(PongAgent)
    time.sleep(0.2)  # nothing the impostor sent may have any effect; give it a moment
    assert not agent.shutdown_requested.is_set()
    assert agent.actor_ref.proxy().registered.get(timeout=30)
    assert state(agent)["frameworks"] == []
    assert not [m for _, m in cluster.master.seen if isinstance(m, ReregisterAgent)]
