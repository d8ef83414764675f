"""The master's HTTP routes over a real node: the endpoints answer, teardown removes a
framework (its scheduler, agents and tasks all hear of it), metrics include the
allocator's published snapshot."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from master_harness import Cluster, offer_of

from actors.master.config import MasterConfig
from actors.messages import (
    AcceptOffers,
    CommandInfo,
    FrameworkError,
    RunTask,
    ShutdownFramework,
    TaskInfo,
    launch,
)
from actors.resources import Resources

WAIT_HTTP = 20.0


@pytest.fixture(autouse=True)
def _delegate(cluster: Cluster) -> None:
    cluster.node.http_delegate = "master"  # as meseta-master does: /state, /metrics...


def get(cluster: Cluster, path: str) -> tuple[int, str, bytes]:
    url = f"http://127.0.0.1:{cluster.node.http_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=WAIT_HTTP) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def get_json(cluster: Cluster, path: str) -> Any:
    status, _, body = get(cluster, path)
    assert status == 200, (path, status, body)
    return json.loads(body)


def post(cluster: Cluster, path: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{cluster.node.http_port}{path}",
                                     data=body, method="POST", headers={
                                         "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_HTTP) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def running_task(cluster: Cluster) -> tuple[Any, Any]:
    agent = cluster.agent()
    fw = cluster.framework()
    offer = offer_of(fw)
    fw.tell(AcceptOffers(framework_id=fw.id, offer_ids=(offer.id,), operations=(launch(
        TaskInfo(name="t1", task_id="t1", agent_id=agent.id,
                 resources=Resources.parse("cpus:1;mem:128"),
                 command=CommandInfo(value="sleep 100"))),)))
    agent.expect(RunTask)
    return agent, fw


def test_every_json_endpoint_answers_under_master_and_at_the_root(cluster: Cluster) -> None:
    agent, fw = running_task(cluster)
    for path, key in (("/state", "frameworks"), ("/state-summary", "agents"),
                      ("/tasks", "tasks"), ("/frameworks", "frameworks"),
                      ("/agents", "agents"), ("/slaves", "slaves"), ("/roles", "roles"),
                      ("/flags", "flags"), ("/metrics/snapshot", "master/elected")):
        assert key in get_json(cluster, "/master" + path), path
        assert key in get_json(cluster, path), path
    (listed,) = get_json(cluster, f"/master/tasks?framework_id={fw.id}&order=asc")["tasks"]
    assert (listed["id"], listed["agent_id"]) == ("t1", agent.id)
    assert get(cluster, "/master/tasks?order=sideways")[0] == 400
    assert get(cluster, "/master/tasks?limit=x")[0] == 400
    (only,) = get_json(cluster, f"/master/slaves?slave_id={agent.id}")["slaves"]
    assert only["used_resources"]["cpus"] == 1.0


def test_metrics_snapshot_and_prometheus_text(cluster: Cluster) -> None:
    running_task(cluster)
    cluster.advance(1.0)  # an allocation tick: the allocator publishes its metrics
    snapshot = get_json(cluster, "/metrics/snapshot")
    assert snapshot["master/tasks_staging"] == 1 and snapshot["master/cpus_used"] == 1.0
    assert snapshot["master/agents_active"] == 1 and snapshot["master/elected"] == 1
    assert snapshot["master/messages_accept_offers"] == 1
    assert snapshot["master/messages_register_framework"] == 1
    assert snapshot["allocator/mesos/allocation_runs"] >= 1
    assert "allocator/mesos/resources/cpus/total" in snapshot
    status, content_type, body = get(cluster, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    lines = body.decode().splitlines()
    assert "master_tasks_staging 1.0" in lines
    assert "# TYPE master_messages_accept_offers counter" in lines
    values = [line.split(" ") for line in lines if not line.startswith("#")]
    assert values and all(len(v) == 2 and float(v[1]) >= 0 for v in values)


def test_teardown_removes_the_framework_and_ends_its_tasks(cluster: Cluster) -> None:
    agent, fw = running_task(cluster)
    assert get(cluster, "/master/teardown")[0] == 405
    assert post(cluster, "/master/teardown", b"")[0] == 400
    assert post(cluster, "/master/teardown", b"frameworkId=nope")[0] == 400
    assert post(cluster, "/master/teardown", f"frameworkId={fw.id}".encode())[0] == 200
    assert agent.expect(ShutdownFramework).framework_id == fw.id
    assert "removed" in fw.expect(FrameworkError).message
    state = get_json(cluster, "/master/state")
    assert state["frameworks"] == []
    (done,) = state["completed_frameworks"]
    assert done["id"] == fw.id and done["active"] is False
    assert [(t["id"], t["state"]) for t in done["completed_tasks"]] == [("t1", "TASK_KILLED")]
    assert get_json(cluster, "/metrics/snapshot")["master/cpus_used"] == 0.0
    assert post(cluster, "/master/teardown", f"frameworkId={fw.id}".encode())[0] == 400


@pytest.mark.parametrize("master_config", [MasterConfig(zk="zk://127.0.0.1:1/meseta")])
def test_a_non_leading_master_is_unhealthy_and_not_elected_in_metrics(
        cluster: Cluster) -> None:
    assert get(cluster, "/master/health")[0] == 503
    assert get_json(cluster, "/metrics/snapshot")["master/elected"] == 0
    assert post(cluster, "/master/teardown", b"frameworkId=x")[0] == 503  # no leader known
