"""The v1 scheduler HTTP API end to end: a real master and agent, and a framework that is
nothing but ``http.client`` (``tests/e2e/v1_client.py``; no Meseta code on its side).

It subscribes, gets offers, launches command tasks, follows their updates and
acknowledges them, kills, reconciles, declines with filters, suppresses and revives,
sends a framework message, reconnects after dropping its stream, and tears down; bad
requests get Mesos' status codes.
"""

from __future__ import annotations

import getpass
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.v1_client import WAIT, Subscription, b64, command_task, launch, post

FAST = ("--allocation_interval=100ms",)


def info(name: str = "http-e2e", **extra: Any) -> dict[str, Any]:
    return {"user": getpass.getuser(), "name": name, **extra}


def state(master: Node) -> Any:
    with urllib.request.urlopen(f"{master.http}/master/state", timeout=WAIT) as resp:
        return json.loads(resp.read())


def eventually(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def framework_state(master: Node, framework_id: str) -> dict[str, Any]:
    return next(f for f in state(master)["frameworks"] if f["id"] == framework_id)


def test_subscribe_launch_update_acknowledge_kill_reconcile(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:2;mem:1024;disk:1024;ports:[31000-31100]")
    sub = Subscription(master.http, info(capabilities=[{"type": "TASK_KILLING_STATE"}]))
    try:
        assert sub.status == 200 and sub.headers["Content-Type"].startswith("application/json")
        assert len(sub.stream_id) == 36  # a UUID
        assert sub.wait("HEARTBEAT")  # one right after SUBSCRIBED
        offer = sub.offers()[0]
        assert offer["framework_id"] == {"value": sub.framework_id}
        assert {"id", "agent_id", "hostname", "resources", "url"} <= set(offer)
        cpus = next(r for r in offer["resources"] if r["name"] == "cpus")
        assert cpus == {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0},
                        "allocation_info": {"role": "*"}}
        launch(sub, offer, command_task("quick", offer, "true"),
               command_task("long", offer, "sleep 300"))
        quick = sub.follow("quick", "TASK_FINISHED")
        assert [s["state"] for s in quick] == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
        assert all(s["agent_id"] == offer["agent_id"] and s["uuid"] for s in quick)
        assert quick[-1]["source"] == "SOURCE_EXECUTOR"
        sub.follow("long", "TASK_RUNNING")
        # The acknowledgement of the terminal update reached the master: the task left.
        assert eventually(lambda: any(t["id"] == "quick" for t in framework_state(
            master, sub.framework_id)["completed_tasks"]))
        framework = framework_state(master, sub.framework_id)
        assert "pid" not in framework and framework["connected"] and framework["active"]

        code, _ = sub.call("RECONCILE", {"tasks": [{"task_id": {"value": "long"},
                                                    "agent_id": offer["agent_id"]}]})
        assert code == 202
        answer = sub.update("long", "TASK_RUNNING")
        assert answer["reason"] == "REASON_RECONCILIATION" and "uuid" not in answer
        code, _ = sub.call("RECONCILE", {})
        assert code == 202
        assert sub.update("long", "TASK_RUNNING")["reason"] == "REASON_RECONCILIATION"

        code, _ = sub.call("KILL", {"task_id": {"value": "long"}, "agent_id": offer["agent_id"]})
        assert code == 202
        assert [s["state"] for s in sub.follow("long", "TASK_KILLED")] == [
            "TASK_KILLING", "TASK_KILLED"]
        code, _ = sub.call("TEARDOWN")
        assert code == 202
        sub.wait_end()
        assert eventually(lambda: any(f["id"] == sub.framework_id
                                      for f in state(master)["completed_frameworks"]))
    finally:
        sub.close()
