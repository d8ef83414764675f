"""Agents and the leader follower against a real ZooKeeper (no real master).

Stand-in masters (``FakeMaster``) run on one in-process node; ``MasterContender``
publishes each one's ``MasterInfo`` (its ``pid``) as a candidacy, so the agent, given
``zk=zk://.../path``, finds them through its detector as it would find real masters.
Both stand-ins share a node so that messages the test sends from them reach the agent
in the order sent (one connection per pair of nodes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from actors.agent.actor import AgentActor
from actors.agent.config import AgentConfig, flags, from_flags
from actors.ha import MasterContender
from actors.ha.follow import LeaderFollower
from actors.messages import (
    AgentRegistered,
    AgentReregistered,
    ExecutorToFramework,
    PingAgent,
    PongAgent,
    RegisterAgent,
    ReregisterAgent,
    Shutdown,
)
from actors.messages.info import MasterInfo, ip_to_uint32
from actors.resources import Resources
from transport import PID, Node, Process
from transport.flags import FlagError

WAIT = 30.0
AGENT_ID = "M1-S1"
T = TypeVar("T")


class FakeMaster(Process):
    """Answers (re-)registrations and records every message it gets."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.cond = threading.Condition()
        self.seen: list[tuple[PID, Any]] = []

    def on_receive(self, message: Any) -> Any:
        if type(message) is list:
            with self.cond:
                self.seen.extend((frm, msg) for frm, msg, _ in message)
                self.cond.notify_all()
        return super().on_receive(message)

    def unhandled(self, frm: PID, msg: Any) -> None:
        if isinstance(msg, RegisterAgent):
            self.send(frm, AgentRegistered(agent_id=AGENT_ID))
        elif isinstance(msg, ReregisterAgent):
            self.send(frm, AgentReregistered(agent_id=msg.agent_info.id))

    def messages(self, kind: type[T]) -> list[T]:
        with self.cond:
            return [m for _, m in self.seen if isinstance(m, kind)]

    def wait_for(self, kind: type[T], count: int = 1) -> list[T]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.messages(kind)) >= count, WAIT)
        assert ok, f"{self.pid}: no {count} x {kind.__name__} within {WAIT}s"
        return self.messages(kind)


