"""Maintenance in the master: the ``MaintenanceBook`` and the pure decisions over it.

After Mesos' ``src/master/http.cpp`` (the endpoints' bodies) and the inverse-offer parts
of its hierarchical allocator. The ``MaintenanceHandlers`` of the master
(``maintenance_handlers``) parse and validate a request (``maintenance_requests``), make
it durable (``actors.registry.maintenance``), then apply it here:

- ``machine_of(agent)``: the agent's machine, ``(hostname lower-cased, ip of its PID)``;
  an agent is on a scheduled machine when both match, as in Mesos;
- ``apply_schedule``: the new machine modes; agents whose unavailability changed have their
  offers and inverse offers rescinded (re-offered with the new unavailability);
- ``inverse_offers_due``: every framework using an agent of a DRAINING machine gets an
  ``InverseOffer`` for it unless one is outstanding or its answer's filter still holds
  (the master's maintenance timer calls it every ``allocation_interval``; Mesos does it in
  each allocation run);
- ``answer``: ACCEPT / DECLINE recorded with a refusal filter (``refuse_seconds``);
- ``status_json`` / ``schedule_json``: ``/maintenance/status`` and ``/maintenance/schedule``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors.messages.framework import RescindInverseOffer, ResourceOffers
from actors.messages.maintenance import (
    NANOS,
    InverseOffer,
    InverseOfferState,
    InverseOfferStatus,
    MachineID,
    MachineInfo,
    MachineMode,
    Schedule,
    Unavailability,
)
from actors.messages.offers import DEFAULT_REFUSE_SECONDS, Filters
from actors.messages.v1json import to_v1
from actors.registry.maintenance import machines_down, machines_up, schedule_machines

if TYPE_CHECKING:
    from actors.master.agents import AgentRecord
    from actors.master.books import Books, Outbox
    from actors.master.frameworks import FrameworkRecord

__all__ = [
    "MaintenanceBook",
    "agents_on",
    "answer",
    "apply_down",
    "apply_schedule",
    "apply_up",
    "forget",
    "inverse_offers_due",
    "machine_of",
    "schedule_json",
    "status_json",
    "unavailability_of",
]

MAX_REFUSE_SECONDS = 365 * 24 * 3600.0
"""Filters longer than a year are capped (as Mesos' allocator does)."""


@dataclass
class MaintenanceBook:
    """The schedule, the scheduled machines, and the inverse offers and their answers."""

    schedule: Schedule = field(default_factory=Schedule)
    machines: dict[MachineID, MachineInfo] = field(default_factory=dict)
    inverse_offers: dict[str, InverseOffer] = field(default_factory=dict)
    """Outstanding inverse offers by id."""
    statuses: dict[tuple[str, str], InverseOfferStatus] = field(default_factory=dict)
    """``(agent_id, framework_id) -> the framework's last answer`` (UNKNOWN: none yet)."""
    filters: dict[tuple[str, str], float] = field(default_factory=dict)
    """``(agent_id, framework_id) -> until when`` no new inverse offer is made."""
    seq: itertools.count[int] = field(default_factory=itertools.count)

    def mode(self, machine_id: MachineID) -> MachineMode:
        info = self.machines.get(machine_id)
        return MachineMode.UP if info is None else info.mode

    @property
    def draining(self) -> bool:
        return any(m.mode is MachineMode.DRAINING for m in self.machines.values())


# --- machines and agents -------------------------------------------------------------------


def machine_of(agent: AgentRecord) -> MachineID:
    """The machine an agent runs on, as Mesos builds it: its hostname and its PID's ip."""
    return MachineID(hostname=agent.info.hostname.lower(), ip=agent.pid.host)


def agents_on(books: Books, machine_id: MachineID) -> list[AgentRecord]:
    return [a for a in books.agents.registered.values() if machine_of(a) == machine_id]


def unavailability_of(books: Books, agent: AgentRecord) -> Unavailability | None:
    """What goes in the agent's offers: its machine's unavailability while DRAINING."""
    info = books.maintenance.machines.get(machine_of(agent))
    if info is None or info.mode is not MachineMode.DRAINING:
        return None
    return info.unavailability


def _rescind_agent(books: Books, agent_id: str, out: Outbox) -> None:
    """Offers and inverse offers of an agent whose unavailability changed."""
    from actors.master.offers import rescind_agent_offers

    rescind_agent_offers(books, agent_id, out)
    for inverse in [i for i in books.maintenance.inverse_offers.values()
                    if i.agent_id == agent_id]:
        _rescind_inverse(books, inverse, out)


def _rescind_inverse(books: Books, inverse: InverseOffer, out: Outbox) -> None:
    books.maintenance.inverse_offers.pop(inverse.id, None)
    framework = books.frameworks.get(inverse.framework_id)
    if framework is not None and framework.connected:
        out.send(framework.pid, RescindInverseOffer(inverse_offer_id=inverse.id))


def _forget_agent(book: MaintenanceBook, agent_id: str) -> None:
    for key in [k for k in book.statuses if k[0] == agent_id]:
        del book.statuses[key]
    for key in [k for k in book.filters if k[0] == agent_id]:
        del book.filters[key]


def apply_schedule(books: Books, schedule: Schedule, out: Outbox) -> None:
    """The new schedule is durable: new machine modes; agents whose unavailability changed
    lose their offers (re-offered with it) and inverse offers (made again)."""
    book = books.maintenance
    before = {a.id: unavailability_of(books, a) for a in books.agents.registered.values()}
    book.machines = schedule_machines(book.machines, schedule)
    book.schedule = schedule
    for agent in books.agents.registered.values():
        now = unavailability_of(books, agent)
        if now != before[agent.id]:
            _rescind_agent(books, agent.id, out)
            _forget_agent(book, agent.id)


def apply_down(books: Books, ids: tuple[MachineID, ...]) -> list[AgentRecord]:
    """The machines are DOWN (durably): the agents on them, for the master to remove."""
    book = books.maintenance
    book.machines = machines_down(book.machines, ids)
    return [a for machine_id in ids for a in agents_on(books, machine_id)]


def apply_up(books: Books, ids: tuple[MachineID, ...]) -> None:
    book = books.maintenance
    book.machines, book.schedule = machines_up(book.machines, book.schedule, ids)


def recover(books: Books, schedule: Schedule, machines: tuple[MachineInfo, ...]) -> None:
    """After a failover: the schedule and modes the registry kept."""
    books.maintenance.schedule = schedule
    books.maintenance.machines = {m.id: m for m in machines}


# --- inverse offers ------------------------------------------------------------------------


def _users(agent: AgentRecord) -> set[str]:
    """The frameworks with resources on the agent (tasks or executors)."""
    return ({fid for fid, _ in agent.tasks} | {fid for fid, e in agent.executors.items() if e})


def forget(books: Books, out: Outbox) -> None:
    """Drop inverse offers that make no sense any more (agent gone or no longer draining,
    framework gone, disconnected or inactive: it gets a new one when back, as Mesos
    removes them with the framework's offers); a framework still connected hears they
    are rescinded."""
    book = books.maintenance
    for inverse in list(book.inverse_offers.values()):
        agent = books.agents.registered.get(inverse.agent_id)
        framework = books.frameworks.registered.get(inverse.framework_id)
        if (agent is None or unavailability_of(books, agent) is None
                or inverse.framework_id not in _users(agent)
                or framework is None or not framework.connected or not framework.active):
            _rescind_inverse(books, inverse, out)
    for key in list(book.statuses):
        agent = books.agents.registered.get(key[0])
        if agent is None or unavailability_of(books, agent) is None:
            del book.statuses[key]


def inverse_offers_due(books: Books, now: float, out: Outbox) -> list[InverseOffer]:
    """Send an inverse offer to every framework using an agent of a DRAINING machine that
    has none outstanding for it and no active filter; each is recorded UNKNOWN until the
    framework answers. One ``ResourceOffers`` (with only ``inverse_offers``) a framework."""
    from actors.master.offers import agent_url

    forget(books, out)
    book = books.maintenance
    outstanding = {(i.agent_id, i.framework_id) for i in book.inverse_offers.values()}
    made: dict[str, list[InverseOffer]] = {}
    for agent in books.agents.registered.values():
        unavailability = unavailability_of(books, agent)
        if unavailability is None or not agent.connected:
            continue
        for framework_id in sorted(_users(agent)):
            framework = books.frameworks.registered.get(framework_id)
            key = (agent.id, framework_id)
            if (framework is None or not framework.connected or not framework.active
                    or key in outstanding or book.filters.get(key, -1.0) > now):
                continue
            book.filters.pop(key, None)
            inverse = InverseOffer(id=f"{books.master_id}-I{next(book.seq)}",
                                   framework_id=framework_id, agent_id=agent.id,
                                   unavailability=unavailability,
                                   url=agent_url(agent, books.http_scheme))
            book.inverse_offers[inverse.id] = inverse
            book.statuses.setdefault(key, InverseOfferStatus(
                status=InverseOfferState.UNKNOWN, framework_id=framework_id, timestamp=now))
            made.setdefault(framework_id, []).append(inverse)
    for framework_id, inverses in made.items():
        framework = books.frameworks.registered[framework_id]
        out.send(framework.pid, ResourceOffers(offers=(), inverse_offers=tuple(inverses)))
    return [i for inverses in made.values() for i in inverses]


def _refuse_seconds(filters: Filters) -> float:
    seconds = filters.refuse_seconds
    if seconds < 0:
        return DEFAULT_REFUSE_SECONDS
    return min(seconds, MAX_REFUSE_SECONDS)


def answer(books: Books, framework: FrameworkRecord, ids: tuple[str, ...],
           state: InverseOfferState, filters: Filters, now: float) -> list[str]:
    """A framework accepted or declined inverse offers: the answer is recorded (shown in
    ``/maintenance/status``) and no new one is made for that agent for the filter's time.
    The ids it answered for; unknown ones and others' are ignored."""
    book = books.maintenance
    answered = []
    for inverse_id in ids:
        inverse = book.inverse_offers.get(inverse_id)
        if inverse is None or inverse.framework_id != framework.id:
            continue
        del book.inverse_offers[inverse_id]
        key = (inverse.agent_id, framework.id)
        book.statuses[key] = InverseOfferStatus(status=state, framework_id=framework.id,
                                                timestamp=now)
        book.filters[key] = now + _refuse_seconds(filters)
        answered.append(inverse_id)
    return answered


# --- endpoint bodies -----------------------------------------------------------------------


def schedule_json(book: MaintenanceBook) -> dict[str, Any]:
    """``GET /maintenance/schedule``: the schedule in Mesos' JSON (``{}`` when empty)."""
    return to_v1(book.schedule)


def status_json(books: Books) -> dict[str, Any]:
    """``GET /maintenance/status`` (Mesos' ``ClusterStatus``): the DRAINING machines with
    the frameworks' answers for their agents, and the DOWN machines."""
    book = books.maintenance
    draining = []
    for machine_id, info in book.machines.items():
        if info.mode is not MachineMode.DRAINING:
            continue
        agent_ids = {a.id for a in agents_on(books, machine_id)}
        statuses = [{"status": s.status.name, "framework_id": {"value": s.framework_id},
                     "timestamp": {"nanoseconds": round(s.timestamp * NANOS)}}
                    for (agent_id, _), s in sorted(book.statuses.items())
                    if agent_id in agent_ids]
        entry: dict[str, Any] = {"id": to_v1(machine_id)}
        if statuses:
            entry["statuses"] = statuses
        draining.append(entry)
    down = [to_v1(m) for m, info in book.machines.items() if info.mode is MachineMode.DOWN]
    out: dict[str, Any] = {}
    if draining:
        out["draining_machines"] = draining
    if down:
        out["down_machines"] = down
    return out
