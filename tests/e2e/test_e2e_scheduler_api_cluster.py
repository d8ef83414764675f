"""The v1 scheduler HTTP API in a cluster: HA redirects and sharing with native frameworks.

With two masters in a real ZooKeeper the standby answers ``307`` with the leader's
``Location`` and a plain HTTP client follows it; a master that knows no leader answers
``503``. A native framework (``SchedulerDriver``) and an HTTP one share a cluster: one
allocator, DRF between them, both in ``/master/state`` and the metrics.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from typing import Any

from kazoo.client import KazooClient

from actors.messages import Filters
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import command_task as native_task
from tests.e2e.harness import framework
from tests.e2e.test_e2e_scheduler_api import FAST, SUBSCRIBE, eventually, info, state
from tests.e2e.v1_client import WAIT, Subscription, command_task, launch, post


def _elected(master: Node) -> bool:
    with urllib.request.urlopen(f"{master.http}/master/state", timeout=WAIT) as reply:
        return bool(json.load(reply).get("elected"))


def test_a_standby_master_redirects_to_the_leader_and_the_client_follows(
        cluster: LocalCluster, zookeeper: str, zk_path: str) -> None:
    zk = f"zk://{zookeeper}{zk_path}"
    flags = (*FAST, f"--zk={zk}")
    first = cluster.master(*flags, name="master1")
    second = cluster.master(*flags, name="master2")
    cluster.agent(zk)
    assert eventually(lambda: _elected(first) or _elected(second))
    leader, standby = (first, second) if _elected(first) else (second, first)
    leader_port = leader.http.rsplit(":", 1)[1]

    # The standby may need a moment to detect the leader (503 until then).
    def redirected() -> bool:
        return post(standby.http, SUBSCRIBE, {"Accept": "application/json"})[0] == 307
    assert eventually(redirected)
    code, headers, _ = post(standby.http, SUBSCRIBE, {"Accept": "application/json"})
    location = headers["Location"]
    assert code == 307 and location.startswith("//") and location.endswith(
        f":{leader_port}/api/v1/scheduler")
    host_port = location[2:].split("/", 1)[0]
    sub = Subscription(f"http://{host_port}", info())
    try:
        assert sub.status == 200 and sub.framework_id
        offer = sub.offers()[0]
        launch(sub, offer, command_task("ha", offer, "sleep 300"))
        sub.follow("ha", "TASK_RUNNING")
        # Calls to the standby are redirected too.
        code, headers, _ = post(standby.http, {"type": "REVIVE", "framework_id": {
            "value": sub.framework_id}}, {"Mesos-Stream-Id": sub.stream_id})
        assert code == 307 and headers["Location"] == location
    finally:
        sub.close()


def test_a_master_that_knows_no_leader_answers_503(
        cluster: LocalCluster, zookeeper: str, zk_path: str) -> None:
    # The first candidacy in ZooKeeper is one nobody can read: the master is not elected
    # and its detector knows no leader.
    client = KazooClient(hosts=zookeeper, timeout=10.0)
    client.start(timeout=WAIT)
    try:
        client.create(f"{zk_path}/json.info_", b"not a MasterInfo", ephemeral=True,
                      sequence=True, makepath=True)
        lonely = cluster.master(*FAST, f"--zk=zk://{zookeeper}{zk_path}")

        def unavailable() -> bool:
            code, _, body = post(lonely.http, SUBSCRIBE, {"Accept": "application/json"})
            return code == 503 and b"No leader" in body
        assert eventually(unavailable)
        assert not _elected(lonely)
    finally:
        client.stop()
        client.close()


def _cpus(master: Node, framework_id: str) -> float:
    return float(next(f for f in state(master)["frameworks"]
                      if f["id"] == framework_id)["used_resources"]["cpus"])


def test_native_and_http_frameworks_share_the_cluster_under_drf(cluster: LocalCluster) -> None:
    master = cluster.master(*FAST)
    cluster.agent(master, "cpus:8;mem:4096;disk:1024;ports:[31000-31100]")
    with framework(master.address, "native") as (driver, native), \
            contextlib.closing(Subscription(master.http, info("http"))) as sub:
        launched = {"native": 0, "http": 0}
        deadline = time.monotonic() + WAIT
        # Both want everything: each launches one 1-cpu task per offer and declines the
        # rest briefly, so the allocator decides, by DRF, who gets the next cpu.
        while sum(launched.values()) < 8 and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                offer = native.wait("offer", timeout=0.2)
                if offer.resources.scalars().get("cpus", 0.0) >= 1:
                    n = launched["native"] = launched["native"] + 1
                    task = native_task(f"n{n}", offer, "sleep 300", "cpus:1;mem:32")
                    driver.launch_tasks([offer.id], [task], Filters(refuse_seconds=0.1))
                else:
                    driver.decline_offer(offer.id, Filters(refuse_seconds=0.1))
            with contextlib.suppress(TimeoutError):
                for offer in sub.offers(timeout=0.2):
                    cpus = next(r["scalar"]["value"] for r in offer["resources"]
                                if r["name"] == "cpus")
                    if cpus >= 1:
                        n = launched["http"] = launched["http"] + 1
                        launch(sub, offer, command_task(f"h{n}", offer, "sleep 300", cpus=1),
                               refuse_seconds=0.1)
                    else:
                        assert sub.call("DECLINE", {"offer_ids": [offer["id"]], "filters": {
                            "refuse_seconds": 0.1}})[0] == 202
        assert sum(launched.values()) == 8, launched
        assert min(launched.values()) >= 3, launched  # roughly equal shares
        frameworks: list[dict[str, Any]] = state(master)["frameworks"]
        by_name = {f["name"]: f for f in frameworks}
        assert set(by_name) == {"native", "http"}
        assert "pid" in by_name["native"] and "pid" not in by_name["http"]
        assert eventually(lambda: _cpus(master, sub.framework_id) == launched["http"])
        with urllib.request.urlopen(f"{master.http}/metrics/snapshot", timeout=WAIT) as resp:
            metrics = json.loads(resp.read())
        assert metrics["master/frameworks_active"] == 2
        assert metrics["master/frameworks_connected"] == 2
