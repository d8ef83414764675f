"""End to end with a real ZooKeeper: the leading master dies, everyone follows the next one."""

from __future__ import annotations

import contextlib
import json
import signal
import time
import urllib.request

from actors.messages import TaskState
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, command_task, framework


def _elected(master: Node) -> bool:
    with urllib.request.urlopen(f"{master.http}/master/state", timeout=10) as reply:
        return bool(json.load(reply).get("elected"))


def test_killing_the_leader_hands_agents_frameworks_and_running_tasks_to_the_next(
        cluster: LocalCluster, zookeeper: str, zk_path: str) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    flags = ("--allocation_interval=100ms", f"--zk={zk}", "--zk_session_timeout=1secs")
    first = cluster.master(*flags, name="master1")
    second = cluster.master(*flags, name="master2")
    cluster.agent(zk)
    with framework(zk, "ha") as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("long", offer, "sleep 300")])
        sched.wait_state("long", TaskState.TASK_RUNNING)
        leader, standby = (first, second) if _elected(first) else (second, first)
        assert not _elected(standby)
        leader.kill(signal.SIGKILL)

        sched.wait("reregistered")  # the driver found the new leader and kept its id
        assert _elected(standby)
        # The task survived: once the agent has re-registered with the new leader, it
        # answers reconciliation with TASK_RUNNING, and later updates still arrive.
        deadline = time.monotonic() + WAIT
        while True:
            driver.reconcile_tasks([])
            with contextlib.suppress(TimeoutError):
                sched.wait_state("long", TaskState.TASK_RUNNING, timeout=1.0)
                break
            assert time.monotonic() < deadline, "the task never showed up at the new leader"
        driver.kill_task("long")
        sched.wait_state("long", TaskState.TASK_KILLED)
