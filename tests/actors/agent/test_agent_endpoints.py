"""The agent's HTTP routes with real command tasks: ``/state``, ``/flags``, ``/health``,
``/metrics/snapshot`` (Mesos' ``slave/...`` names) and Prometheus ``/metrics``."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from agent_harness import Cluster, command_task, eventually, run_task, state

from actors.agent.actor import AgentActor
from actors.messages import TaskState

WAIT_HTTP = 20.0


def get(agent: AgentActor, path: str) -> tuple[int, str, bytes]:
    url = f"http://127.0.0.1:{agent.node.http_port}{path}"
    with urllib.request.urlopen(url, timeout=WAIT_HTTP) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read()


def get_json(agent: AgentActor, path: str) -> Any:
    status, _, body = get(agent, path)
    assert status == 200
    return json.loads(body)


def test_state_flags_health_and_metrics_of_an_agent_running_tasks(cluster: Cluster) -> None:
    agent = cluster.make_agent()
    run_task(cluster, agent, command_task("sleeper", "sleep 60"))
    run_task(cluster, agent, command_task("quick", "true"))
    cluster.master.wait_state("sleeper", TaskState.TASK_RUNNING)
    cluster.master.wait_state("quick", TaskState.TASK_FINISHED)

    body = get_json(agent, "/state")
    for key in ("id", "pid", "hostname", "resources", "attributes", "master_hostname",
                "flags", "frameworks", "completed_frameworks", "version", "start_time"):
        assert key in body, key
    assert body["id"] == "M1-S1" and body["master_hostname"] == "127.0.0.1"
    assert body["resources"]["cpus"] == 2.0 and body["unreserved_resources"]["cpus"] == 2.0
    (framework,) = body["frameworks"]
    running = [t["id"] for e in framework["executors"] for t in e["tasks"]]
    assert "sleeper" in running and "quick" not in running

    flags = get_json(agent, "/flags")["flags"]
    assert flags["work_dir"] == str(cluster.tmp_path / "work") and flags["port"] == str(
        agent.node.port)
    assert get(agent, "/health")[0] == 200

    metrics = get_json(agent, "/metrics/snapshot")
    assert metrics["slave/registered"] == 1.0 and metrics["slave/uptime_secs"] >= 0
    assert metrics["slave/tasks_running"] == 1 and metrics["slave/tasks_finished"] == 1
    assert metrics["slave/tasks_failed"] == 0 and metrics["slave/frameworks_active"] == 1
    assert metrics["slave/cpus_total"] == 2.0 and metrics["slave/mem_total"] == 1024.0
    assert metrics["slave/cpus_used"] == 0.1 and metrics["slave/mem_used"] == 32.0
    assert metrics["slave/cpus_percent"] == 0.05
    assert eventually(lambda: get_json(agent, "/metrics/snapshot")[
        "slave/executors_running"] == 1)

    status, content_type, text = get(agent, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    lines = text.decode().splitlines()
    assert "# TYPE slave_tasks_running gauge" in lines and "slave_tasks_running 1.0" in lines
    assert all(len(line.split(" ")) == 2 for line in lines if not line.startswith("#"))
    assert state(agent)["start_time"] == body["start_time"]
