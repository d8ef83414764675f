"""The allocator actor: driven by messages and a manual clock, reporting OffersAllocated."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest

from actors.allocator import AllocatorConfig
from actors.allocator.actor import AllocatorActor
from actors.messages.internal import (
    AllocatorAddAgent,
    AllocatorAddFramework,
    AllocatorRecoverResources,
    AllocatorReviveOffers,
    OffersAllocated,
)
from actors.resources import Resources
from transport import PID, ManualClock, Node, Process, handles

WAIT = 20.0


class RecordingMaster(Process):
    """Stands in for the master: records every OffersAllocated."""

    def __init__(self, node: Node, inbox: queue.Queue[OffersAllocated]) -> None:
        super().__init__(node, "master")
        self.inbox = inbox

    @handles(OffersAllocated)
    def _on_offers(self, frm: PID, msg: OffersAllocated) -> None:
        self.inbox.put(msg)


class Cluster:
    def __init__(self, node: Node, clock: ManualClock) -> None:
        self.node, self.clock = node, clock
        self.offers: queue.Queue[OffersAllocated] = queue.Queue()
        master = node.spawn(RecordingMaster, self.offers)
        self.master_pid: PID = master.proxy().pid.get()
        self.ref = node.spawn(AllocatorActor, self.master_pid, AllocatorConfig(seed=3))
        self.allocator = node.pid("allocator")

    def tell(self, msg: object) -> None:
        self.node.send(self.master_pid, self.allocator, msg)

    def next_offer(self) -> OffersAllocated:
        return self.offers.get(timeout=WAIT)

    def sync(self) -> None:
        """Return once the actor has handled everything queued so far (an ask behind it)."""
        self.ref.proxy().pid.get(timeout=WAIT)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.sync()  # the timers that fired have run, and the next tick is scheduled

    def no_offer(self) -> bool:
        """True if nothing has arrived once the actor has handled everything sent so far."""
        self.sync()
        return self.offers.empty()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    clock = ManualClock()
    node = Node(clock=clock).start()
    try:
        yield Cluster(node, clock)
    finally:
        node.stop()


def test_adding_an_agent_and_a_framework_triggers_one_offer(cluster: Cluster) -> None:
    cluster.tell(AllocatorAddAgent(agent_id="a1", total=Resources.parse("cpus:4;mem:4096")))
    cluster.tell(AllocatorAddFramework(framework_id="f1", roles=("*",)))
    offer = cluster.next_offer()
    assert offer.framework_id == "f1"
    assert offer.allocation == {"*": {"a1": Resources.parse("cpus:4;mem:4096")}}


def test_declined_resources_come_back_only_after_the_filter_expires(cluster: Cluster) -> None:
    total = Resources.parse("cpus:2;mem:1024")
    cluster.tell(AllocatorAddAgent(agent_id="a1", total=total))
    cluster.tell(AllocatorAddFramework(framework_id="f1", roles=("*",)))
    assert cluster.next_offer().allocation["*"]["a1"] == total
    cluster.tell(AllocatorRecoverResources(framework_id="f1", agent_id="a1", resources=total,
                                           refuse_seconds=5.0))
    cluster.advance(1.0)  # the periodic run: filtered
    assert cluster.no_offer()
    cluster.advance(5.0)  # past the 5 s refusal
    assert cluster.next_offer().allocation["*"]["a1"] == total


def test_revive_clears_the_filter_and_runs_at_once(cluster: Cluster) -> None:
    total = Resources.parse("cpus:1;mem:512")
    cluster.tell(AllocatorAddAgent(agent_id="a1", total=total))
    cluster.tell(AllocatorAddFramework(framework_id="f1", roles=("*",)))
    cluster.next_offer()
    cluster.tell(AllocatorRecoverResources(framework_id="f1", agent_id="a1", resources=total,
                                           refuse_seconds=3600.0))
    cluster.tell(AllocatorReviveOffers(framework_id="f1"))
    assert cluster.next_offer().allocation["*"]["a1"] == total  # no clock advance needed


def test_a_bad_request_is_refused_and_the_actor_keeps_working(cluster: Cluster) -> None:
    cluster.tell(AllocatorRecoverResources(framework_id="nobody", agent_id="nowhere",
                                           resources=Resources.parse("cpus:1")))
    cluster.tell(AllocatorAddFramework(framework_id="f1", roles=("*",)))
    cluster.tell(AllocatorAddFramework(framework_id="f1", roles=("*",)))  # a duplicate
    cluster.tell(AllocatorAddAgent(agent_id="a1", total=Resources.parse("cpus:1;mem:64")))
    assert cluster.next_offer().framework_id == "f1"


def test_calls_from_anyone_but_the_master_are_ignored(cluster: Cluster) -> None:
    stranger = Node().start()  # a remote peer: the allocator's port is the master's
    try:
        impostor = stranger.pid("master")
        for msg in (AllocatorAddAgent(agent_id="a9", total=Resources.parse("cpus:8;mem:64")),
                    AllocatorAddFramework(framework_id="f9", roles=("*",))):
            stranger.send(impostor, cluster.allocator, msg)
        cluster.tell(AllocatorAddFramework(framework_id="f1", roles=("*",)))
        cluster.sync()
        assert cluster.no_offer()  # no agent was added, so nothing to offer
        cluster.tell(AllocatorAddAgent(agent_id="a1", total=Resources.parse("cpus:1;mem:64")))
        offer = cluster.next_offer()
        assert (offer.framework_id, list(offer.allocation["*"])) == ("f1", ["a1"])
    finally:
        stranger.stop()
