"""The service framework against a real cluster: real master, agents, tasks, framework process.

Each test starts ``python -m frameworks.service run`` as an OS process of its own (in the
cluster's node list, so teardown kills it), drives it through its HTTP API and checks
what the master says (``/master/frameworks``): instances kept running, replaced when
killed, scaled, rolled over to a new version, spread by constraints, offers suppressed
when nothing is wanted, and tasks adopted by a restarted framework.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from frameworks.service import cli
from tests.e2e.conftest import LocalCluster, Node

pytestmark = pytest.mark.slow

WAIT = 90.0


def start_service(cluster: LocalCluster, master: Node, apps: list[dict[str, Any]],
                  state_dir: Path, *flags: str, name: str = "service") -> Node:
    """``python -m frameworks.service run``; its Node's ``pid`` is the framework id."""
    apps_file = cluster.tmp / f"{name}-apps.json"
    apps_file.write_text(json.dumps(apps))
    return cluster.process(name, [
        sys.executable, "-m", "frameworks.service", "run", f"--master={master.address}",
        f"--apps={apps_file}", "--http_port=0", f"--state_dir={state_dir}",
        "--log_level=info", *flags], "service: registered ")


def call(url: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def framework(master: Node, framework_id: str) -> dict[str, Any]:
    data = call(f"{master.http}/master/frameworks?framework_id={framework_id}")
    for f in data["frameworks"]:
        if f["id"] == framework_id:
            return dict(f)
    raise AssertionError(f"master does not know framework {framework_id}")


def master_running(master: Node, framework_id: str) -> set[str]:
    return {t["id"] for t in framework(master, framework_id)["tasks"]
            if t["state"] == "TASK_RUNNING"}


def running(service: Node, app_id: str) -> list[dict[str, Any]]:
    tasks = call(f"{service.http}/v2/apps/{app_id}/tasks")["tasks"]
    return [t for t in tasks if t["state"] == "TASK_RUNNING" and not t["killing"]]


def n_running(service: Node, app_id: str, n: int) -> Callable[[], list[dict[str, Any]]]:
    def check() -> list[dict[str, Any]]:
        tasks = call(f"{service.http}/v2/apps/{app_id}/tasks")["tasks"]
        up = [t for t in tasks if t["state"] == "TASK_RUNNING" and not t["killing"]]
        return up if len(up) == n and len(tasks) == n else []
    return check


def suppressed(master: Node, framework_id: str) -> Callable[[], bool]:
    return lambda: bool(framework(master, framework_id)["suppressed_roles"])


def sleeper(instances: int, **extra: Any) -> dict[str, Any]:
    return {"id": "sleeper", "cmd": "sleep 1001", "instances": instances, "cpus": 0.1,
            "mem": 16, "backoffSeconds": 0.5, **extra}


def test_service_spreads_unique_instances_replaces_a_killed_one_and_suppresses(
        cluster: LocalCluster) -> None:
    master = cluster.master()
    agents = [cluster.agent(master, "cpus:2;mem:1024;ports:[31000-31100]",
                            f"--hostname=host{i}") for i in (1, 2)]
    service = start_service(cluster, master, [sleeper(
        2, ports=1, constraints=[["hostname", "UNIQUE"]])], cluster.tmp / "state")
    first = wait_for("2 instances", n_running(service, "sleeper", 2))
    assert {t["host"] for t in first} == {"host1", "host2"}
    assert len({t["agentId"] for t in first}) == 2
    assert master_running(master, service.pid) == {t["id"] for t in first}
    wait_for("offers suppressed", suppressed(master, service.pid))

    victims = [p for a in agents for p in psutil.Process(a.proc.pid).children(recursive=True)
               if p.name() == "sleep" and "1001" in p.cmdline()]
    assert len(victims) == 2
    victims[0].kill()
    old_ids = {t["id"] for t in first}

    def replaced() -> list[dict[str, Any]]:
        up = n_running(service, "sleeper", 2)()
        return up if up and {t["id"] for t in up} != old_ids else []

    second = wait_for("a replacement instance", replaced)
    assert len({t["id"] for t in second} & old_ids) == 1
    assert {t["host"] for t in second} == {"host1", "host2"}
    assert all(t["ports"] and 31000 <= t["ports"][0] <= 31100 for t in second)
    wait_for("offers suppressed again", suppressed(master, service.pid))
    assert master_running(master, service.pid) == {t["id"] for t in second}


def test_service_scales_up_and_down_and_rolls_a_restart_over(cluster: LocalCluster) -> None:
    master = cluster.master()
    cluster.agent(master, "cpus:2;mem:1024;ports:[31000-31100]")
    service = start_service(cluster, master, [sleeper(1)], cluster.tmp / "state",
                            "--role=services")
    assert framework(master, service.pid)["roles"] == ["services"]
    app_url = f"{service.http}/v2/apps/sleeper"
    (original,) = wait_for("1 instance", n_running(service, "sleeper", 1))

    out = io.StringIO()
    assert cli.client("scale", ["sleeper", "3", f"--url={service.http}"], out) == 0
    assert out.getvalue().startswith("version ")
    three = wait_for("3 instances", n_running(service, "sleeper", 3))
    assert original["id"] in {t["id"] for t in three}
    assert call(app_url)["app"]["version"] == original["version"]  # a scale keeps it
    out = io.StringIO()
    assert cli.client("apps", [f"--url={service.http}"], out) == 0
    assert out.getvalue().splitlines()[1].split()[:4] == ["/sleeper", "3", "3", "3"]

    call(app_url, "PUT", {"instances": 2})
    two = wait_for("2 instances", n_running(service, "sleeper", 2))
    newest = max(three, key=lambda t: (t["launchedAt"], t["id"]))  # newest goes first
    assert newest["id"] not in {t["id"] for t in two}
    assert original["id"] in {t["id"] for t in two}

    version = call(f"{app_url}/restart", "POST")["version"]
    assert version != original["version"]

    def rolled() -> list[dict[str, Any]]:
        up = n_running(service, "sleeper", 2)()
        return up if up and all(t["version"] == version for t in up) else []

    after = wait_for("all instances on the new version", rolled)
    assert not {t["id"] for t in after} & {t["id"] for t in two}
    states = {t["id"]: t["state"] for t in framework(master, service.pid)["completed_tasks"]}
    assert all(states.get(t["id"]) == "TASK_KILLED" for t in two), states
    assert master_running(master, service.pid) == {t["id"] for t in after}

    os.killpg(service.proc.pid, signal.SIGTERM)  # a stop with failover: the tasks stay
    assert service.proc.wait(60) == 0
    wait_for("the framework disconnected",
             lambda: not framework(master, service.pid)["connected"])
    assert master_running(master, service.pid) == {t["id"] for t in after}


def test_a_restarted_service_adopts_its_tasks_without_duplicates(
        cluster: LocalCluster) -> None:
    master = cluster.master()
    cluster.agent(master, "cpus:2;mem:1024;ports:[31000-31100]")
    state_dir = cluster.tmp / "state"
    service = start_service(cluster, master, [sleeper(2)], state_dir)
    before = {t["id"] for t in wait_for("2 instances", n_running(service, "sleeper", 2))}

    os.killpg(service.proc.pid, signal.SIGKILL)
    service.proc.wait(30)
    again = start_service(cluster, master, [sleeper(2)], state_dir, name="service2")
    assert again.pid == service.pid  # the same framework id

    after = {t["id"] for t in wait_for("2 adopted instances", n_running(again, "sleeper", 2))}
    assert after == before
    wait_for("offers suppressed", suppressed(master, again.pid))
    assert master_running(master, again.pid) == before
    assert len(framework(master, again.pid)["tasks"]) == 2


def test_the_service_reconciles_periodically_and_keeps_its_instances(
        cluster: LocalCluster) -> None:
    master = cluster.master()
    cluster.agent(master, "cpus:2;mem:1024;ports:[31000-31100]")

    def reconciliations() -> int:
        metrics = call(f"{master.http}/metrics/snapshot")
        return int(metrics.get("master/messages_reconcile_tasks", 0))

    service = start_service(cluster, master, [sleeper(1)], cluster.tmp / "state",
                            "--reconciliation_initial_delay=500",
                            "--reconciliation_interval=1000")
    (task,) = wait_for("1 instance", n_running(service, "sleeper", 1))
    wait_for("offers suppressed", suppressed(master, service.pid))
    # Registration sends 2 or 3 (known tasks, implicit, the marker); each period 2 more.
    start = reconciliations()
    wait_for("four periodic reconciliations", lambda: reconciliations() >= start + 8)
    # Answers about a healthy task change nothing: the same instance, nothing relaunched.
    assert [t["id"] for t in running(service, "sleeper")] == [task["id"]]
    assert master_running(master, service.pid) == {task["id"]}
    assert framework(master, service.pid)["completed_tasks"] == []


def test_a_health_checked_app_is_ready_only_when_healthy_and_rolls_over_healthy(
        cluster: LocalCluster) -> None:
    master = cluster.master()
    cluster.agent(master, "cpus:2;mem:1024;ports:[31000-31100]")
    web = {"id": "web", "cmd": f"{sys.executable} -m http.server $PORT0 --bind 127.0.0.1",
           "instances": 1, "cpus": 0.1, "mem": 32, "ports": 1,
           "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0,
                             "gracePeriodSeconds": 30, "intervalSeconds": 1,
                             "timeoutSeconds": 5, "maxConsecutiveFailures": 3}]}
    service = start_service(cluster, master, [web], cluster.tmp / "state")
    app_url = f"{service.http}/v2/apps/web"

    def healthy(version: str = "") -> Callable[[], list[dict[str, Any]]]:
        def check() -> list[dict[str, Any]]:
            tasks = call(f"{app_url}/tasks")["tasks"]
            ok = [t for t in tasks if t["healthy"] is True and not t["killing"]
                  and (not version or t["version"] == version)]
            return ok if len(ok) == len(tasks) == 1 else []
        return check

    (first,) = wait_for("a healthy instance", healthy())
    with urllib.request.urlopen(f"http://127.0.0.1:{first['ports'][0]}/", timeout=30) as r:
        assert r.status == 200  # it serves on the port it was given as $PORT0
    assert call(app_url)["app"]["tasksHealthy"] == 1
    version = call(f"{app_url}/restart", "POST")["version"]
    (second,) = wait_for("a healthy new-version instance", healthy(version))
    assert second["id"] != first["id"]
    states = {t["id"]: t["state"] for t in framework(master, service.pid)["completed_tasks"]}
    assert states.get(first["id"]) == "TASK_KILLED"
