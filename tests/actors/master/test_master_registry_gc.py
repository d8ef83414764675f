"""The leading master's registry GC on its ``ManualClock`` (``registry_gc_interval``...).

Actor harness (``master_harness``) with a real ``Registrar`` on a ``MemoryStorage``. What is
proved: an agent that missed its pings stays unreachable (and a GC with nothing to drop
writes nothing) until it is older than ``registry_max_agent_age``; the next GC then drops
it from the registry, ``/master/state``, ``master/agents_unreachable`` and its framework's
unreachable tasks, after which reconciliation of its task answers TASK_UNKNOWN and the
agent, back, is admitted again; with ``registry_max_agent_count=1`` the older of two
unreachable agents goes; without a registrar the books are pruned all the same.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from master_harness import WAIT, Cluster, Peer, offer_of

from actors.master.config import MasterConfig
from actors.messages import (
    AcceptOffers,
    AgentInfo,
    AgentReregistered,
    CommandInfo,
    FrameworkCapability,
    LostAgent,
    ReconcileTasks,
    ReregisterAgent,
    RunTask,
    StatusUpdate,
    TaskInfo,
    TaskState,
    TaskStatus,
    launch,
)
from actors.registry import MemoryStorage, Registrar, Registry, decode_registry
from actors.resources import Resources
from transport import ManualClock, Node

PING = 15.0
MISSED = 5
INTERVAL = 60.0
MAX_AGE = 300.0
AWARE = (FrameworkCapability.PARTITION_AWARE,)


@contextlib.contextmanager
def start(config: MasterConfig, storage: MemoryStorage | None) -> Iterator[Cluster]:
    clock = ManualClock()
    node = Node(clock=clock, http_port=0).start()
    node.http_delegate = "master"
    try:
        registrar = None if storage is None else Registrar(storage, clock)
        cluster = Cluster(node, clock, config, registrar)
        cluster.settle()
        yield cluster
    finally:
        node.stop()


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


def stored(storage: MemoryStorage) -> tuple[Registry, int]:
    data, version = storage.get("registry")
    assert data is not None
    return decode_registry(data), version


def get_json(cluster: Cluster, path: str) -> Any:
    url = f"http://127.0.0.1:{cluster.node.http_port}{path}"
    with urllib.request.urlopen(url, timeout=WAIT) as resp:
        return json.loads(resp.read())


def unreachable_counts(cluster: Cluster) -> tuple[float, int]:
    """``master/agents_unreachable`` and ``/master/state``'s ``unreachable_agents``."""
    metrics = get_json(cluster, "/metrics/snapshot")
    state = get_json(cluster, "/master/state")
    return metrics["master/agents_unreachable"], state["unreachable_agents"]


def run_task(cluster: Cluster, fw: Peer, agent: Peer, task_id: str) -> None:
    offer = offer_of(fw)
    fw.tell(AcceptOffers(framework_id=fw.id, offer_ids=(offer.id,), operations=(launch(
        TaskInfo(name=task_id, task_id=task_id, agent_id=agent.id,
                 resources=Resources.parse("cpus:1;mem:512"),
                 command=CommandInfo(value="sleep 100"))),)))
    agent.expect(RunTask)


def lose(cluster: Cluster, agent: Peer) -> None:
    """The agent stops answering: after ``MISSED`` ping periods it is unreachable."""
    agent.proc.answer_pings = False
    # the master may still be in the handler that answered the registration, before it
    # armed the ping timer: a tick before that would be one ping period short
    cluster.settle()
    for _ in range(MISSED + 1):
        cluster.advance(PING)
    assert cluster.ask(lambda m: agent.id in m.books.agents.unreachable)


def ask_about(fw: Peer, task_id: str, agent_id: str) -> TaskState:
    fw.drain(StatusUpdate)  # the updates heard so far
    fw.tell(ReconcileTasks(framework_id=fw.id, statuses=(
        TaskStatus(task_id=task_id, state=TaskState.TASK_RUNNING, agent_id=agent_id),)))
    state: TaskState = fw.expect(StatusUpdate).update.status.state
    return state


def test_an_unreachable_agent_older_than_the_max_age_is_pruned_everywhere(
        storage: MemoryStorage) -> None:
    config = MasterConfig(agent_ping_timeout=PING, max_agent_ping_timeouts=MISSED,
                          registry_gc_interval=INTERVAL, registry_max_agent_age=MAX_AGE)
    with start(config, storage) as cluster:
        fw = cluster.framework("aware", capabilities=AWARE)
        agent = cluster.agent()
        run_task(cluster, fw, agent, "t1")
        lose(cluster, agent)
        fw.expect(LostAgent)
        assert unreachable_counts(cluster) == (1.0, 1)
        registry, version = stored(storage)
        assert list(registry.unreachable) == [agent.id]
        assert ask_about(fw, "t1", agent.id) is TaskState.TASK_UNREACHABLE

        # GCs run every interval, but until the agent is MAX_AGE old none writes.
        for _ in range(int(MAX_AGE / INTERVAL)):
            cluster.advance(INTERVAL)
        assert stored(storage)[1] == version
        assert unreachable_counts(cluster) == (1.0, 1)

        cluster.advance(INTERVAL)  # past max age + one interval: the next GC prunes it
        registry, after = stored(storage)
        assert registry.unreachable == {} and after == version + 1
        assert unreachable_counts(cluster) == (0.0, 0)
        assert cluster.ask(lambda m: m.books.frameworks.registered[fw.id].unreachable_tasks
                           ) == {}
        assert ask_about(fw, "t1", agent.id) is TaskState.TASK_UNKNOWN

        # Pruned while away, it comes back: admitted again.
        agent.proc.answer_pings = True
        agent.tell(ReregisterAgent(agent_info=AgentInfo(
            id=agent.id, hostname="host1", resources=Resources.parse("cpus:4;mem:4096"))))
        assert agent.expect(AgentReregistered).agent_id == agent.id
        assert list(stored(storage)[0].agents) == [agent.id]
        assert cluster.ask(lambda m: agent.id in m.books.agents.registered)


def test_with_a_count_limit_of_one_the_older_unreachable_agent_goes(
        storage: MemoryStorage) -> None:
    config = MasterConfig(agent_ping_timeout=PING, max_agent_ping_timeouts=MISSED,
                          registry_gc_interval=1000.0, registry_max_agent_count=1)
    with start(config, storage) as cluster:
        older = cluster.agent(hostname="h1")
        lose(cluster, older)
        newer = cluster.agent(hostname="h2")
        lose(cluster, newer)
        assert unreachable_counts(cluster) == (2.0, 2)
        assert sorted(stored(storage)[0].unreachable) == sorted([older.id, newer.id])
        cluster.advance(1000.0 - 2 * (MISSED + 1) * PING)  # the first GC
        assert list(stored(storage)[0].unreachable) == [newer.id]
        assert cluster.ask(lambda m: list(m.books.agents.unreachable)) == [newer.id]
        assert unreachable_counts(cluster) == (1.0, 1)


def test_without_a_registrar_the_books_are_pruned_too() -> None:
    config = MasterConfig(agent_ping_timeout=PING, max_agent_ping_timeouts=MISSED,
                          registry_gc_interval=INTERVAL, registry_max_agent_age=0.0)
    with start(config, None) as cluster:
        agent = cluster.agent()
        lose(cluster, agent)
        cluster.advance(INTERVAL)
        assert unreachable_counts(cluster) == (0.0, 0)
