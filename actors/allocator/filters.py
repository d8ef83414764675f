"""Refusal offer filters: what a framework declined, on which agent, until when.

``HierarchicalAllocator.recover_resources`` installs them on a decline and
``revive_offers`` clears them; the allocation cycle asks ``is_filtered``. Expiry is
checked against the injected clock, so nothing here needs a timer.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.allocator.config import MAX_REFUSE_SECONDS
from actors.resources import Resources

__all__ = ["OfferFilters", "RefusedOfferFilter", "refusal_timeout"]


def refusal_timeout(
    refuse_seconds: float, allocation_interval: float, default_seconds: float
) -> float:
    """Mesos' rules: cap at 365 days, negative -> default, 0 -> none, floor = interval."""
    if refuse_seconds != refuse_seconds or refuse_seconds < 0:  # NaN or negative
        refuse_seconds = default_seconds
    refuse_seconds = min(refuse_seconds, MAX_REFUSE_SECONDS)
    if refuse_seconds == 0:
        return 0.0
    # A filter shorter than the interval would expire before the next run could honour it.
    return max(refuse_seconds, allocation_interval)


@dataclass(frozen=True, slots=True)
class RefusedOfferFilter:
    """Suppresses offers that fit inside ``resources`` until ``expires_at``."""

    resources: Resources
    expires_at: float

    def filters(self, offer: Resources, now: float) -> bool:
        return now < self.expires_at and self.resources.contains(offer)


class OfferFilters:
    """All refusal filters, indexed by (framework_id, role) then agent_id."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, str], dict[str, list[RefusedOfferFilter]]] = {}
        """(framework_id, role) -> agent_id -> filters; read-only outside this class."""

    def add(self, framework_id: str, role: str, agent_id: str, f: RefusedOfferFilter) -> None:
        agents = self.index.setdefault((framework_id, role), {})
        agents.setdefault(agent_id, []).append(f)

    def is_filtered(
        self, framework_id: str, role: str, agent_id: str, offer: Resources, now: float
    ) -> bool:
        agents = self.index.get((framework_id, role))
        if not agents:
            return False
        found = agents.get(agent_id)
        return found is not None and any(f.filters(offer, now) for f in found)

    def expire(self, now: float) -> None:
        """Drop every filter whose time has come."""
        for key in list(self.index):
            agents = self.index[key]
            for agent_id in list(agents):
                alive = [f for f in agents[agent_id] if now < f.expires_at]
                if alive:
                    agents[agent_id] = alive
                else:
                    del agents[agent_id]
            if not agents:
                del self.index[key]

    def clear(self, framework_id: str, role: str | None = None) -> None:
        """Forget a framework's filters, for one role or all of them."""
        for key in list(self.index):
            if key[0] == framework_id and (role is None or key[1] == role):
                del self.index[key]

    def clear_agent(self, agent_id: str) -> None:
        for key in list(self.index):
            self.index[key].pop(agent_id, None)
            if not self.index[key]:
                del self.index[key]

    def active_by_role(self, now: float) -> dict[str, int]:
        """How many unexpired filters each role has (for metrics)."""
        counts: dict[str, int] = {}
        for (_, role), agents in self.index.items():
            alive = sum(1 for fs in agents.values() for f in fs if now < f.expires_at)
            counts[role] = counts.get(role, 0) + alive
        return counts
