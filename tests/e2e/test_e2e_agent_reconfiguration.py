"""End to end: an agent SIGKILLed and restarted with more cpus, under each
``--reconfiguration_policy`` (Mesos 1.5+).

Real master and agent processes, a checkpointing framework's command task (a long
``sleep`` that wrote its pid). With ``additive`` the restarted agent keeps its id, the
executor reconnects and the task keeps running (the same process), and the master's
state and offers show the new total. With the default ``equal`` the restart exits
non-zero with the message and leaves the checkpoint as it was. The recovery helpers
(and their kill-by-pid teardown through ``noted``) are those of the agent recovery tests.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from actors.agent import recovery
from actors.messages import TaskState
from tests.e2e.conftest import BIN, LocalCluster, Node
from tests.e2e.faults import state as master_state
from tests.e2e.harness import WAIT, framework
from tests.e2e.test_e2e_agent_recovery import (
    AGENT_FLAGS,
    MASTER_FLAGS,
    RESOURCES,
    _alive,
    _executor_pid,
    _identity,
    _launch_long,
    _reconciled,
    _sigkill,
    _state,
    _wait,
)

MORE_CPUS = RESOURCES.replace("cpus:4", "cpus:8")


def _agent_flags(cluster: LocalCluster, old: Node) -> list[str]:
    """The flags of a restart on ``old``'s port and work_dir (``agent1``)."""
    return [*AGENT_FLAGS, f"--port={old.address.rsplit(':', 1)[1]}",
            f"--work_dir={cluster.tmp / 'agent1'}"]


def _master_cpus(master: Node, agent_id: str) -> float:
    (agent,) = [a for a in master_state(master)["slaves"] if a["id"] == agent_id]
    return float(agent["resources"]["cpus"])


def _snapshot(meta: Path) -> dict[str, bytes | str]:
    """Every file's bytes and every link's target under ``meta``."""
    out: dict[str, bytes | str] = {}
    for root, dirs, files in os.walk(meta):
        for name in dirs + files:
            path = Path(root, name)
            if path.is_symlink():
                out[str(path.relative_to(meta))] = os.readlink(path)
            elif path.is_file():
                out[str(path.relative_to(meta))] = path.read_bytes()
    return out


def test_an_additive_restart_with_more_cpus_keeps_the_agent_its_task_and_offers_the_cpus(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*MASTER_FLAGS)
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    with framework(master.address, "ckpt", checkpoint=True) as (driver, sched):
        pidfile = cluster.tmp / "long.pid"
        task = _launch_long(cluster, driver, sched, agent, "long",
                            f"echo $$ > {pidfile}; exec sleep 300", noted)
        executor = _identity(_executor_pid(agent, "long"))
        agent_id = _state(agent)["id"]
        assert _master_cpus(master, agent_id) == 4.0

        _sigkill(agent)
        agent = cluster.agent(master, MORE_CPUS, *_agent_flags(cluster, agent),
                              "--reconfiguration_policy=additive")

        assert _reconciled(driver, sched, "long").state is TaskState.TASK_RUNNING
        _wait(lambda: _state(agent)["registered"], "the agent to handle its re-registration")
        assert _state(agent)["id"] == agent_id
        assert _executor_pid(agent, "long") == executor[0], "the executor did not reconnect"
        assert _alive(executor) and _alive(task), "the task was relaunched or killed"
        _wait(lambda: _master_cpus(master, agent_id) == 8.0, "the master's new cpus total")
        assert [a["id"] for a in master_state(master)["slaves"]] == [agent_id]
        offer = sched.wait("offer", lambda o: o.agent_id == agent_id
                           and o.resources.get("cpus") > 4.0)
        assert offer.resources.get("cpus") <= 8.0
        saved = recovery.recover(str(cluster.tmp / "agent1")).agent
        assert saved is not None and saved.info.resources.get("cpus") == 8.0

        driver.kill_task("long")
        sched.wait_state("long", TaskState.TASK_KILLED)
        _wait(lambda: not _alive(task), "the task process to end")
        assert TaskState.TASK_LOST not in sched.states("long")


def test_an_equal_restart_with_more_cpus_exits_and_leaves_the_checkpoint_alone(
        cluster: LocalCluster, noted: list[int]) -> None:
    master = cluster.master(*MASTER_FLAGS)
    agent = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    with framework(master.address, "ckpt", checkpoint=True) as (driver, sched):
        pidfile = cluster.tmp / "kept.pid"
        task = _launch_long(cluster, driver, sched, agent, "kept",
                            f"echo $$ > {pidfile}; exec sleep 300", noted)
        executor = _identity(_executor_pid(agent, "kept"))
        agent_id = _state(agent)["id"]
        _sigkill(agent)
        meta = cluster.tmp / "agent1" / "meta"
        before = _snapshot(meta)

        refused = subprocess.run(
            [str(BIN / "meseta-agent"), "--ip=127.0.0.1", "--http_port=0",
             f"--master={master.address}", f"--resources={MORE_CPUS}",
             *_agent_flags(cluster, agent)],
            capture_output=True, text=True, timeout=WAIT)
        assert refused.returncode != 0
        assert "Incompatible agent info detected" in refused.stderr
        assert "resources changed from 'cpus:4" in refused.stderr
        assert "--reconfiguration_policy" in refused.stderr and "meta/agents/latest" in \
            refused.stderr
        assert _snapshot(meta) == before, "the refused restart touched the checkpoint"
        assert _alive(executor) and _alive(task)

        # Started again as it was, it recovers its id and its task.
        agent = cluster.agent(master, RESOURCES, *_agent_flags(cluster, agent))
        assert _reconciled(driver, sched, "kept").state is TaskState.TASK_RUNNING
        _wait(lambda: _state(agent)["registered"], "the agent to re-register")
        assert _state(agent)["id"] == agent_id and _alive(task)
        assert _master_cpus(master, agent_id) == 4.0
