"""The allocator's books: frameworks, agents, sorters, and how allocations are charged.

``AllocatorState`` is owned by one ``HierarchicalAllocator``; the allocation cycle
(``cycle.py``) reads it and charges offers through ``track``. Keeping every
"resources moved" path in ``track``/``untrack`` keeps the agents' free resources,
the role sorter, the per-role framework sorters and the quota books in step (the
Mesos ``NoDoubleAccounting`` property).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from actors.allocator.config import AllocatorConfig, MinAllocatable, parse_min_allocatable
from actors.allocator.filters import OfferFilters
from actors.allocator.quota import Quota, QuotaBooks, add_into
from actors.allocator.sorter import DRFSorter
from actors.resources import Resources

__all__ = ["AgentRecord", "AllocatorState", "FrameworkRecord"]

GPU_RESOURCES = "GPU_RESOURCES"


@dataclass(slots=True)
class FrameworkRecord:
    """What the allocator knows of a framework."""

    framework_id: str
    roles: set[str]
    suppressed_roles: set[str]
    active: bool
    capabilities: frozenset[str] = frozenset()
    min_allocatable: dict[str, MinAllocatable] = field(default_factory=dict)
    """Per-role override of ``min_allocatable_resources`` (``offer_filters``)."""


@dataclass(slots=True)
class AgentRecord:
    """An agent's total, what is free, and what is offered or allocated to whom."""

    agent_id: str
    total: Resources
    available: Resources
    allocated: dict[tuple[str, str], Resources] = field(default_factory=dict)
    """(framework_id, role) -> resources offered or allocated on this agent."""
    activated: bool = True
    has_gpus: bool = False


