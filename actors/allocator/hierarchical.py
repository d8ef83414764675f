"""The hierarchical allocator: Mesos' offer policy as a plain object.

The master's allocator actor (not here) owns one ``HierarchicalAllocator``, forwards
cluster events to it (frameworks, agents, declines, suppress/revive, quota,
weights) and drives it in time: ``allocate()`` on every ``allocation_interval`` tick
(a run over all agents) and ``allocate_pending()`` soon after events, which runs
once over the agents that events marked as candidates (several events merge into
one pending run, like Mesos' ``allocationCandidates``). Offers come back through the
``offer_callback`` given at construction; there is no master reference, no thread
and no timer in here, and time comes from the injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from random import Random
from typing import Protocol

from actors.allocator.config import AllocatorConfig, Clock, parse_min_allocatable
from actors.allocator.cycle import generate_offers
from actors.allocator.filters import RefusedOfferFilter, refusal_timeout
from actors.allocator.metrics import PREFIX, AllocatorMetrics
from actors.allocator.quota import Quota, parse_quantities
from actors.allocator.records import AgentRecord, AllocatorState, FrameworkRecord
from actors.resources import Resources, format_milli

__all__ = ["Allocator", "HierarchicalAllocator", "OfferCallback"]

OfferCallback = Callable[[str, dict[str, dict[str, Resources]]], None]
"""``offer_callback(framework_id, {role: {agent_id: resources}})``."""

QuantitySpec = str | Mapping[str, float] | Resources


class Allocator(Protocol):
    """The allocator seam the master's allocator actor drives."""

    def add_framework(
        self,
        framework_id: str,
        roles: Iterable[str],
        suppressed_roles: Iterable[str] = (),
        active: bool = True,
        capabilities: Iterable[str] = (),
        min_allocatable_resources: Mapping[str, str] | None = None,
    ) -> None: ...
    def remove_framework(self, framework_id: str) -> None: ...
    def activate_framework(self, framework_id: str) -> None: ...
    def deactivate_framework(self, framework_id: str) -> None: ...
    def update_framework(
        self,
        framework_id: str,
        roles: Iterable[str],
        suppressed_roles: Iterable[str] = (),
        capabilities: Iterable[str] = (),
        min_allocatable_resources: Mapping[str, str] | None = None,
    ) -> None: ...
    def add_agent(
        self,
        agent_id: str,
        total: Resources,
        used_by_framework: Mapping[str, Mapping[str, Resources]] | None = None,
    ) -> None: ...
    def remove_agent(self, agent_id: str) -> None: ...
    def update_agent(self, agent_id: str, total: Resources) -> None: ...
    def activate_agent(self, agent_id: str) -> None: ...
    def deactivate_agent(self, agent_id: str) -> None: ...
    def recover_resources(
        self,
        framework_id: str,
        agent_id: str,
        resources: Resources,
        refuse_seconds: float | None = None,
        role: str | None = None,
    ) -> None: ...
    def suppress_offers(self, framework_id: str, roles: Iterable[str] | None = None) -> None: ...
    def revive_offers(self, framework_id: str, roles: Iterable[str] | None = None) -> None: ...
    def update_weights(self, weights: Mapping[str, float]) -> None: ...
    def update_quota(
        self, role: str, guarantees: QuantitySpec = "", limits: QuantitySpec = ""
    ) -> None: ...
    def allocate(self) -> None: ...
    def allocate_pending(self) -> bool: ...
    def pending(self) -> bool: ...
    def metrics(self) -> dict[str, float]: ...


