"""The master actor's elected / not-elected gate (``--zk``), without ZooKeeper.

``MasterActor`` with ``config.zk`` starts as a non-leading master: it drops framework and
agent registrations until ``tell_elected()``; elected, it fails fast when the detector
reports another leader or none. ``test_master_zk.py`` runs real processes on ZooKeeper.
"""

from __future__ import annotations

import dataclasses

import pytest
from master_harness import Cluster

from actors.master.config import MasterConfig
from actors.master.http import state_json
from actors.messages.agent import AgentRegistered, RegisterAgent
from actors.messages.framework import FrameworkRegistered, RegisterFramework
from actors.messages.info import AgentInfo, FrameworkInfo
from actors.resources import Resources
from transport import PID

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