def eventually(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def info_of(master: Process, n: int) -> MasterInfo:
    return MasterInfo(id=f"master-{n}", ip=ip_to_uint32("127.0.0.1"), port=5150 + n,
                      pid=master.pid)


class Setup:
    def __init__(self, zookeeper: str, zk_path: str, tmp_path: Path) -> None:
        self.zookeeper = zookeeper
        self.zk_path = zk_path
        self.tmp_path = tmp_path
        self.nodes: list[Node] = []
        self.contenders: list[MasterContender] = []
        self.masters_node = self.node()
        self.m1 = self.master("master")
        self.m2 = self.master("master2")

    def node(self, **kwargs: Any) -> Node:
        node = Node("127.0.0.1", 0, **kwargs).start()
        self.nodes.append(node)
        return node

    def master(self, name: str) -> FakeMaster:
        self.masters_node.spawn(FakeMaster, name)
        master = self.masters_node.processes[name]
        assert isinstance(master, FakeMaster)
        return master

    def contend(self, master: FakeMaster, n: int) -> MasterContender:
        contender = MasterContender(self.zookeeper, self.zk_path, info_of(master, n),
                                    lambda: None, lambda reason: None)
        self.contenders.append(contender.start())
        return contender

    def agent(self) -> AgentActor:
        node = self.node(http_port=0)
        config = AgentConfig(
            ip="127.0.0.1", port=node.port, zk=f"zk://{self.zookeeper}{self.zk_path}",
            work_dir=str(self.tmp_path / "work"), launcher="subprocess",
            resources=Resources.parse("cpus:2;mem:1024;disk:2048;ports:[31000-31010]"),
            registration_backoff_factor=0.01)
        node.spawn(AgentActor, config)
        agent = node.processes["agent"]
        assert isinstance(agent, AgentActor)
        return agent

    def stop(self) -> None:
        for contender in self.contenders:
            contender.stop()
        for node in reversed(self.nodes):
            node.stop()


@pytest.fixture
def setup(zookeeper: str, zk_path: str, tmp_path: Path) -> Iterator[Setup]:
    s = Setup(zookeeper, zk_path, tmp_path)
    yield s
    s.stop()


def connected_to(agent: AgentActor, master: Process) -> bool:
    proxy = agent.actor_ref.proxy()
    return bool(proxy.registered.get(timeout=WAIT)) and proxy.master.get(timeout=WAIT) == \
        master.pid


def test_agent_registers_with_the_leader_and_follows_it(setup: Setup) -> None:
    agent = setup.agent()  # no leader yet: the agent waits for one
    c1 = setup.contend(setup.m1, 1)
    setup.contend(setup.m2, 2)
    assert setup.m1.wait_for(RegisterAgent)[0].agent_info.resources.get("cpus") == 2
    assert eventually(lambda: connected_to(agent, setup.m1))
    assert setup.m2.messages(RegisterAgent) == []

    c1.stop()  # the second contender leads now
    rereg = setup.m2.wait_for(ReregisterAgent)[0]
    assert rereg.agent_info.id == AGENT_ID
    assert eventually(lambda: connected_to(agent, setup.m2))
    assert setup.m2.messages(RegisterAgent) == []

    # The deposed master's orders are dropped; the leader's, sent after them from the
    # same node (so they arrive after them), are obeyed.
    send = setup.masters_node.send
    pongs = len(setup.m2.messages(PongAgent))
    send(setup.m2.pid, agent.pid, PingAgent(connected=True))
    setup.m2.wait_for(PongAgent, pongs + 1)  # a retry sent before the agent heard back is in
    reregistrations = len(setup.m2.messages(ReregisterAgent))
    send(setup.m1.pid, agent.pid, PingAgent(connected=False))
    send(setup.m1.pid, agent.pid, Shutdown(message="deposed"))
    send(PID("probe", setup.masters_node.host, setup.masters_node.port), agent.pid,
         ExecutorToFramework(agent_id=AGENT_ID, framework_id="f", executor_id="e",
                             data=b"after"))
    send(setup.m2.pid, agent.pid, PingAgent(connected=True))
    setup.m2.wait_for(PongAgent, pongs + 2)
    assert [m.data for m in setup.m2.wait_for(ExecutorToFramework)] == [b"after"]
    assert setup.m1.messages(PongAgent) == []
    assert not agent.shutdown_requested.is_set()
    assert connected_to(agent, setup.m2)
    assert len(setup.m2.messages(ReregisterAgent)) == reregistrations  # none for m1's ping


def test_agent_waits_while_no_master_leads(setup: Setup) -> None:
    c1 = setup.contend(setup.m1, 1)
    agent = setup.agent()
    setup.m1.wait_for(RegisterAgent)
    assert eventually(lambda: connected_to(agent, setup.m1))
    c1.stop()
    assert eventually(lambda: not agent.actor_ref.proxy().registered.get(timeout=WAIT))
    # With no leader, even the last one's messages are dropped.
    setup.masters_node.send(setup.m1.pid, agent.pid, Shutdown(message="gone"))
    setup.contend(setup.m2, 2)
    setup.m2.wait_for(ReregisterAgent)
    assert eventually(lambda: connected_to(agent, setup.m2))
    assert not agent.shutdown_requested.is_set()


def test_follower_reports_pids(zookeeper: str, zk_path: str) -> None:
    seen: list[PID | None] = []
    cond = threading.Condition()

    def on_leader(pid: PID | None) -> None:
        with cond:
            seen.append(pid)
            cond.notify_all()

    def wait_last(pid: PID | None) -> bool:
        with cond:
            return cond.wait_for(lambda: bool(seen) and seen[-1] == pid, WAIT)

    follower = LeaderFollower(f"zk://{zookeeper}{zk_path}", on_leader).start()
    pid = PID("master", "127.0.0.1", 5050)
    contender = MasterContender(zookeeper, zk_path, MasterInfo(id="m", pid=pid),
                                lambda: None, lambda reason: None).start()
    try:
        assert wait_last(pid)
        contender.stop()
        assert wait_last(None)
    finally:
        follower.stop()
    assert seen[0] in (None, pid)


def test_master_flag_takes_host_port_or_a_zk_url() -> None:
    base = ["--ip=127.0.0.1", "--work_dir=/tmp/x"]
    config = from_flags(flags().parse([*base, "--master=zk://127.0.0.1:2181/mesos/"]))
    assert config.zk == "zk://127.0.0.1:2181/mesos"
    assert config.to_flags()["master"] == "zk://127.0.0.1:2181/mesos"
    config = from_flags(flags().parse([*base, "--master=10.0.0.1:5050"]))
    assert config.zk == ""
    assert config.master == PID("master", "10.0.0.1", 5050)
    with pytest.raises((FlagError, SystemExit)):
        flags().parse([*base, "--master=zk://127.0.0.1:2181"])
