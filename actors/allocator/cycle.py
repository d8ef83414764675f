"""One allocation run: Mesos' ``__generateOffers`` over a set of agents.

Called only by ``HierarchicalAllocator.allocate*``. Two stages, as in Mesos:

1. Quota stage (only when some role has a guarantee): for each agent, for each role
   with an unmet guarantee in DRF order, offer its frameworks the role's
   reservations plus unreserved resources, bursting up to its limits while leaving
   the headroom other roles' guarantees still need.
2. Fair-share stage: for each agent, roles in DRF order, frameworks in DRF order;
   the first framework that is not filtered gets everything still allocatable to
   its role on that agent (coarse-grained), chopped to quota limits and headroom.

This is the hot path of the benchmark, hence the local variables and the fast
cases (no reservations, no quota, no filters) taking no detour.
"""

from __future__ import annotations

from random import Random

from actors.allocator.quota import Quota, add_into, remaining_limits, saturating_sub
from actors.allocator.records import AgentRecord, AllocatorState
from actors.resources import EMPTY, Resources

__all__ = ["Offerable", "generate_offers"]

Offerable = dict[str, dict[str, dict[str, Resources]]]
"""framework_id -> role -> agent_id -> resources."""


def generate_offers(
    state: AllocatorState, agent_ids: list[str], now: float, rng: Random
) -> Offerable:
    offerable: Offerable = {}
    rng.shuffle(agent_ids)
    if state.quota_books is not None and any(q.guarantees for q in state.quotas.values()):
        _quota_stage(state, agent_ids, now, offerable)
        rng.shuffle(agent_ids)  # spread out the quota stage's bias to the list front
    _fair_share_stage(state, agent_ids, now, offerable)
    return offerable


def _offer(
    state: AllocatorState,
    offerable: Offerable,
    agent: AgentRecord,
    framework_id: str,
    role: str,
    res: Resources,
) -> None:
    agent.available = agent.available - res
    state.track(agent, framework_id, role, res)
    roles = offerable.get(framework_id)
    if roles is None:
        roles = offerable[framework_id] = {}
    agents = roles.get(role)
    if agents is None:
        roles[role] = {agent.agent_id: res}
    else:
        held = agents.get(agent.agent_id)
        agents[agent.agent_id] = res if held is None else held + res


def _fair_share_stage(
    state: AllocatorState, agent_ids: list[str], now: float, offerable: Offerable
) -> None:
    agents = state.agents
    frameworks = state.frameworks
    sorters = state.framework_sorters
    role_sorter = state.role_sorter
    filters = state.filters
    books = state.quota_books
    quotas = state.quotas
    meets = state.meets_min_allocatable
    default_min = state.min_allocatable
    any_filters = filters.index  # skip the filter look-up entirely when there are none
    for agent_id in agent_ids:
        agent = agents[agent_id]
        available = agent.available
        if not available:
            continue
        allocated = agent.allocated
        for role in role_sorter.iter_sorted():
            candidate = available.allocatable_to(role)
            if not candidate:
                continue  # nothing on this agent for this role
            # Most frameworks use the default minimum: judge the candidate once.
            candidate_ok = meets(candidate, default_min)
            quota = quotas.get(role) if books is not None else None
            framework_sorter = sorters[role]
            for framework_id in framework_sorter.iter_sorted():
                framework = frameworks[framework_id]
                if framework.min_allocatable:
                    if not state.allocatable(candidate, role, framework):
                        continue
                elif not candidate_ok:
                    continue
                if agent.has_gpus and not state.capable(framework, agent):
                    continue
                offer = candidate
                if books is not None:
                    offer = _chop(state, role, candidate, quota)
                    if not state.allocatable(offer, role, framework):
                        continue
                if (
                    any_filters
                    and (framework_id, role) in any_filters
                    and filters.is_filtered(framework_id, role, agent_id, offer, now)
                ):
                    continue
                # Coarse-grained: everything allocatable to the role goes to this one.
                available = agent.available = EMPTY if offer is available else available - offer
                key = (framework_id, role)
                held = allocated.get(key)
                allocated[key] = offer if held is None else held + offer
                role_sorter.allocated(role, agent_id, offer)
                framework_sorter.allocated(framework_id, agent_id, offer)
                if books is not None:
                    books.track(role, offer)
                by_role = offerable.get(framework_id)
                if by_role is None:
                    by_role = offerable[framework_id] = {}
                by_agent = by_role.get(role)
                if by_agent is None:
                    by_role[role] = {agent_id: offer}
                else:
                    held = by_agent.get(agent_id)
                    by_agent[agent_id] = offer if held is None else held + offer
                if available is EMPTY or not available:
                    break
                candidate = available.allocatable_to(role)
                if not candidate:
                    break
                candidate_ok = meets(candidate, default_min)
            if available is EMPTY or not available:
                break


def _chop(state: AllocatorState, role: str, available: Resources, quota: Quota | None) -> Resources:
    """Shrink unreserved scalars to the role's limits and to the surplus headroom."""
    books = state.quota_books
    assert books is not None
    offer = available
    if quota is not None and quota.limits:
        offer = offer.shrink_milli(remaining_limits(quota.limits, books.consumed(role)), False)
    required = books.required_headroom(state.quotas)
    if required:
        surplus = saturating_sub(books.available_headroom(), required)
        # Reservations are always offered; only unreserved scalars are held back.
        offer = offer.shrink_milli(surplus, True)
    return offer


def _quota_stage(
    state: AllocatorState, agent_ids: list[str], now: float, offerable: Offerable
) -> None:
    books = state.quota_books
    assert books is not None
    for agent_id in agent_ids:
        agent = state.agents[agent_id]
        for role in state.role_sorter.iter_sorted():
            quota = state.quotas.get(role)
            if quota is None or not quota.guarantees or not state.role_frameworks.get(role):
                continue
            if not agent.available:
                break
            for framework_id in state.framework_sorters[role].iter_sorted():
                unmet = saturating_sub(quota.guarantees, books.consumed(role))
                if not unmet:
                    break
                available = agent.available.allocatable_to(role)
                if not available:
                    break
                framework = state.frameworks[framework_id]
                if not state.allocatable(available, role, framework) or not state.capable(
                    framework, agent
                ):
                    continue
                unreserved = available.unreserved().scalar_entries()
                guaranteed = unreserved.shrink_milli(unmet, True)
                if not guaranteed:
                    continue  # this agent cannot help the role towards its guarantee
                # Reservations and non-scalars always go along with the guarantee.
                offer = guaranteed + (available - unreserved)
                extra = unreserved - guaranteed
                if quota.limits:
                    consumed = books.consumed(role)
                    add_into(consumed, guaranteed.quantities())
                    extra = extra.shrink_milli(remaining_limits(quota.limits, consumed), False)
                required = books.required_headroom(state.quotas)
                if required and extra:
                    # (available - guaranteed) - (required - guaranteed), as in Mesos.
                    surplus = saturating_sub(books.available_headroom(), required)
                    extra = extra.shrink_milli(surplus, True)
                offer = offer + extra
                if not state.allocatable(offer, role, framework) or state.filters.is_filtered(
                    framework_id, role, agent_id, offer, now
                ):
                    continue
                _offer(state, offerable, agent, framework_id, role, offer)
