"""The HTTP endpoints and metrics end to end: a real master and two agents, a framework
in this process with two running tasks and a finished one. Every endpoint answers with
Mesos' fields and values that match what runs (tasks by state, cpus used, agents); the
Prometheus text parses; ``/master/teardown`` ends the framework's tasks on the agents.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from actors.messages import Filters, Offer, TaskState
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, command_task, framework

FAST = ("--allocation_interval=100ms",)
HOLD = Filters(refuse_seconds=3600.0)


def get(node: Node, path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(f"{node.http}{path}", timeout=WAIT) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def get_json(node: Node, path: str) -> Any:
    status, _, body = get(node, path)
    assert status == 200, (path, status, body)
    return json.loads(body)


def eventually(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def prometheus(node: Node) -> dict[str, float]:
    status, content_type, body = get(node, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    values: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("#"):
            assert line.startswith("# TYPE ") and line.split()[-1] in ("gauge", "counter")
            continue
        name, value = line.split(" ")
        assert name.replace("_", "a").replace(":", "a").isalnum(), name
        values[name] = float(value)
    return values


def two_offers(sched: Any) -> list[Offer]:
    """The first offer of each of the two agents."""
    by_agent: dict[str, Offer] = {}
    while len(by_agent) < 2:
        offer = sched.wait("offer")
        by_agent.setdefault(offer.agent_id, offer)
    return sorted(by_agent.values(), key=lambda o: o.agent_id)


def test_every_endpoint_shows_the_running_cluster_and_teardown_ends_it(
        cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    agents = [cluster.agent(master), cluster.agent(master)]
    with framework(master.address, "endpoints") as (driver, sched):
        first, second = two_offers(sched)
        driver.launch_tasks([first.id], [
            command_task("run-1", first, "sleep 300", "cpus:0.5;mem:64"),
            command_task("done-1", first, "true", "cpus:0.25;mem:32")], HOLD)
        driver.launch_tasks([second.id], [
            command_task("run-2", second, "sleep 300", "cpus:1;mem:128")], HOLD)
        for task_id in ("run-1", "run-2"):
            sched.wait_state(task_id, TaskState.TASK_RUNNING)
        sched.wait_state("done-1", TaskState.TASK_FINISHED)
        framework_id = driver.framework_id
        check_master(master, framework_id, first.agent_id, second.agent_id)
        check_agents(master, agents)

        # teardown: only POST, a known id; then the tasks end on the agents
        assert get(master, "/master/teardown")[0] == 405
        request = urllib.request.Request(
            f"{master.http}/master/teardown", method="POST",
            data=urllib.parse.urlencode({"frameworkId": framework_id}).encode())
        with urllib.request.urlopen(request, timeout=WAIT) as resp:
            assert resp.status == 200
        assert "removed" in sched.wait("error")
        assert eventually(lambda: sum(get_json(a, "/metrics/snapshot")["slave/tasks_running"]
                                      for a in agents) == 0)
        state = get_json(master, "/master/state")
        assert state["frameworks"] == []
        (done,) = state["completed_frameworks"]
        ends = {t["id"]: t["state"] for t in done["completed_tasks"]}
        assert ends == {"run-1": "TASK_KILLED", "run-2": "TASK_KILLED",
                        "done-1": "TASK_FINISHED"}
        metrics = get_json(master, "/metrics/snapshot")
        assert metrics["master/tasks_running"] == 0 and metrics["master/cpus_used"] == 0
        assert metrics["master/frameworks_active"] == 0


def check_master(master: Node, framework_id: str, a1: str, a2: str) -> None:
    state = get_json(master, "/master/state")
    for key in ("version", "git_sha", "id", "pid", "hostname", "activated_agents",
                "deactivated_agents", "leader", "leader_info", "elected_time", "start_time",
                "flags", "agents", "frameworks", "completed_frameworks",
                "unregistered_frameworks", "orphan_tasks"):
        assert key in state, key
    assert state["pid"] == master.pid and state["leader"] == master.pid
    assert state["activated_agents"] == 2 and state["deactivated_agents"] == 0
    assert state["flags"]["allocation_interval"] == "0.1secs"
    used = {a["id"]: a["used_resources"]["cpus"] for a in state["agents"]}
    assert used == {a1: 0.75 - 0.25, a2: 1.0}  # done-1 finished: its cpus are free
    for agent in state["agents"]:
        for key in ("resources", "offered_resources", "reserved_resources",
                    "unreserved_resources", "attributes", "active", "version",
                    "capabilities", "hostname", "pid"):
            assert key in agent, key
    (fw,) = state["frameworks"]
    for key in ("tasks", "completed_tasks", "offers", "executors", "used_resources",
                "offered_resources", "role", "roles", "principal", "webui_url",
                "capabilities", "registered_time", "unregistered_time", "active",
                "connected"):
        assert key in fw, key
    assert fw["id"] == framework_id and fw["name"] == "endpoints"
    assert fw["used_resources"]["cpus"] == 1.5
    everything = {t["id"]: t["state"] for t in fw["tasks"] + fw["completed_tasks"]}
    assert everything == {"run-1": "TASK_RUNNING", "run-2": "TASK_RUNNING",
                          "done-1": "TASK_FINISHED"}

    summary = get_json(master, "/master/state-summary")
    (fw_summary,) = summary["frameworks"]
    assert fw_summary["TASK_RUNNING"] == 2 and fw_summary["TASK_FINISHED"] == 1
    assert len(summary["slaves"]) == 2

    listed = get_json(master, f"/master/tasks?framework_id={framework_id}&order=asc")["tasks"]
    assert sorted(t["id"] for t in listed) == ["done-1", "run-1", "run-2"]
    assert len(get_json(master, "/master/tasks?limit=1&offset=1")["tasks"]) == 1
    (one,) = get_json(master, f"/master/tasks?framework_id={framework_id}&task_id=run-2")[
        "tasks"]
    assert one["agent_id"] == a2 and one["resources"]["cpus"] == 1.0

    assert [f["id"] for f in get_json(master, "/master/frameworks")["frameworks"]] == [
        framework_id]
    assert sorted(a["id"] for a in get_json(master, "/master/agents")["agents"]) == [a1, a2]
    slaves = get_json(master, "/master/slaves")
    assert sorted(a["id"] for a in slaves["slaves"]) == [a1, a2] and "agents" not in slaves
    (role,) = get_json(master, "/master/roles")["roles"]
    assert role["name"] == "*" and role["frameworks"] == [framework_id]
    assert role["allocated"]["cpus"] == 1.5
    flags = get_json(master, "/master/flags")["flags"]  # as given: --port=0 picked one
    assert (flags["port"], flags["allocation_interval"]) == ("0", "0.1secs")
    assert get(master, "/master/health")[0] == 200
    host, port = master.http.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=WAIT)
    conn.request("GET", "/master/redirect")
    reply = conn.getresponse()
    assert reply.status == 307 and reply.getheader("Location") == f"//127.0.0.1:{port}"
    conn.close()

    metrics = get_json(master, "/metrics/snapshot")
    assert metrics["master/elected"] == 1 and metrics["master/uptime_secs"] > 0
    assert metrics["master/tasks_running"] == 2 and metrics["master/tasks_finished"] == 1
    assert metrics["master/tasks_staging"] == 0 and metrics["master/tasks_failed"] == 0
    assert metrics["master/agents_active"] == 2 == metrics["master/slaves_active"]
    assert metrics["master/agents_connected"] == 2
    assert metrics["master/frameworks_active"] == 1
    assert metrics["master/frameworks_connected"] == 1
    assert metrics["master/cpus_used"] == 1.5 and metrics["master/cpus_total"] == 8.0
    assert metrics["master/cpus_percent"] == 1.5 / 8.0
    assert metrics["master/mem_used"] == 192.0 and metrics["master/mem_total"] == 8192.0
    assert metrics["master/messages_register_agent"] >= 2  # an agent may retry (backoff)
    assert metrics["master/messages_register_framework"] == 1
    assert metrics["master/messages_launch_tasks"] + metrics[
        "master/messages_accept_offers"] == 2
    assert metrics["master/valid_status_updates"] >= 4  # 3 x RUNNING, 1 x FINISHED
    assert metrics["master/invalid_status_updates"] == 0
    assert metrics["allocator/mesos/allocation_runs"] >= 1
    assert eventually(lambda: get_json(master, "/metrics/snapshot")[  # as of its last run
        "allocator/mesos/resources/cpus/total"] == 8.0)
    assert "allocator/mesos/allocation_run_ms/p50" in metrics
    assert metrics["registrar/queued_operations"] == 0
    assert metrics["registrar/state_store_ms/count"] >= 1  # the two agents were admitted
    text = prometheus(master)
    assert text["master_tasks_running"] == 2 and text["master_cpus_used"] == 1.5


def check_agents(master: Node, agents: list[Node]) -> None:
    running = finished = 0
    for agent in agents:
        state = get_json(agent, "/state")
        for key in ("id", "pid", "hostname", "resources", "attributes", "master_hostname",
                    "flags", "frameworks", "completed_frameworks", "version",
                    "start_time"):
            assert key in state, key
        assert state["pid"] == agent.pid and state["master_hostname"] == "127.0.0.1"
        assert get_json(agent, "/flags")["flags"]["master"] == master.address
        assert get(agent, "/health")[0] == 200
        assert isinstance(get_json(agent, "/monitor/statistics"), list)
        metrics = get_json(agent, "/metrics/snapshot")
        assert metrics["slave/registered"] == 1 and metrics["slave/cpus_total"] == 4.0
        running += int(metrics["slave/tasks_running"])
        finished += int(metrics["slave/tasks_finished"])
        text = prometheus(agent)
        assert text["slave_tasks_running"] == metrics["slave/tasks_running"]
    assert (running, finished) == (2, 1)
