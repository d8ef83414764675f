"""The master's books and the ``Outbox`` its pure decisions fill.

``Books`` gathers what the master knows (frameworks, agents, offers, maintenance, its own
``MasterInfo``); the pure functions of ``frameworks``, ``agents``, ``offers``,
``launch``, ``tasks`` and ``reconciliation`` read and update it and return an
``Outbox``: the messages to send to schedulers and agents, the commands for the
allocator, and the offers just made (so ``MasterActor`` can time them out). The actor
is the only caller; tests call the functions directly and read the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actors.authorization.acls import ACLs
from actors.master.agents import AgentBook
from actors.master.frameworks import FrameworkBook
from actors.master.maintenance import MaintenanceBook
from actors.master.offers import OfferBook
from actors.messages.info import MasterInfo
from transport.pid import PID

__all__ = ["Books", "Outbox"]


@dataclass
class Outbox:
    """What one decision asks the actor to do, in order."""

    sends: list[tuple[PID, Any]] = field(default_factory=list)
    """``(to, message)`` for schedulers and agents."""
    allocator: list[Any] = field(default_factory=list)
    """``Allocator*`` commands for the allocator actor."""
    offers_made: list[str] = field(default_factory=list)
    """Ids of the offers just sent (the actor starts their ``offer_timeout``)."""
    links: list[PID] = field(default_factory=list)
    """Processes to watch (``link``) from now on: new schedulers and agents."""

    def send(self, to: PID | None, msg: Any) -> None:
        """Queue ``msg`` for ``to``; nothing when there is nobody to send it to."""
        if to is not None:
            self.sends.append((to, msg))

    def tell_allocator(self, msg: Any) -> None:
        self.allocator.append(msg)

    def extend(self, other: Outbox) -> Outbox:
        self.sends += other.sends
        self.allocator += other.allocator
        self.offers_made += other.offers_made
        self.links += other.links
        return self

    def messages(self, kind: type) -> list[Any]:
        """The queued messages of one type (scheduler/agent sends and allocator commands)."""
        return [m for _, m in self.sends if isinstance(m, kind)] + [
            m for m in self.allocator if isinstance(m, kind)]


@dataclass
class Books:
    """Everything the master knows; touched only inside ``MasterActor``'s handlers."""

    master_info: MasterInfo
    now: Callable[[], float]
    frameworks: FrameworkBook = field(init=False)
    agents: AgentBook = field(init=False)
    offers: OfferBook = field(init=False)
    maintenance: MaintenanceBook = field(default_factory=MaintenanceBook)
    """The maintenance schedule, machine modes and inverse offers (``maintenance``)."""
    max_completed_frameworks: int = 50
    max_completed_tasks: int = 1000
    start_time: float = 0.0
    acls: ACLs = field(default_factory=ACLs)
    """``--acls``: what the decisions check (register_frameworks, run_tasks...)."""
    http_scheme: str = "http"
    """``https`` when the cluster serves TLS (``--ssl_enabled``): the agents' offer URLs."""

    def __post_init__(self) -> None:
        master_id = self.master_info.id
        self.frameworks = FrameworkBook(master_id, self.max_completed_frameworks,
                                        self.max_completed_tasks)
        self.agents = AgentBook(master_id)
        self.offers = OfferBook(master_id)
        self.start_time = self.now()

    @property
    def master_id(self) -> str:
        return self.master_info.id
