"""The master and its registry: writes through the ``RegistrarWorker``, failover recovery.

Actor harness (``master_harness``) with a real ``Registrar`` on a ``MemoryStorage`` and a
``ManualClock``; the pure decisions (``agent_registry.registry_operation`` and
``overdue_recovered``, explicit reconciliation of recovered agents) are tested on bare
``Books`` too. What is proved: an agent hears it registered (or re-registered) only
once its operation is durable; operations queued together are one storage write; an
unregistering agent is removed from the registry and a changed AgentInfo is updated; after
a failover, recovered agents that do not re-register within ``agent_reregister_timeout``
are marked unreachable (and until then explicit reconciliation of their tasks gets no
answer); a master deposed in the registry (another recovered it) exits on its next write.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from master_harness import WAIT, Cluster

from actors.master import agent_registry
from actors.master.books import Books
from actors.master.config import MasterConfig
from actors.master.held import DEFAULT_WINDOW
from actors.master.reconciliation import reconcile
from actors.messages import (
    AgentInfo,
    AgentRegistered,
    AgentReregistered,
    FrameworkCapability,
    FrameworkInfo,
    FrameworkRegistered,
    LostAgent,
    MasterInfo,
    ReconcileTasks,
    RegisterAgent,
    RegisterFramework,
    ReregisterAgent,
    StatusUpdate,
    TaskState,
    TaskStatus,
    UnregisterAgent,
)
from actors.registry import (
    AdmitAgent,
    MarkAgentReachable,
    MemoryStorage,
    Registrar,
    UpdateAgentInfo,
)
from actors.resources import Resources
from transport import PID, ManualClock, Node

AWARE = (FrameworkCapability.PARTITION_AWARE,)
TIMEOUT = 60.0
CONFIG = MasterConfig(agent_reregister_timeout=TIMEOUT)


def info(agent_id: str = "", hostname: str = "host1", **kw: Any) -> AgentInfo:
    return AgentInfo(id=agent_id, hostname=hostname,
                     resources=Resources.parse("cpus:4;mem:4096"), **kw)


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


def start(storage: MemoryStorage, config: MasterConfig = CONFIG) -> Iterator[Cluster]:
    clock = ManualClock()
    node = Node(clock=clock, http_port=0).start()
    try:
        cluster = Cluster(node, clock, config, Registrar(storage, clock))
        cluster.settle()
        yield cluster
    finally:
        node.stop()


@pytest.fixture
def cluster(storage: MemoryStorage) -> Iterator[Cluster]:
    yield from start(storage)


def stored(storage: MemoryStorage) -> tuple[Any, int]:
    from actors.registry import decode_registry

    data, version = storage.get("registry")
    assert data is not None
    return decode_registry(data), version


# --- writes off the master's thread, acted on once durable -------------------------------


def test_an_agent_hears_it_registered_only_once_admitted(
        cluster: Cluster, storage: MemoryStorage) -> None:
    cluster.master_actor.hold_registry()  # as while ZooKeeper is SUSPENDED
    agent = cluster.agent(register=False)
    agent.tell(RegisterAgent(agent_info=info()))
    assert agent.nothing(AgentRegistered)
    assert stored(storage)[0].agents == {}
    assert cluster.ask(lambda m: dict(m.books.agents.registered)) == {}
    cluster.master_actor.release_registry()
    agent_id = agent.expect(AgentRegistered).agent_id
    registry, _ = stored(storage)
    assert list(registry.agents) == [agent_id]
    assert registry.agents[agent_id].hostname == "host1"


def test_registrations_queued_together_are_one_storage_write(
        cluster: Cluster, storage: MemoryStorage) -> None:
    _, before = stored(storage)
    cluster.master_actor.hold_registry()
    peers = [cluster.agent(register=False) for _ in range(20)]
    for i, peer in enumerate(peers):
        peer.tell(RegisterAgent(agent_info=info(hostname=f"h{i}")))
    cluster.settle()
    cluster.master_actor.release_registry()
    ids = {peer.expect(AgentRegistered).agent_id for peer in peers}
    registry, after = stored(storage)
    assert set(registry.agents) == ids and len(ids) == 20
    assert after == before + 1  # one write for the twenty admissions
    worker = cluster.master_actor.registry_worker
    assert worker is not None and worker.applied == 20


def test_an_unregistering_agent_is_removed_from_the_registry(
        cluster: Cluster, storage: MemoryStorage) -> None:
    agent = cluster.agent()
    assert list(stored(storage)[0].agents) == [agent.id]
    agent.tell(UnregisterAgent(agent_id=agent.id))
    cluster.settle()
    assert stored(storage)[0].agents == {}
    assert cluster.ask(lambda m: agent.id in m.books.agents.removed)
    agent.tell(ReregisterAgent(agent_info=info(agent.id)))  # it may not come back
    assert agent.nothing(AgentReregistered)


def test_a_reregistration_with_a_changed_agent_info_updates_the_registry(
        cluster: Cluster, storage: MemoryStorage) -> None:
    agent = cluster.agent()
    _, version = stored(storage)
    agent.tell(ReregisterAgent(agent_info=info(agent.id)))  # unchanged: no write
    assert agent.expect(AgentReregistered).agent_id == agent.id
    assert stored(storage)[1] == version
    agent.tell(ReregisterAgent(agent_info=info(agent.id, port=5999)))
    assert agent.expect(AgentReregistered).agent_id == agent.id
    registry, after = stored(storage)
    assert registry.agents[agent.id].port == 5999 and after == version + 1


def test_a_master_deposed_in_the_registry_exits_on_its_next_write(
        cluster: Cluster, storage: MemoryStorage) -> None:
    exits: list[int] = []
    cluster.master_actor._exit = exits.append
    Registrar(storage, ManualClock()).recover()  # another master claimed the registry
    agent = cluster.agent(register=False)
    agent.tell(RegisterAgent(agent_info=info()))
    cluster.settle()
    assert exits == [1]
    assert agent.nothing(AgentRegistered)
    assert stored(storage)[0].agents == {}


# --- failover: recovered agents must re-register within agent_reregister_timeout ---------


@pytest.fixture
def failover(storage: MemoryStorage) -> Iterator[Cluster]:
    """A new master recovering a registry that admitted agents ``A`` and ``B``."""
    old = Registrar(storage, ManualClock())
    old.recover()
    old.apply_batch([AdmitAgent(info("A", "hostA")), AdmitAgent(info("B", "hostB"))])
    yield from start(storage)


def ask_about(fw: Any, task_id: str, agent_id: str = "") -> None:
    fw.tell(ReconcileTasks(framework_id=fw.id, statuses=(
        TaskStatus(task_id=task_id, state=TaskState.TASK_RUNNING, agent_id=agent_id),)))


def test_recovered_agents_that_do_not_reregister_in_time_become_unreachable(
        failover: Cluster, storage: MemoryStorage) -> None:
    cluster = failover
    aware = cluster.framework("aware", capabilities=AWARE)
    plain = cluster.framework("plain")
    a = cluster.agent(register=False)
    a.tell(ReregisterAgent(agent_info=info("A", "hostA")))
    assert a.expect(AgentReregistered).agent_id == "A"
    _, version = stored(storage)

    # Before the timeout: no answer about B's task, nor about a task of no agent named.
    for fw in (aware, plain):
        ask_about(fw, "tb", "B")
        ask_about(fw, "tx")
        assert fw.nothing(StatusUpdate)
    cluster.advance(TIMEOUT - 1)
    ask_about(aware, "tb", "B")
    assert aware.nothing(StatusUpdate) and aware.nothing(LostAgent)
    assert stored(storage)[1] == version

    cluster.advance(1)
    registry, _ = stored(storage)
    assert list(registry.agents) == ["A"] and list(registry.unreachable) == ["B"]
    assert aware.expect(LostAgent).agent_id == "B" and plain.expect(LostAgent).agent_id == "B"
    ask_about(aware, "tb", "B")
    status = aware.expect(StatusUpdate).update.status
    assert status.state is TaskState.TASK_UNREACHABLE and status.task_id == "tb"
    assert status.unreachable_time == registry.unreachable["B"]
    ask_about(plain, "tb", "B")
    assert plain.expect(StatusUpdate).update.status.state is TaskState.TASK_LOST
    ask_about(aware, "tx", "nobody")
    assert aware.expect(StatusUpdate).update.status.state is TaskState.TASK_UNKNOWN
    ask_about(plain, "tx")
    assert plain.expect(StatusUpdate).update.status.state is TaskState.TASK_LOST

    # B comes back late: reachable again in the registry, and registered.
    b = cluster.agent(register=False)
    b.tell(ReregisterAgent(agent_info=info("B", "hostB")))
    assert b.expect(AgentReregistered).agent_id == "B"
    registry, _ = stored(storage)
    assert sorted(registry.agents) == ["A", "B"] and registry.unreachable == {}


def test_a_recovered_agent_that_reregisters_in_time_stays_admitted(
        failover: Cluster, storage: MemoryStorage) -> None:
    cluster = failover
    for agent_id in ("A", "B"):
        peer = cluster.agent(register=False)
        peer.tell(ReregisterAgent(agent_info=info(agent_id, f"host{agent_id}")))
        assert peer.expect(AgentReregistered).agent_id == agent_id
    fw = cluster.framework("aware", capabilities=AWARE)
    cluster.advance(TIMEOUT + 1)
    assert sorted(stored(storage)[0].agents) == ["A", "B"]
    assert fw.nothing(LostAgent)
    ask_about(fw, "tb", "B")  # B is registered and does not run tb
    assert fw.expect(StatusUpdate).update.status.state is TaskState.TASK_GONE


@pytest.mark.parametrize("master_config", [MasterConfig(zk="zk://127.0.0.1:2181/mesos")])
def test_an_agent_registering_before_the_registry_is_recovered_is_held_then_admitted(
        storage: MemoryStorage, master_config: MasterConfig) -> None:
    for cluster in start(storage, master_config):
        agent = cluster.agent(register=False)
        cluster.master_actor.hold_registry()  # the recovery will wait (held before it starts)
        cluster.master_actor.tell_elected()
        agent.tell(RegisterAgent(agent_info=info()))
        assert agent.nothing(AgentRegistered)
        assert cluster.ask(lambda m: len(m.held)) == 1
        cluster.master_actor.release_registry()
        cluster.settle()
        assert cluster.ask(lambda m: m.recovered)
        assert agent.expect(AgentRegistered).agent_id  # no retry needed (Mesos drops it)
        assert cluster.ask(lambda m: len(m.held)) == 0


@pytest.mark.parametrize("master_config", [MasterConfig(zk="zk://127.0.0.1:2181/mesos")])
def test_registrations_reaching_a_master_before_its_election_are_handled_once_it_leads(
        storage: MemoryStorage, master_config: MasterConfig) -> None:
    for cluster in start(storage, master_config):
        agent = cluster.agent(register=False)
        fw = cluster.framework(register=False)
        agent.tell(RegisterAgent(agent_info=info()))
        fw.tell(RegisterFramework(framework_info=FrameworkInfo(user="alice", name="f")))
        agent.tell(RegisterAgent(agent_info=info()))  # a retry replaces the held one
        assert agent.nothing(AgentRegistered) and fw.nothing(FrameworkRegistered)
        assert cluster.ask(lambda m: len(m.held)) == 2
        cluster.master_actor.tell_elected()
        cluster.settle()
        assert fw.expect(FrameworkRegistered).framework_id
        assert agent.expect(AgentRegistered).agent_id
        assert agent.nothing(AgentRegistered)  # the retry was not handled twice


@pytest.mark.parametrize("master_config", [MasterConfig(zk="zk://127.0.0.1:2181/mesos")])
def test_a_registration_held_past_the_window_is_dropped(
        storage: MemoryStorage, master_config: MasterConfig) -> None:
    for cluster in start(storage, master_config):
        agent = cluster.agent(register=False)
        agent.tell(RegisterAgent(agent_info=info()))
        cluster.settle()
        cluster.advance(DEFAULT_WINDOW + 1.0)
        cluster.master_actor.tell_elected()
        cluster.settle()
        assert agent.nothing(AgentRegistered)
        agent.tell(RegisterAgent(agent_info=info()))  # the agent's own retry still works
        assert agent.expect(AgentRegistered).agent_id


# --- the pure decisions --------------------------------------------------------------------


def books() -> Books:
    b = Books(master_info=MasterInfo(id="M"), now=lambda: 100.0)
    b.agents.recovered = {"A": info("A", "hostA"), "B": info("B", "hostB")}
    return b


def test_what_a_reregistration_stores_first() -> None:
    b = books()
    assert agent_registry.registry_operation(b, info("A", "hostA")) is None
    assert agent_registry.registry_operation(b, info("A", "hostA", port=1)) == UpdateAgentInfo(
        info("A", "hostA", port=1))
    assert agent_registry.registry_operation(b, info("C", "hostC")) == MarkAgentReachable(
        info("C", "hostC"))
    assert agent_registry.overdue_recovered(b, {"B"}) == ["A"]
    assert agent_registry.overdue_recovered(b, set()) == ["A", "B"]


def test_explicit_reconciliation_waits_for_recovered_agents() -> None:
    b = books()
    out_fw = b.frameworks.add(FrameworkInfo(user="u", name="fw", id="F",
                                            capabilities=AWARE), None, 100.0)
    asked = (TaskStatus(task_id="t", state=TaskState.TASK_RUNNING, agent_id="A"),)
    assert reconcile(b, out_fw, asked) == []
    nameless = (TaskStatus(task_id="t", state=TaskState.TASK_RUNNING),)
    assert reconcile(b, out_fw, nameless) == []
    b.agents.recovered.clear()
    (answer,) = reconcile(b, out_fw, nameless)
    assert answer.update.status.state is TaskState.TASK_UNKNOWN
    b.agents.gone["A"] = 50.0
    (answer,) = reconcile(b, out_fw, asked)
    assert answer.update.status.state is TaskState.TASK_GONE_BY_OPERATOR


# --- /master/redirect -------------------------------------------------------------------


def get(cluster: Cluster, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", cluster.node.http_port or 0, timeout=WAIT)
    conn.request("GET", path)
    return conn.getresponse()


def test_redirect_points_at_the_leader(cluster: Cluster) -> None:
    reply = get(cluster, "/master/redirect")
    assert reply.status == 307
    assert reply.getheader("Location") == f"//127.0.0.1:{cluster.node.http_port}"


@pytest.mark.parametrize("master_config", [MasterConfig(zk="zk://127.0.0.1:2181/mesos")])
def test_redirect_without_a_leader_is_503(storage: MemoryStorage,
                                          master_config: MasterConfig) -> None:
    for cluster in start(storage, master_config):
        assert get(cluster, "/master/redirect").status == 503
        other = dataclasses.replace(cluster.master_actor.books.master_info, id="other",
                                    hostname="leader.example", port=5999,
                                    pid=PID("master", "10.0.0.2", 5050))
        cluster.master_actor.tell_leader(other)
        cluster.settle()
        reply = get(cluster, "/master/redirect")
        assert reply.status == 307 and reply.getheader("Location") == "//leader.example:5999"
        assert json.loads(get(cluster, "/master/state").read())["elected"] is False
