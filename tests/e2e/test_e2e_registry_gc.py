"""The registry GC with real processes: a killed agent is pruned, and stays pruned.

A ``meseta-master`` on its default sqlite registry with short flags (pings every 300 ms, two
missed ones remove an agent, GC every second of what is 3 seconds old) and two
``meseta-agent`` processes; one is SIGKILLed. It becomes unreachable (``/metrics/snapshot``
``master/agents_unreachable`` is 1, the registry file holds it) and, 3 to 4 seconds later,
is garbage-collected (back to 0, gone from the file); the master restarted on the same
work_dir recovers a registry without it, and the live agent is still admitted.
"""

from __future__ import annotations

import signal
from typing import Any

from actors.registry import decode_registry
from actors.registry.sqlite import SqliteStorage
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.faults import http, state, wait_for
from tests.zk_helpers import free_port

WAIT = 60.0
FLAGS = ("--agent_ping_timeout=300ms", "--max_agent_ping_timeouts=2",
         "--registry_gc_interval=1secs", "--registry_max_agent_age=3secs")
AGENT_FLAGS = ("--registration_backoff_factor=100ms",)
RESOURCES = "cpus:1;mem:512"


def metric(master: Node, name: str) -> float:
    status, body = http(f"{master.http}/metrics/snapshot")
    assert status == 200, body
    return float(body[name])


def stored(cluster: LocalCluster) -> Any:
    storage = SqliteStorage(cluster.tmp / "master" / "registry.db")
    try:
        data, _ = storage.get("registry")
        assert data is not None
        return decode_registry(data)
    finally:
        storage.close()


def test_a_killed_agent_is_pruned_from_the_registry_and_stays_pruned(
        cluster: LocalCluster) -> None:
    port = free_port()  # the restarted master must answer where the live agent looks
    master = cluster.master(*FLAGS, f"--port={port}")
    doomed = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    alive = cluster.agent(master, RESOURCES, *AGENT_FLAGS)
    ids = wait_for(lambda: [a["id"] for a in state(master)["slaves"]]
                   if len(state(master)["slaves"]) == 2 else None, WAIT, "two agents")
    doomed_id = next(a["id"] for a in state(master)["slaves"] if a["pid"] == doomed.pid)
    alive_id = next(i for i in ids if i != doomed_id)

    doomed.kill(signal.SIGKILL)
    wait_for(lambda: metric(master, "master/agents_unreachable") == 1, WAIT,
             "the killed agent unreachable")
    assert doomed_id in stored(cluster).unreachable  # durable before the books had it
    wait_for(lambda: metric(master, "master/agents_unreachable") == 0, WAIT,
             "the unreachable agent garbage-collected")
    assert state(master)["unreachable_agents"] == 0
    registry = stored(cluster)
    assert registry.unreachable == {} and list(registry.agents) == [alive_id]
    assert "registry garbage collected" in master.log.read_text(errors="replace")

    master.kill(signal.SIGTERM)
    again = cluster.master(*FLAGS, f"--port={port}")
    assert metric(again, "master/agents_unreachable") == 0
    wait_for(lambda: [a["id"] for a in state(again)["slaves"]] == [alive_id], WAIT,
             "the live agent re-registered with the restarted master")
    assert state(again)["unreachable_agents"] == 0
    assert alive.proc.poll() is None
    registry = stored(cluster)
    assert registry.unreachable == {} and list(registry.agents) == [alive_id]
