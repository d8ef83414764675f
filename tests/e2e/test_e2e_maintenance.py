"""End to end: maintenance of an agent's machine with real processes (master on its
sqlite registry, an agent, a framework driver in this process).

A task runs on the agent; the operator posts a schedule for the agent's machine (matched
by the agent's ``--hostname``, case-insensitively, and its ip): the framework gets an
inverse offer and its offers of that agent carry the unavailability; it accepts, and
``/maintenance/status`` shows ACCEPT. ``/machine/down``: the agent is shut down and gone
from ``/master/state``, the task is TASK_LOST. ``/machine/up``: a restarted agent on that
machine registers again. Last, a master restarted on the same work_dir (a failover onto
the sqlite registry) still has the schedule and the DOWN machine.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from typing import Any

from actors.messages import Filters, TaskState
from tests.e2e.conftest import LocalCluster, Node
from tests.e2e.harness import WAIT, command_task, framework

START_NS = 2_000_000_000 * 10**9
HOUR_NS = 3600 * 10**9


def _http(master: Node, path: str, body: Any = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{master.http}{path}", data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _json(master: Node, path: str) -> Any:
    status, body = _http(master, path)
    assert status == 200, (path, status, body)
    return json.loads(body)


def _until(what: str, check: Any, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _window(machine: dict[str, str]) -> dict[str, Any]:
    return {"machine_ids": [machine], "unavailability": {
        "start": {"nanoseconds": START_NS}, "duration": {"nanoseconds": HOUR_NS}}}


def test_drain_down_and_up_an_agents_machine(cluster: LocalCluster) -> None:
    master = cluster.master("--allocation_interval=100ms")
    agent = cluster.agent(master, "cpus:2;mem:1024", "--hostname=Maint-Host")
    machine = {"hostname": "maint-host", "ip": agent.address.split(":")[0]}
    with framework(master.address, "maintenance") as (driver, sched):
        offer = sched.wait("offer")
        driver.launch_tasks([offer.id], [command_task("t1", offer, "sleep 300")])
        sched.wait_state("t1", TaskState.TASK_RUNNING)

        assert _http(master, "/maintenance/schedule", {"windows": [_window(
            {"hostname": "Maint-Host", "ip": machine["ip"]})]}) == (200, b"")
        assert _json(master, "/maintenance/schedule") == {"windows": [_window(machine)]}
        inverse = sched.wait("inverse_offer")
        assert inverse.agent_id == offer.agent_id
        assert inverse.unavailability.start == START_NS
        assert inverse.unavailability.duration == HOUR_NS

        def unavailable_offer() -> Any:
            got = sched.wait("offer")
            if got.unavailability is None:  # made before the schedule: decline, retry
                driver.decline_offer(got.id, Filters(refuse_seconds=0.1))
                return None
            return got

        drained = _until("an offer with unavailability", unavailable_offer)
        assert drained.unavailability.start == START_NS
        driver.decline_offer(drained.id, Filters(refuse_seconds=60))

        driver.accept_inverse_offers([inverse.id])

        def statuses() -> Any:
            machines = _json(master, "/maintenance/status").get("draining_machines", [])
            return [s["status"] for m in machines for s in m.get("statuses", [])
                    if s["status"] != "UNKNOWN"]

        assert _until("the ACCEPT in /maintenance/status", statuses) == ["ACCEPT"]
        (entry,) = _json(master, "/maintenance/status")["draining_machines"]
        assert entry["id"] == machine

        assert _http(master, "/machine/down", [machine]) == (200, b"")
        lost = sched.wait_state("t1", TaskState.TASK_LOST)
        assert lost.agent_id == offer.agent_id
        _until("the agent gone from /master/state",
               lambda: _json(master, "/master/state")["agents"] == [])
        assert agent.proc.wait(WAIT) is not None  # told to shut down, it exits
        assert _json(master, "/maintenance/status") == {"down_machines": [machine]}

        assert _http(master, "/machine/up", [machine]) == (200, b"")
        assert _json(master, "/maintenance/status") == {}
        cluster.agent(master, "cpus:2;mem:1024", "--hostname=maint-host")
        back = _until("the agent registered again",
                      lambda: _json(master, "/master/state")["agents"])
        assert back[0]["hostname"] == "maint-host"

    # A failover onto the same sqlite registry keeps the schedule and the modes.
    other = {"hostname": "elsewhere", "ip": "10.1.2.3"}
    assert _http(master, "/maintenance/schedule", {"windows": [_window(other)]})[0] == 200
    assert _http(master, "/machine/down", [other])[0] == 200
    master.kill(signal.SIGTERM)
    again = cluster.master("--allocation_interval=100ms", name="master")
    _until("the new master's registry recovered",  # 503 until it is
           lambda: _http(again, "/maintenance/schedule")[0] == 200)
    assert _json(again, "/maintenance/schedule") == {"windows": [_window(other)]}
    assert _json(again, "/maintenance/status") == {"down_machines": [other]}