class HierarchicalAllocator:
    """Weighted DRF over roles, then over each role's frameworks (Mesos' default)."""

    def __init__(
        self,
        offer_callback: OfferCallback,
        clock: Clock,
        config: AllocatorConfig | None = None,
    ) -> None:
        self._config = config or AllocatorConfig()
        self._callback = offer_callback
        self._clock = clock
        self._state = AllocatorState(self._config)
        self._rng = Random(self._config.seed)
        self._metrics = AllocatorMetrics()
        self._candidates: set[str] = set()
        self._all_candidates = False

    @property
    def config(self) -> AllocatorConfig:
        return self._config

    # -- frameworks -----------------------------------------------------------------

    def add_framework(
        self,
        framework_id: str,
        roles: Iterable[str],
        suppressed_roles: Iterable[str] = (),
        active: bool = True,
        capabilities: Iterable[str] = (),
        min_allocatable_resources: Mapping[str, str] | None = None,
    ) -> None:
        """A framework subscribed: track it under each role; trigger a full run."""
        state = self._state
        if framework_id in state.frameworks:
            raise ValueError(f"framework {framework_id!r} was already added")
        framework = FrameworkRecord(
            framework_id,
            set(roles),
            set(suppressed_roles),
            active,
            frozenset(capabilities),
            _min_allocatable(min_allocatable_resources),
        )
        state.frameworks[framework_id] = framework
        for role in framework.roles:
            state.track_framework_under_role(framework_id, role)
            if active and role not in framework.suppressed_roles:
                state.framework_sorters[role].activate(framework_id)
        for agent_id, role, res in state.orphans.pop(framework_id, []):
            state.charge(agent_id, framework_id, role, res)
        if active:
            self._request(None)

    def remove_framework(self, framework_id: str) -> None:
        """Recover everything the framework holds and forget it and its filters."""
        state = self._state
        self._framework(framework_id)
        for role in list(state.roles_of_allocations(framework_id)):
            sorter = state.framework_sorters[role]
            for agent_id, res in sorter.allocation(framework_id).items():
                state.untrack(state.agents[agent_id], framework_id, role, res)
        framework = state.frameworks.pop(framework_id)
        for role in set(state.roles_of_allocations(framework_id)) | framework.roles:
            framework.roles.discard(role)
            state.try_untrack_framework_under_role(framework_id, role)
        state.filters.clear(framework_id)

    def activate_framework(self, framework_id: str) -> None:
        framework = self._framework(framework_id)
        framework.active = True
        for role in framework.roles - framework.suppressed_roles:
            self._state.framework_sorters[role].activate(framework_id)
        self._request(None)

    def deactivate_framework(self, framework_id: str) -> None:
        """Stop offering to the framework and drop its filters (it may fail over)."""
        framework = self._framework(framework_id)
        for role in framework.roles:
            self._state.framework_sorters[role].deactivate(framework_id)
        framework.active = False
        self._state.filters.clear(framework_id)

    def update_framework(
        self,
        framework_id: str,
        roles: Iterable[str],
        suppressed_roles: Iterable[str] = (),
        capabilities: Iterable[str] = (),
        min_allocatable_resources: Mapping[str, str] | None = None,
    ) -> None:
        """New roles, suppressed roles or capabilities after a re-subscription."""
        state = self._state
        framework = self._framework(framework_id)
        new_roles, new_suppressed = set(roles), set(suppressed_roles)
        for role in new_roles - framework.roles:
            state.track_framework_under_role(framework_id, role)
        for role in framework.roles - new_roles:
            state.framework_sorters[role].deactivate(framework_id)
            state.filters.clear(framework_id, role)
        old_roles, old_suppressed = framework.roles, framework.suppressed_roles
        framework.roles = new_roles
        for role in old_roles - new_roles:
            state.try_untrack_framework_under_role(framework_id, role)
        framework.suppressed_roles = new_suppressed & new_roles
        framework.capabilities = frozenset(capabilities)
        framework.min_allocatable = _min_allocatable(min_allocatable_resources)
        for role in new_roles:
            sorter = state.framework_sorters[role]
            if framework.active and role not in framework.suppressed_roles:
                sorter.activate(framework_id)
            else:
                sorter.deactivate(framework_id)
        for role in (old_suppressed - framework.suppressed_roles) & new_roles:
            state.filters.clear(framework_id, role)  # un-suppressing a role revives it
        self._request(None)

    # -- agents ---------------------------------------------------------------------

    def add_agent(
        self,
        agent_id: str,
        total: Resources,
        used_by_framework: Mapping[str, Mapping[str, Resources]] | None = None,
    ) -> None:
        """An agent joined with ``total``; ``used_by_framework`` is {fw: {role: res}}."""
        state = self._state
        if agent_id in state.agents:
            raise ValueError(f"agent {agent_id!r} was already added")
        used = [
            (f, role, res)
            for f, by in (used_by_framework or {}).items()
            for role, res in by.items()
        ]
        available = total
        for _, _, res in used:
            available = available - res  # raises if the agent is overcommitted
        agent = AgentRecord(agent_id, total, available)
        state.agents[agent_id] = agent
        state.add_agent_total(agent)
        for framework_id, role, res in used:
            if res:
                state.track(agent, framework_id, role, res)
        self._request([agent_id])

    def remove_agent(self, agent_id: str) -> None:
        """Forget an agent; its allocations vanish with it (tasks there are lost)."""
        state = self._state
        agent = self._agent(agent_id)
        for (framework_id, role), res in list(agent.allocated.items()):
            state.untrack(agent, framework_id, role, res)
        state.remove_agent_total(agent)
        del state.agents[agent_id]
        state.filters.clear_agent(agent_id)
        self._candidates.discard(agent_id)
        for entries in state.orphans.values():
            entries[:] = [e for e in entries if e[0] != agent_id]

    def update_agent(self, agent_id: str, total: Resources) -> None:
        """The agent's total changed (e.g. a new reservation); re-run it."""
        state = self._state
        agent = self._agent(agent_id)
        if total == agent.total:
            return
        used = Resources()
        for res in agent.allocated.values():
            used = used + res
        available = total - used  # raises if shrinking below what is in use
        state.remove_agent_total(agent)
        agent.total, agent.available = total, available
        state.add_agent_total(agent)
        self._request([agent_id])

    def activate_agent(self, agent_id: str) -> None:
        self._agent(agent_id).activated = True

    def deactivate_agent(self, agent_id: str) -> None:
        self._agent(agent_id).activated = False

    # -- offers ---------------------------------------------------------------------

    def recover_resources(
        self,
        framework_id: str,
        agent_id: str,
        resources: Resources,
        refuse_seconds: float | None = None,
        role: str | None = None,
    ) -> None:
        """Resources come back (decline, unused part of an accept, task end).

        ``refuse_seconds`` (a decline's ``Filters.refuse_seconds``) installs a
        refusal filter; ``None`` installs none. ``role`` may be omitted when only one
        of the framework's allocations on the agent holds the resources. Like Mesos,
        this does not trigger a run: the resources wait for the next tick.
        """
        state = self._state
        agent = state.agents.get(agent_id)
        if not resources or agent is None or framework_id not in state.frameworks:
            return
        if role is None:
            holders = [
                r
                for (f, r), held in agent.allocated.items()
                if f == framework_id and resources <= held
            ]
            if not holders:
                raise ValueError(
                    f"framework {framework_id!r} holds no {resources} on agent {agent_id!r}"
                )
            role = sorted(holders)[0]
        state.untrack(agent, framework_id, role, resources)
        if refuse_seconds is None:
            return
        timeout = refusal_timeout(
            refuse_seconds, self._config.allocation_interval, self._config.refuse_seconds
        )
        if timeout > 0:
            expires_at = self._clock.now() + timeout
            state.filters.add(
                framework_id, role, agent_id, RefusedOfferFilter(resources, expires_at)
            )

    def suppress_offers(self, framework_id: str, roles: Iterable[str] | None = None) -> None:
        framework = self._framework(framework_id)
        for role in framework.roles if roles is None else set(roles) & framework.roles:
            self._state.framework_sorters[role].deactivate(framework_id)
            framework.suppressed_roles.add(role)

    def revive_offers(self, framework_id: str, roles: Iterable[str] | None = None) -> None:
        """Clear the roles' filters, un-suppress them, and trigger a full run."""
        framework = self._framework(framework_id)
        for role in framework.roles if roles is None else set(roles) & framework.roles:
            self._state.filters.clear(framework_id, role)
            framework.suppressed_roles.discard(role)
            if framework.active:
                self._state.framework_sorters[role].activate(framework_id)
        self._request(None)

    # -- policy ---------------------------------------------------------------------

    def update_weights(self, weights: Mapping[str, float]) -> None:
        for role, weight in weights.items():
            self._state.weights[role] = weight
            self._state.role_sorter.update_weight(role, weight)

    def update_quota(
        self, role: str, guarantees: QuantitySpec = "", limits: QuantitySpec = ""
    ) -> None:
        """Set a top-level role's quota; empty guarantees and limits remove it."""
        if "/" in role:
            raise ValueError(f"quota can only be set on top-level roles, not {role!r}")
        quota = Quota(parse_quantities(guarantees), parse_quantities(limits))
        if quota.is_default:
            self._state.quotas.pop(role, None)
        else:
            self._state.quotas[role] = quota
        self._state.rebuild_quota_books()

    # -- running --------------------------------------------------------------------

    def pending(self) -> bool:
        """True when events asked for a run that has not happened yet."""
        return self._all_candidates or bool(self._candidates)

    def allocate(self) -> None:
        """A batch run over every agent (the ``allocation_interval`` tick)."""
        self._all_candidates = False
        self._candidates.clear()
        self._run(list(self._state.agents))

    def allocate_pending(self) -> bool:
        """Run once over the agents events marked since the last run; False if none."""
        if not self.pending():
            return False
        if self._all_candidates:
            self.allocate()
            return True
        agent_ids = [a for a in self._candidates if a in self._state.agents]
        self._candidates.clear()
        self._run(agent_ids)
        return True

    def metrics(self) -> dict[str, float]:
        state = self._state
        out = self._metrics.snapshot()
        for role in state.framework_sorters:
            out[f"{PREFIX}roles/{role}/shares/dominant"] = state.role_sorter.share(role)
        allocated = state.role_sorter.allocation_quantities()
        for name, total in state.total.items():
            out[f"{PREFIX}resources/{name}/total"] = total / 1000
            out[f"{PREFIX}resources/{name}/offered_or_allocated"] = allocated.get(name, 0) / 1000
        for role, count in state.filters.active_by_role(self._clock.now()).items():
            out[f"{PREFIX}offer_filters/roles/{role}/active"] = float(count)
        return out

    # -- test and wrapper helpers ---------------------------------------------------

    def offered_or_allocated(self, agent_id: str) -> dict[tuple[str, str], Resources]:
        """What each (framework, role) holds on the agent."""
        return dict(self._agent(agent_id).allocated)

    def available(self, agent_id: str) -> Resources:
        return self._agent(agent_id).available

    def quota_consumed(self, role: str) -> str:
        books = self._state.quota_books
        consumed = books.consumed(role) if books else {}
        return ";".join(f"{n}:{format_milli(v)}" for n, v in sorted(consumed.items()))

    # -- internals ------------------------------------------------------------------

    def _run(self, agent_ids: list[str]) -> None:
        started = time.perf_counter()
        state = self._state
        now = self._clock.now()
        state.filters.expire(now)
        agents = state.agents
        agent_ids = [a for a in agent_ids if agents[a].activated]
        offerable = generate_offers(state, agent_ids, now, self._rng)
        self._metrics.record_run(time.perf_counter() - started)
        for framework_id, by_role in offerable.items():
            self._callback(framework_id, by_role)

    def _request(self, agent_ids: list[str] | None) -> None:
        if agent_ids is None:
            self._all_candidates = True
        else:
            self._candidates.update(agent_ids)

    def _framework(self, framework_id: str) -> FrameworkRecord:
        framework = self._state.frameworks.get(framework_id)
        if framework is None:
            raise KeyError(f"unknown framework {framework_id!r}")
        return framework

    def _agent(self, agent_id: str) -> AgentRecord:
        agent = self._state.agents.get(agent_id)
        if agent is None:
            raise KeyError(f"unknown agent {agent_id!r}")
        return agent


def _min_allocatable(
    spec: Mapping[str, str] | None,
) -> dict[str, tuple[tuple[tuple[str, int], ...], ...]]:
    return {role: parse_min_allocatable(text) for role, text in (spec or {}).items()}
