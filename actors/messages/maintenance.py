"""Maintenance records (Mesos' ``include/mesos/maintenance/maintenance.proto`` and the
``MachineID`` / ``MachineInfo`` / ``Unavailability`` / ``InverseOffer`` of ``mesos.proto``).

An operator posts a ``Schedule`` of ``Window``s to the master's ``/maintenance/schedule``;
each window names machines (``MachineID``: hostname and ip) and when they will be
unavailable (``Unavailability``: start and optional duration, in **nanoseconds** as
Mesos' ``TimeInfo`` / ``DurationInfo``). A scheduled machine is DRAINING; ``/machine/down``
makes it DOWN, ``/machine/up`` UP again (``MachineMode``). The master keeps the schedule
and every scheduled machine's ``MachineInfo`` in the registry (``actors.registry.model``),
puts the unavailability in the offers of a draining machine's agents (``Offer.unavailability``)
and asks the frameworks using such an agent for their resources back with an
``InverseOffer`` (in ``ResourceOffers.inverse_offers``). Records only: the decisions are in
``actors.master.maintenance``.
"""

from __future__ import annotations

import enum

from actors.messages.info import URL
from actors.resources import EMPTY, Resources
from transport.codec import record

__all__ = [
    "NANOS",
    "InverseOffer",
    "InverseOfferState",
    "InverseOfferStatus",
    "MachineID",
    "MachineInfo",
    "MachineMode",
    "Schedule",
    "Unavailability",
    "Window",
]

NANOS = 1_000_000_000
"""Nanoseconds in a second."""


@record
class MachineID:
    """A machine, as the agents on it announce themselves: hostname (case-insensitive,
    kept lower-case) and ip. An agent is on a machine when both match exactly; an
    omitted field is ``""``, as in Mesos."""

    hostname: str = ""
    ip: str = ""

    def __str__(self) -> str:
        return f"{self.hostname or '-'}/{self.ip or '-'}"


@record
class Unavailability:
    """When a machine's resources go away: from ``start`` (nanoseconds since the epoch)
    for ``duration`` nanoseconds (``None``: for good)."""

    start: int
    duration: int | None = None

    @property
    def start_seconds(self) -> float:
        return self.start / NANOS


@record
class Window:
    """Some machines and the one interval they will be unavailable."""

    machine_ids: tuple[MachineID, ...]
    unavailability: Unavailability


@record
class Schedule:
    """The cluster's maintenance plan: a machine appears in at most one window."""

    windows: tuple[Window, ...] = ()


class MachineMode(enum.Enum):
    """A machine's maintenance mode (Mesos' ``MachineInfo.Mode``)."""

    UP = 1
    DRAINING = 2
    DOWN = 3


@record
class MachineInfo:
    """A scheduled machine, its mode and its window's unavailability."""

    id: MachineID
    mode: MachineMode = MachineMode.DRAINING
    unavailability: Unavailability | None = None


@record
class InverseOffer:
    """Master -> framework: give back ``resources`` (empty: all you hold) of an agent
    before ``unavailability`` starts (Mesos' ``InverseOffer``)."""

    id: str
    framework_id: str
    agent_id: str
    unavailability: Unavailability
    url: URL | None = None
    """The agent's HTTP endpoint."""
    resources: Resources = EMPTY


class InverseOfferState(enum.Enum):
    """A framework's answer to an inverse offer (``InverseOfferStatus.Status``)."""

    UNKNOWN = 1
    ACCEPT = 2
    DECLINE = 3


@record
class InverseOfferStatus:
    """What a framework answered for one agent's inverse offer, and when (seconds)."""

    status: InverseOfferState
    framework_id: str
    timestamp: float = 0.0