class AllocatorState:
    """Every record of one allocator plus the bookkeeping that ties them together."""

    def __init__(self, config: AllocatorConfig) -> None:
        self.config = config
        self.frameworks: dict[str, FrameworkRecord] = {}
        self.agents: dict[str, AgentRecord] = {}
        self.role_sorter = DRFSorter(config.fair_sharing_excluded_resource_names)
        self.framework_sorters: dict[str, DRFSorter] = {}
        self.role_frameworks: dict[str, set[str]] = {}
        self.weights: dict[str, float] = dict(config.weights)
        self.quotas: dict[str, Quota] = {}
        self.quota_books: QuotaBooks | None = None
        self.filters = OfferFilters()
        self.total: dict[str, int] = {}
        self.min_allocatable = parse_min_allocatable(config.min_allocatable_resources)
        # Allocations of frameworks the allocator does not know yet (agent re-registered
        # first); charged to the sorters when the framework is added.
        self.orphans: dict[str, list[tuple[str, str, Resources]]] = {}
        for role, weight in self.weights.items():
            self.role_sorter.update_weight(role, weight)

    # -- frameworks under roles -----------------------------------------------------

    def track_framework_under_role(self, framework_id: str, role: str) -> None:
        if role not in self.framework_sorters:
            self.role_sorter.add(role)
            self.role_sorter.activate(role)
            sorter = DRFSorter(self.config.fair_sharing_excluded_resource_names)
            for agent in self.agents.values():
                sorter.add_agent(agent.agent_id, agent.total)
            self.framework_sorters[role] = sorter
            self.role_frameworks[role] = set()
        if framework_id not in self.role_frameworks[role]:
            self.role_frameworks[role].add(framework_id)
            self.framework_sorters[role].add(framework_id)

    def try_untrack_framework_under_role(self, framework_id: str, role: str) -> bool:
        """Forget the framework in ``role`` unless it still holds resources there."""
        sorter = self.framework_sorters.get(role)
        if sorter is None or not sorter.contains(framework_id):
            return True
        if sorter.allocation(framework_id):
            return False
        sorter.remove(framework_id)
        self.role_frameworks[role].discard(framework_id)
        if not self.role_frameworks[role]:
            self.role_sorter.remove(role)
            del self.framework_sorters[role]
            del self.role_frameworks[role]
        return True

    # -- agents ---------------------------------------------------------------------

    def add_agent_total(self, agent: AgentRecord) -> None:
        add_into(self.total, agent.total.quantities())
        self.role_sorter.add_agent(agent.agent_id, agent.total)
        for sorter in self.framework_sorters.values():
            sorter.add_agent(agent.agent_id, agent.total)
        if self.quota_books is not None:
            self.quota_books.add_agent(agent.total)
        agent.has_gpus = agent.total.get("gpus") > 0

    def remove_agent_total(self, agent: AgentRecord) -> None:
        add_into(self.total, agent.total.quantities(), -1)
        self.role_sorter.remove_agent(agent.agent_id)
        for sorter in self.framework_sorters.values():
            sorter.remove_agent(agent.agent_id)
        if self.quota_books is not None:
            self.quota_books.add_agent(agent.total, -1)

    # -- charging allocations -------------------------------------------------------

    def track(self, agent: AgentRecord, framework_id: str, role: str, res: Resources) -> None:
        """Charge ``res`` (already taken out of ``agent.available``) to a framework."""
        key = (framework_id, role)
        held = agent.allocated.get(key)
        agent.allocated[key] = res if held is None else held + res
        if framework_id not in self.frameworks:
            self.orphans.setdefault(framework_id, []).append((agent.agent_id, role, res))
            return
        self.charge(agent.agent_id, framework_id, role, res)

    def charge(self, agent_id: str, framework_id: str, role: str, res: Resources) -> None:
        """Tell the sorters and quota books (not the agent record) about an allocation."""
        if framework_id not in self.role_frameworks.get(role, ()):
            self.track_framework_under_role(framework_id, role)
        self.role_sorter.allocated(role, agent_id, res)
        self.framework_sorters[role].allocated(framework_id, agent_id, res)
        if self.quota_books is not None:
            self.quota_books.track(role, res)

    def untrack(self, agent: AgentRecord, framework_id: str, role: str, res: Resources) -> None:
        """Give ``res`` back to the agent's free pool and uncharge the framework."""
        key = (framework_id, role)
        held = agent.allocated.get(key)
        if held is None or not held.contains(res):
            raise ValueError(
                f"framework {framework_id!r} holds {held or 'nothing'} in role {role!r} "
                f"on agent {agent.agent_id!r}, not {res}"
            )
        rest = held - res
        if rest:
            agent.allocated[key] = rest
        else:
            del agent.allocated[key]
        agent.available = agent.available + res
        sorter = self.framework_sorters.get(role)
        if sorter is None or not sorter.contains(framework_id):
            return  # an orphan allocation, never charged to the sorters
        sorter.unallocated(framework_id, agent.agent_id, res)
        self.role_sorter.unallocated(role, agent.agent_id, res)
        if self.quota_books is not None:
            self.quota_books.track(role, res, -1)
        framework = self.frameworks.get(framework_id)
        if framework is not None and role not in framework.roles:
            self.try_untrack_framework_under_role(framework_id, role)

    def rebuild_quota_books(self) -> None:
        """Start (or stop) keeping quota totals: only needed while some quota is set."""
        if not self.quotas:
            self.quota_books = None
            return
        books = QuotaBooks()
        for agent in self.agents.values():
            books.add_agent(agent.total)
            for (framework_id, role), res in agent.allocated.items():
                if framework_id in self.frameworks:
                    books.track(role, res)
        self.quota_books = books

    def roles_of_allocations(self, framework_id: str) -> Iterable[str]:
        return [role for role, ids in self.role_frameworks.items() if framework_id in ids]

    def allocatable(self, res: Resources, role: str, framework: FrameworkRecord) -> bool:
        """Mesos ``allocatable()``: worth offering under min_allocatable_resources."""
        return self.meets_min_allocatable(
            res, framework.min_allocatable.get(role, self.min_allocatable)
        )

    @staticmethod
    def meets_min_allocatable(res: Resources, alternatives: MinAllocatable) -> bool:
        """Non-empty and, if alternatives are given, meeting all of one of them."""
        if not res:
            return False
        if not alternatives:
            return True
        qty = res.quantities()
        for alternative in alternatives:
            for name, minimum in alternative:
                if qty.get(name, 0) < minimum:
                    break
            else:
                return True
        return False

    def capable(self, framework: FrameworkRecord, agent: AgentRecord) -> bool:
        return not (
            agent.has_gpus
            and self.config.filter_gpu_resources
            and GPU_RESOURCES not in framework.capabilities
        )
