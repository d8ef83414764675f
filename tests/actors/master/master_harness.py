"""Actor harness for the master (its fixtures are in ``conftest.py``): an in-process node,
the real AllocatorActor, a real MasterActor, and stand-in agents and schedulers speaking
the real protocol.

Time is a ``ManualClock``: allocation ticks, pings, failover and offer timeouts move only
when a test calls ``cluster.advance``. Waiting is on queues with generous timeouts. With a
``registrar`` the master writes through its ``RegistrarWorker`` thread; ``settle`` waits
for the worker to be idle too (or held), so its callbacks have run when it returns.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from typing import Any, TypeVar

from actors.allocator.actor import AllocatorActor
from actors.allocator.config import AllocatorConfig
from actors.master.actor import MasterActor
from actors.master.config import MasterConfig
from actors.messages import (
    AgentInfo,
    AgentRegistered,
    FrameworkInfo,
    FrameworkRegistered,
    PingAgent,
    PongAgent,
    RegisterAgent,
    RegisterFramework,
    ResourceOffers,
)
from actors.registry import Registrar
from actors.resources import Resources
from transport import PID, ManualClock, Node, Process

WAIT = 20.0
T = TypeVar("T")


class _Queues(defaultdict[type, "queue.Queue[Any]"]):
    """One queue per message type, made once even when the test's thread and the actor's
    ask for a new type at the same moment (a plain defaultdict could make two, and the
    test would wait on the one the message did not go to)."""

    def __init__(self) -> None:
        super().__init__(queue.Queue)
        self._lock = threading.Lock()

    def __missing__(self, key: type) -> queue.Queue[Any]:
        with self._lock:
            if key not in self:
                self[key] = queue.Queue()
            return dict.__getitem__(self, key)


class Recorder(Process):
    """A stand-in that records every message it gets, by type."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.inbox: defaultdict[type, queue.Queue[Any]] = _Queues()
        self.frm: dict[type, PID] = {}

    def unhandled(self, frm: PID, msg: Any) -> None:
        self.frm[type(msg)] = frm
        self.inbox[type(msg)].put(msg)


class FakeAgent(Recorder):
    """Answers pings (unless ``answer_pings`` is off) and records the rest."""

    answer_pings = True

    def unhandled(self, frm: PID, msg: Any) -> None:
        if isinstance(msg, PingAgent) and self.answer_pings:
            self.send(frm, PongAgent())
        super().unhandled(frm, msg)


class Peer:
    """The test's handle on a stand-in: send as it, wait for what it got."""

    def __init__(self, cluster: Cluster, ref: Any) -> None:
        self.cluster = cluster
        self.ref = ref
        self.pid: PID = ref.proxy().pid.get(timeout=WAIT)
        proc = cluster.node.processes[self.pid.name]
        assert isinstance(proc, Recorder)
        self.proc = proc
        self.id = ""

    def tell(self, msg: Any) -> None:
        self.cluster.node.send(self.pid, self.cluster.master, msg)

    def expect(self, kind: type[T], timeout: float = WAIT) -> T:
        msg: T = self.proc.inbox[kind].get(timeout=timeout)
        return msg

    def settled(self) -> None:
        """The master settled, and what it sent here was handled (an ask queues behind it)."""
        self.cluster.settle()
        self.ref.proxy().pid.get(timeout=WAIT)

    def nothing(self, kind: type) -> bool:
        self.settled()
        return self.proc.inbox[kind].empty()

    def drain(self, kind: type[T]) -> list[T]:
        self.settled()
        out = []
        while not self.proc.inbox[kind].empty():
            out.append(self.proc.inbox[kind].get_nowait())
        return out


class Cluster:
    def __init__(self, node: Node, clock: ManualClock, config: MasterConfig,
                 registrar: Registrar | None = None) -> None:
        self.node, self.clock = node, clock
        self.master = node.pid("master")
        self.allocator_ref = node.spawn(AllocatorActor, self.master,
                                        AllocatorConfig(seed=1, allocation_interval=1.0))
        self.master_ref = node.spawn(MasterActor, config, master_id="M", registrar=registrar)
        actor = node.processes["master"]
        assert isinstance(actor, MasterActor)
        self.master_actor = actor
        self._names = 0

    def settle(self, rounds: int = 4) -> None:
        """Return once master and allocator handled what was sent (a few hops deep)."""
        worker = self.master_actor.registry_worker
        for _ in range(rounds):
            if worker is not None:
                assert worker.wait_idle(WAIT), "the registrar worker stayed busy"
            self.master_ref.proxy().pid.get(timeout=WAIT)
            self.allocator_ref.proxy().pid.get(timeout=WAIT)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()

    def ask(self, fn: Any) -> Any:
        """Run ``fn(master)`` inside the master actor (reading its books safely)."""
        from concurrent.futures import Future

        done: Future[Any] = Future()
        self.master_actor._post(lambda: done.set_result(fn(self.master_actor)))
        return done.result(timeout=WAIT)

    def agent(self, resources: str = "cpus:4;mem:4096", hostname: str = "host1",
              register: bool = True, **info: Any) -> Peer:
        self._names += 1
        peer = Peer(self, self.node.spawn(FakeAgent, f"agent{self._names}"))
        if register and self.master_actor.registry_worker is not None:
            self.settle()  # the registry is recovered before agents are welcome
        if register:
            peer.tell(RegisterAgent(agent_info=AgentInfo(
                hostname=hostname, resources=Resources.parse(resources), **info)))
            peer.id = peer.expect(AgentRegistered).agent_id
        return peer

    def framework(self, name: str = "fw", register: bool = True, **info: Any) -> Peer:
        self._names += 1
        peer = Peer(self, self.node.spawn(Recorder, f"scheduler({self._names})"))
        if register:
            peer.tell(RegisterFramework(framework_info=FrameworkInfo(
                user="alice", name=name, **info)))
            peer.id = peer.expect(FrameworkRegistered).framework_id
        return peer


def offer_of(peer: Peer) -> Any:
    """The single offer of the next ResourceOffers the scheduler gets."""
    msg = peer.expect(ResourceOffers)
    assert len(msg.offers) == 1, msg
    return msg.offers[0]
