"""Offers: the ``OfferBook`` of outstanding offers and what happens to them.

The allocator actor reports each framework's allocation (``OffersAllocated``);
``make_offers`` turns it into one ``Offer`` per (role, agent), ids
``<master_id>-O<seq>``, and a ``ResourceOffers`` to the scheduler. An offer is used
once: accepted (``launch``), declined (``decline``, with the decline's refusal
filter), or rescinded (``rescind``: its agent went away, its framework disconnected
or re-registered, or ``--offer_timeout`` passed), and its resources go back to the
allocator (``AllocatorRecoverResources``). Callers: ``MasterActor`` and the other
pure modules of ``actors.master``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import structlog

from actors.messages.framework import DeclineOffers, RescindResourceOffer, ResourceOffers
from actors.messages.info import URL, Address
from actors.messages.internal import AllocatorRecoverResources, OffersAllocated
from actors.messages.offers import Offer
from actors.resources import EMPTY, Resources

if TYPE_CHECKING:
    from actors.master.agents import AgentRecord
    from actors.master.books import Books, Outbox
    from actors.master.frameworks import FrameworkRecord

__all__ = [
    "OfferBook",
    "agent_url",
    "decline",
    "make_offers",
    "rescind",
    "rescind_agent_offers",
    "rescind_framework_offers",
]

_log = structlog.get_logger("meseta.master")


class OfferBook:
    """Outstanding offers, by id, framework and agent."""

    def __init__(self, master_id: str) -> None:
        self.master_id = master_id
        self.offers: dict[str, Offer] = {}
        self._by_framework: dict[str, set[str]] = {}
        self._by_agent: dict[str, set[str]] = {}
        self._seq = itertools.count()

    def new_id(self) -> str:
        return f"{self.master_id}-O{next(self._seq)}"

    def __len__(self) -> int:
        return len(self.offers)

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self.offers

    def get(self, offer_id: str) -> Offer | None:
        return self.offers.get(offer_id)

    def add(self, offer: Offer) -> None:
        self.offers[offer.id] = offer
        self._by_framework.setdefault(offer.framework_id, set()).add(offer.id)
        self._by_agent.setdefault(offer.agent_id, set()).add(offer.id)

    def pop(self, offer_id: str) -> Offer | None:
        """Remove an offer (it is used once); ``None`` if it is not outstanding."""
        offer = self.offers.pop(offer_id, None)
        if offer is not None:
            self._by_framework.get(offer.framework_id, set()).discard(offer_id)
            self._by_agent.get(offer.agent_id, set()).discard(offer_id)
        return offer

    def _sorted(self, ids: set[str]) -> Iterator[Offer]:
        for offer_id in sorted(ids, key=lambda i: int(i.rsplit("-O", 1)[1])):
            yield self.offers[offer_id]

    def of_framework(self, framework_id: str) -> list[Offer]:
        return list(self._sorted(self._by_framework.get(framework_id, set())))

    def of_agent(self, agent_id: str) -> list[Offer]:
        return list(self._sorted(self._by_agent.get(agent_id, set())))

    def offered(self, *, framework_id: str | None = None, agent_id: str | None = None
                ) -> Resources:
        """The resources in outstanding offers (of a framework, of an agent)."""
        offers = (self.of_framework(framework_id) if framework_id is not None
                  else self.of_agent(agent_id) if agent_id is not None
                  else list(self.offers.values()))
        return sum((o.resources for o in offers), EMPTY)


def _recover(offer: Offer, out: Outbox, refuse_seconds: float | None = None) -> None:
    out.tell_allocator(AllocatorRecoverResources(
        framework_id=offer.framework_id, agent_id=offer.agent_id, resources=offer.resources,
        refuse_seconds=refuse_seconds, role=offer.role or None))


def agent_url(agent: AgentRecord, scheme: str = "http") -> URL | None:
    """The agent's HTTP endpoint, as Mesos puts it in offers (``http://ip:port/agent``;
    ``https`` when the cluster serves TLS)."""
    if not agent.info.http_port:
        return None
    return URL(scheme=scheme, address=Address(port=agent.info.http_port,
                                              hostname=agent.info.hostname, ip=agent.pid.host),
               path=f"/{agent.pid.name}")


def make_offers(books: Books, msg: OffersAllocated, out: Outbox) -> None:
    """Allocator -> master: one offer per (role, agent); what cannot be offered goes back.
    An agent of a DRAINING machine's offers carry its ``unavailability``."""
    from actors.master.maintenance import unavailability_of

    framework = books.frameworks.get(msg.framework_id)
    offers: list[Offer] = []
    pids = []
    for role, by_agent in sorted(msg.allocation.items()):
        for agent_id, resources in sorted(by_agent.items()):
            agent = books.agents.registered.get(agent_id)
            if (framework is None or not framework.active or not framework.connected
                    or agent is None or not agent.connected or not agent.active):
                _log.info("allocation not offerable, recovered", framework_id=msg.framework_id,
                          agent_id=agent_id)
                out.tell_allocator(AllocatorRecoverResources(
                    framework_id=msg.framework_id, agent_id=agent_id, resources=resources,
                    role=role))
                continue
            offer = Offer(
                id=books.offers.new_id(), framework_id=framework.id, agent_id=agent_id,
                hostname=agent.info.hostname, resources=resources,
                attributes=agent.info.attributes,
                executor_ids=tuple(sorted(framework.executors.get(agent_id, {}))),
                role=role, url=agent_url(agent, books.http_scheme), domain=agent.info.domain,
                unavailability=unavailability_of(books, agent))
            books.offers.add(offer)
            offers.append(offer)
            pids.append(agent.pid)
    if offers and framework is not None:
        out.send(framework.pid, ResourceOffers(offers=tuple(offers), pids=tuple(pids)))
        out.offers_made += [o.id for o in offers]


def rescind(books: Books, offer_id: str, out: Outbox, *, notify: bool = True) -> Offer | None:
    """Take an offer back: its resources return to the allocator (no filter)."""
    offer = books.offers.pop(offer_id)
    if offer is None:
        return None
    _recover(offer, out)
    framework = books.frameworks.get(offer.framework_id)
    if notify and framework is not None and framework.connected:
        out.send(framework.pid, RescindResourceOffer(offer_id=offer_id))
    return offer


def rescind_framework_offers(books: Books, framework: FrameworkRecord, out: Outbox,
                             *, notify: bool = True) -> None:
    for offer in books.offers.of_framework(framework.id):
        rescind(books, offer.id, out, notify=notify)


def rescind_agent_offers(books: Books, agent_id: str, out: Outbox) -> None:
    for offer in books.offers.of_agent(agent_id):
        rescind(books, offer.id, out)


def decline(books: Books, framework: FrameworkRecord, msg: DeclineOffers, out: Outbox) -> None:
    """Scheduler -> master: give offers back, refused for ``filters.refuse_seconds``."""
    for offer_id in msg.offer_ids:
        offer = books.offers.get(offer_id)
        if offer is None or offer.framework_id != framework.id:
            _log.info("ignoring the decline of an unknown offer", offer_id=offer_id,
                      framework_id=framework.id)
            continue
        books.offers.pop(offer_id)
        _recover(offer, out, msg.filters.refuse_seconds)
