"""Maintenance on the master (actor harness over a real node's HTTP, a real ``Registrar``
on a ``MemoryStorage``, a ``ManualClock``): the endpoints answer as Mesos' do; a schedule
puts unavailability in offers and sends inverse offers, whose answers show in
``/maintenance/status`` and hold further ones for ``refuse_seconds``; ``/machine/down``
removes the machine's agents (tasks lost) and refuses them until ``/machine/up``; a new
master recovering the same registry has the schedule and the modes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from master_harness import Cluster, Peer, offer_of

from actors.master.config import MasterConfig
from actors.messages import (
    AcceptInverseOffers,
    AcceptOffers,
    AgentInfo,
    AgentRegistered,
    CommandInfo,
    DeclineInverseOffers,
    Filters,
    FrameworkInfo,
    FrameworkReregistered,
    LostAgent,
    RegisterAgent,
    ReregisterFramework,
    RescindResourceOffer,
    ResourceOffers,
    RunTask,
    Shutdown,
    StatusUpdate,
    TaskInfo,
    TaskState,
    launch,
)
from actors.registry import MemoryStorage, Registrar, decode_registry
from actors.resources import Resources
from transport import ManualClock, Node

WAIT_HTTP = 20.0
START = 1_700_000_000 * 10**9
MACHINE = {"hostname": "host1", "ip": "127.0.0.1"}
SCHEDULE = {"windows": [{"machine_ids": [MACHINE], "unavailability": {
    "start": {"nanoseconds": START}, "duration": {"nanoseconds": 3600 * 10**9}}}]}


def start(storage: MemoryStorage) -> Generator[Cluster, None, None]:
    clock = ManualClock()
    node = Node(clock=clock, http_port=0).start()
    node.http_delegate = "master"
    try:
        cluster = Cluster(node, clock, MasterConfig(), Registrar(storage, clock))
        cluster.settle()
        yield cluster
    finally:
        node.stop()


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def cluster(storage: MemoryStorage) -> Iterator[Cluster]:
    yield from start(storage)


def http(cluster: Cluster, path: str, body: Any = None) -> tuple[int, bytes]:
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(
        body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{cluster.node.http_port}{path}",
                                     data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_HTTP) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def ok_json(cluster: Cluster, path: str) -> Any:
    status, body = http(cluster, path)
    assert status == 200, (path, status, body)
    return json.loads(body)


def running_task(cluster: Cluster) -> tuple[Peer, Peer]:
    agent = cluster.agent()
    fw = cluster.framework()
    offer = offer_of(fw)
    fw.tell(AcceptOffers(framework_id=fw.id, offer_ids=(offer.id,), operations=(launch(
        TaskInfo(name="t1", task_id="t1", agent_id=agent.id,
                 resources=Resources.parse("cpus:1;mem:128"),
                 command=CommandInfo(value="sleep 100"))),)))
    agent.expect(RunTask)
    return agent, fw


def inverse_offers_of(fw: Peer) -> Any:
    while True:
        msg = fw.expect(ResourceOffers)
        if msg.inverse_offers:
            return msg.inverse_offers


def test_schedule_endpoint_validates_and_keeps_the_schedule(cluster: Cluster,
                                                            storage: MemoryStorage) -> None:
    assert ok_json(cluster, "/master/maintenance/schedule") == {}
    assert http(cluster, "/maintenance/schedule", b"{nope")[0] == 400
    status, body = http(cluster, "/maintenance/schedule", {"windows": [
        {"machine_ids": [MACHINE], "unavailability": {"start": {"nanoseconds": 1}}},
        {"machine_ids": [{"hostname": "HOST1", "ip": "127.0.0.1"}],
         "unavailability": {"start": {"nanoseconds": 2}}}]})
    assert status == 400 and b"appears more than once" in body
    assert http(cluster, "/maintenance/schedule", SCHEDULE) == (200, b"")
    assert ok_json(cluster, "/maintenance/schedule") == SCHEDULE
    registry, _ = storage.get("registry")
    assert registry is not None and decode_registry(registry).schedule.windows
    assert ok_json(cluster, "/maintenance/status") == {
        "draining_machines": [{"id": MACHINE}]}
    assert http(cluster, "/machine/up", [MACHINE])[0] == 400  # DRAINING, not DOWN
    assert http(cluster, "/machine/down", [{"hostname": "other"}])[0] == 400
    assert http(cluster, "/machine/down", [])[0] == 400
    assert http(cluster, "/maintenance/status", b"[]")[0] == 405


def test_draining_agent_offers_carry_unavailability_and_users_get_inverse_offers(
        cluster: Cluster) -> None:
    agent, fw = running_task(cluster)
    assert http(cluster, "/maintenance/schedule", SCHEDULE)[0] == 200
    (inverse,) = inverse_offers_of(fw)
    assert inverse.agent_id == agent.id and inverse.framework_id == fw.id
    assert inverse.unavailability.start == START
    cluster.advance(6.0)  # past the accept's filter: what is left, with the unavailability
    offer = offer_of(fw)
    assert offer.unavailability is not None and offer.unavailability.start == START
    status = ok_json(cluster, "/maintenance/status")
    assert status["draining_machines"][0]["statuses"][0]["status"] == "UNKNOWN"

    fw.tell(AcceptInverseOffers(framework_id=fw.id, inverse_offer_ids=(inverse.id,),
                                filters=Filters(refuse_seconds=30.0)))
    cluster.settle()
    (entry,) = ok_json(cluster, "/maintenance/status")["draining_machines"]
    assert [(s["status"], s["framework_id"]["value"]) for s in entry["statuses"]] == [
        ("ACCEPT", fw.id)]
    cluster.advance(10.0)  # the filter holds: no new inverse offer
    assert all(not m.inverse_offers for m in fw.drain(ResourceOffers))
    cluster.advance(25.0)
    (again,) = inverse_offers_of(fw)
    fw.tell(DeclineInverseOffers(framework_id=fw.id, inverse_offer_ids=(again.id,)))
    cluster.settle()
    (entry,) = ok_json(cluster, "/maintenance/status")["draining_machines"]
    assert entry["statuses"][0]["status"] == "DECLINE"


def test_a_new_schedule_rescinds_offers_so_they_come_back_with_unavailability(
        cluster: Cluster) -> None:
    cluster.agent()
    fw = cluster.framework()
    before = offer_of(fw)
    assert before.unavailability is None
    assert http(cluster, "/maintenance/schedule", SCHEDULE)[0] == 200
    assert fw.expect(RescindResourceOffer).offer_id == before.id
    cluster.advance(1.0)
    assert offer_of(fw).unavailability is not None


def test_machine_down_removes_its_agents_and_refuses_them_until_up(
        cluster: Cluster) -> None:
    agent, fw = running_task(cluster)
    assert http(cluster, "/maintenance/schedule", SCHEDULE)[0] == 200
    assert http(cluster, "/machine/down", [MACHINE]) == (200, b"")
    assert "Machine DOWN" in agent.expect(Shutdown).message
    update = fw.expect(StatusUpdate).update
    assert (update.status.task_id, update.status.state) == ("t1", TaskState.TASK_LOST)
    assert fw.expect(LostAgent).agent_id == agent.id
    assert ok_json(cluster, "/master/state")["agents"] == []
    assert ok_json(cluster, "/maintenance/status") == {"down_machines": [MACHINE]}
    status, body = http(cluster, "/maintenance/schedule", {"windows": []})
    assert status == 400 and b"cannot be removed from the schedule" in body

    again = cluster.agent(register=False)
    again.tell(RegisterAgent(agent_info=AgentInfo(hostname="HOST1",
                                                  resources=Resources.parse("cpus:1"))))
    assert again.expect(Shutdown).message == "Machine is `DOWN`"
    assert again.nothing(AgentRegistered)

    assert http(cluster, "/machine/up", [MACHINE]) == (200, b"")
    assert ok_json(cluster, "/maintenance/schedule") == {}
    assert ok_json(cluster, "/maintenance/status") == {}
    again.tell(RegisterAgent(agent_info=AgentInfo(hostname="host1",
                                                  resources=Resources.parse("cpus:1"))))
    assert again.expect(AgentRegistered).agent_id


def test_a_new_master_recovers_the_schedule_and_the_down_machines(
        storage: MemoryStorage) -> None:
    first = start(storage)
    cluster = next(first)
    assert http(cluster, "/maintenance/schedule", SCHEDULE)[0] == 200
    assert http(cluster, "/machine/down", [MACHINE])[0] == 200
    first.close()

    second = start(storage)
    cluster = next(second)
    try:
        assert ok_json(cluster, "/maintenance/schedule") == SCHEDULE
        assert ok_json(cluster, "/maintenance/status") == {"down_machines": [MACHINE]}
        agent = cluster.agent(register=False)
        agent.tell(RegisterAgent(agent_info=AgentInfo(hostname="host1",
                                                      resources=Resources.parse("cpus:1"))))
        assert agent.expect(Shutdown).message == "Machine is `DOWN`"
    finally:
        second.close()


def test_a_framework_that_reconnects_gets_a_new_inverse_offer(cluster: Cluster) -> None:
    agent = cluster.agent()
    fw = cluster.framework(failover_timeout=60.0)
    offer = offer_of(fw)
    fw.tell(AcceptOffers(framework_id=fw.id, offer_ids=(offer.id,), operations=(launch(
        TaskInfo(name="t1", task_id="t1", agent_id=agent.id,
                 resources=Resources.parse("cpus:1;mem:128"),
                 command=CommandInfo(value="sleep 100"))),)))
    agent.expect(RunTask)
    assert http(cluster, "/maintenance/schedule", SCHEDULE)[0] == 200
    (first,) = inverse_offers_of(fw)
    cluster.ask(lambda m: m.exited(fw.pid))  # its connection broke
    cluster.advance(1.0)
    assert cluster.ask(lambda m: dict(m.books.maintenance.inverse_offers)) == {}
    fw.tell(ReregisterFramework(framework_info=FrameworkInfo(
        user="alice", name="fw", id=fw.id, failover_timeout=60.0), failover=True))
    fw.expect(FrameworkReregistered)
    cluster.advance(1.0)
    (second,) = inverse_offers_of(fw)
    assert second.id != first.id and second.agent_id == agent.id
