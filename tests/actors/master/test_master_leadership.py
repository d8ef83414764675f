"""The master actor's elected / not-elected gate (``--zk``), without ZooKeeper.

``MasterActor`` with ``config.zk`` starts as a non-leading master: it drops framework and
agent registrations until ``tell_elected()``; elected, it fails fast when the detector
reports another leader or none. With a ``Registrar`` it recovers the registry when
elected, admits new agents and marks those that miss their pings unreachable, and exits
when a write fails. ``test_master_zk.py`` runs real processes on ZooKeeper.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from master_harness import Cluster

from actors.master.config import MasterConfig
from actors.master.http import state_json
from actors.messages.agent import (
    AgentRegistered,
    AgentReregistered,
    RegisterAgent,
    ReregisterAgent,
)
from actors.messages.framework import FrameworkRegistered, RegisterFramework
from actors.messages.info import AgentInfo, FrameworkInfo
from actors.registry import MemoryStorage, NotRecovered, Registrar, StorageUnavailable
from actors.resources import Resources
from transport import PID, ManualClock, Node

ZK = MasterConfig(zk="zk://127.0.0.1:2181/mesos")


@pytest.mark.parametrize("master_config", [ZK])
def test_a_non_leading_master_drops_registrations_until_elected(cluster: Cluster) -> None:
    agent = cluster.agent(register=False)
    fw = cluster.framework(register=False)
    agent.tell(RegisterAgent(agent_info=AgentInfo(hostname="h",
                                                  resources=Resources.parse("cpus:1"))))
    fw.tell(RegisterFramework(framework_info=FrameworkInfo(user="alice", name="fw")))
    assert agent.nothing(AgentRegistered) and fw.nothing(FrameworkRegistered)
    state = cluster.ask(state_json)
    assert state["elected"] is False and state["leader"] is None

    other = dataclasses.replace(cluster.master_actor.books.master_info, id="other",
                                pid=PID("master", "127.0.0.1", 1))
    cluster.master_actor.tell_leader(other)
    cluster.settle()
    assert cluster.ask(state_json)["leader"] == "master@127.0.0.1:1"

    cluster.master_actor.tell_elected()
    cluster.settle()
    state = cluster.ask(state_json)
    assert state["elected"] is True and state["leader"] == str(cluster.master)
    cluster.agent()
    cluster.framework()


@pytest.mark.parametrize("master_config", [ZK])
def test_an_elected_master_exits_when_another_leader_is_detected(cluster: Cluster) -> None:
    exits: list[int] = []
    cluster.master_actor._exit = exits.append
    own = cluster.master_actor.books.master_info
    cluster.master_actor.tell_elected()
    cluster.master_actor.tell_leader(own)
    cluster.settle()
    assert exits == []
    cluster.master_actor.tell_leader(dataclasses.replace(own, id="other"))
    cluster.settle()
    assert exits == [1]
    cluster.master_actor.tell_leader(None)
    cluster.settle()
    assert exits == [1, 1]


def test_a_standalone_master_leads_at_once(cluster: Cluster) -> None:
    state = cluster.ask(state_json)
    assert state["elected"] is True and state["leader"] == str(cluster.master)
    assert state["elected_time"] is not None


# --- the registry: recovered when elected, agents admitted and marked unreachable --------


class BrokenStorage(MemoryStorage):
    """Fails every write once ``broken``."""

    broken = False

    def set(self, key: str, value: bytes, expected_version: int) -> int:
        if self.broken:
            raise StorageUnavailable("the disk is gone")
        return super().set(key, value, expected_version)


@pytest.fixture
def storage() -> BrokenStorage:
    return BrokenStorage()


@pytest.fixture
def with_registry(master_config: MasterConfig,
                  storage: BrokenStorage) -> Iterator[tuple[Cluster, Registrar]]:
    clock = ManualClock()
    node = Node(clock=clock, http_port=0).start()
    try:
        registrar = Registrar(storage, clock)
        yield Cluster(node, clock, master_config, registrar), registrar
    finally:
        node.stop()


def test_a_standalone_master_recovers_admits_and_marks_unreachable(
        with_registry: tuple[Cluster, Registrar]) -> None:
    cluster, registrar = with_registry
    cluster.settle()
    assert registrar.version == 1  # recovered (claimed) at start
    agent = cluster.agent()
    assert list(cluster.ask(lambda m: registrar.registry.agents)) == [agent.id]
    cluster.agent(register=False)  # a retry of the same agent is not admitted twice
    agent.tell(RegisterAgent(agent_info=AgentInfo(hostname="host1",
                                                  resources=Resources.parse("cpus:4;mem:4096"))))
    assert agent.expect(AgentRegistered).agent_id == agent.id
    assert cluster.ask(lambda m: registrar.version) == 2
    agent.proc.answer_pings = False
    for _ in range(6):
        cluster.advance(15.0)
    registry = cluster.ask(lambda m: registrar.registry)
    assert registry.agents == {} and list(registry.unreachable) == [agent.id]

    agent.proc.answer_pings = True  # it comes back with its id: reachable again
    agent.tell(ReregisterAgent(agent_info=AgentInfo(
        id=agent.id, hostname="host1", resources=Resources.parse("cpus:4;mem:4096"))))
    assert agent.expect(AgentReregistered).agent_id == agent.id
    registry = cluster.ask(lambda m: registrar.registry)
    assert list(registry.agents) == [agent.id] and registry.unreachable == {}


@pytest.mark.parametrize("master_config", [ZK])
def test_a_non_leading_master_recovers_the_registry_when_elected(
        with_registry: tuple[Cluster, Registrar]) -> None:
    cluster, registrar = with_registry
    cluster.settle()
    assert cluster.ask(lambda m: registrar.version) == 0  # not recovered by a standby
    with pytest.raises(NotRecovered):
        registrar.registry  # noqa: B018
    cluster.master_actor.tell_elected()
    cluster.settle()
    assert cluster.ask(lambda m: registrar.version) == 1
    agent = cluster.agent()
    assert list(cluster.ask(lambda m: registrar.registry.agents)) == [agent.id]


def test_a_failed_registry_write_exits(with_registry: tuple[Cluster, Registrar],
                                       storage: BrokenStorage) -> None:
    cluster, _ = with_registry
    exits: list[int] = []
    cluster.master_actor._exit = exits.append
    cluster.settle()
    storage.broken = True
    agent = cluster.agent(register=False)
    agent.tell(RegisterAgent(agent_info=AgentInfo(hostname="h",
                                                  resources=Resources.parse("cpus:1"))))
    cluster.settle()
    assert exits == [1]
    assert agent.nothing(AgentRegistered)  # never told what could not be made durable
