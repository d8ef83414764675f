"""Registry operations: pure ``apply(registry) -> (new_registry, mutated)`` steps.

After Mesos' ``src/master/registry_operations.cpp`` (and ``weights.cpp``/``quota.cpp``):
the registrar applies one to its copy of the registry and stores the result only when
``mutated`` is true. An operation that makes no sense in the registry it is given (admit
an agent that is already admitted, mark unreachable an agent that is not admitted...)
raises ``OperationRefused``; as in Mesos, the master only asks for those on a bug or a
race it must hear about. Times are explicit (seconds since the epoch) so operations stay
pure; the registrar's clock supplies them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Protocol, TypeVar

from actors.messages.types import AgentInfo
from actors.registry.model import Quota, Registry
from actors.registry.storage import OperationRefused

__all__ = [
    "DEFAULT_MAX_AGENT_AGE_S",
    "DEFAULT_MAX_AGENT_COUNT",
    "AdmitAgent",
    "MarkAgentGone",
    "MarkAgentReachable",
    "MarkAgentUnreachable",
    "Operation",
    "PruneAgents",
    "PruneUnreachable",
    "RemoveAgent",
    "UpdateAgentInfo",
    "UpdateQuota",
    "UpdateWeights",
    "prune_candidates",
]

V = TypeVar("V")

DEFAULT_MAX_AGENT_AGE_S = 14 * 24 * 3600.0
"""``--registry_max_agent_age``: unreachable and gone entries older than this are pruned."""
DEFAULT_MAX_AGENT_COUNT = 100 * 1024
"""``--registry_max_agent_count``: at most this many unreachable (and as many gone) entries."""


class Operation(Protocol):
    """One change to the registry."""

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        """The registry after the change, and whether anything changed."""
        ...


def _without(mapping: Mapping[str, V], key: str) -> dict[str, V]:
    return {k: v for k, v in mapping.items() if k != key}


def _need_id(info: AgentInfo) -> str:
    if not info.id:
        raise OperationRefused(f"agent {info.hostname!r} has no id")
    return info.id


@dataclasses.dataclass(frozen=True, slots=True)
class AdmitAgent:
    """A newly registered agent joins the admitted list."""

    info: AgentInfo

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        agent_id = _need_id(self.info)
        if agent_id in registry.agents:
            raise OperationRefused(f"agent {agent_id} is already admitted")
        agents = {**registry.agents, agent_id: self.info}
        return dataclasses.replace(registry, agents=agents), True


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateAgentInfo:
    """An admitted agent re-registered with a changed ``AgentInfo``."""

    info: AgentInfo

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        agent_id = _need_id(self.info)
        old = registry.agents.get(agent_id)
        if old is None:
            raise OperationRefused(f"agent {agent_id} is not admitted")
        if old == self.info:
            return registry, False
        agents = {**registry.agents, agent_id: self.info}
        return dataclasses.replace(registry, agents=agents), True


@dataclasses.dataclass(frozen=True, slots=True)
class MarkAgentUnreachable:
    """An admitted agent missed its pings (or did not re-register after a failover)."""

    agent_id: str
    time: float

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        if self.agent_id not in registry.agents:
            raise OperationRefused(f"agent {self.agent_id} is not admitted")
        return dataclasses.replace(
            registry,
            agents=_without(registry.agents, self.agent_id),
            unreachable={**registry.unreachable, self.agent_id: self.time},
        ), True


@dataclasses.dataclass(frozen=True, slots=True)
class MarkAgentReachable:
    """An agent re-registered: back to the admitted list.

    As in Mesos: an agent still admitted (it re-registered with a new master before being
    marked unreachable) is a no-op; one found in neither list (pruned while away) is admitted
    again.
    """

    info: AgentInfo

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        agent_id = _need_id(self.info)
        if agent_id in registry.agents:
            return registry, False
        if agent_id in registry.gone:
            raise OperationRefused(f"agent {agent_id} is gone and may not come back")
        return dataclasses.replace(
            registry,
            agents={**registry.agents, agent_id: self.info},
            unreachable=_without(registry.unreachable, agent_id),
        ), True


@dataclasses.dataclass(frozen=True, slots=True)
class MarkAgentGone:
    """An operator declared an admitted or unreachable agent gone for good."""

    agent_id: str
    time: float

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        if self.agent_id in registry.gone:
            raise OperationRefused(f"agent {self.agent_id} is already gone")
        if self.agent_id not in registry.agents and self.agent_id not in registry.unreachable:
            raise OperationRefused(f"agent {self.agent_id} is neither admitted nor unreachable")
        return dataclasses.replace(
            registry,
            agents=_without(registry.agents, self.agent_id),
            unreachable=_without(registry.unreachable, self.agent_id),
            gone={**registry.gone, self.agent_id: self.time},
        ), True


@dataclasses.dataclass(frozen=True, slots=True)
class RemoveAgent:
    """An admitted agent left cleanly (it unregistered): forget it."""

    agent_id: str

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        if self.agent_id not in registry.agents:
            raise OperationRefused(f"agent {self.agent_id} is not admitted")
        return dataclasses.replace(registry, agents=_without(registry.agents, self.agent_id)), True


def prune_candidates(entries: Mapping[str, float], now: float, max_age: float,
                     max_count: int) -> frozenset[str]:
    """The ids to garbage-collect from an unreachable or gone list (Mesos' registry GC).

    ``entries`` maps agent id -> when it entered the list. Those beyond the ``max_count``
    most recent, and those older than ``max_age`` seconds at ``now``; ties of time keep
    the greater id, so the choice does not depend on the order of ``entries``.
    """
    if max_age < 0 or max_count < 0:
        raise ValueError("max_age and max_count are not negative")
    newest_first = sorted(((t, agent_id) for agent_id, t in entries.items()), reverse=True)
    return frozenset(agent_id for rank, (t, agent_id) in enumerate(newest_first)
                     if rank >= max_count or now - t > max_age)


@dataclasses.dataclass(frozen=True, slots=True)
class PruneUnreachable:
    """Garbage-collect the unreachable and gone lists (Mesos' registry GC + ``Prune``).

    Drops entries older than ``max_age`` seconds at ``now``, then the oldest entries past
    ``max_count``, in each list. Admitted agents are never pruned.
    """

    now: float
    max_age: float = DEFAULT_MAX_AGENT_AGE_S
    max_count: int = DEFAULT_MAX_AGENT_COUNT

    def __post_init__(self) -> None:
        if self.max_age < 0 or self.max_count < 0:
            raise ValueError("max_age and max_count are not negative")

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        return PruneAgents(
            unreachable=prune_candidates(registry.unreachable, self.now, self.max_age,
                                         self.max_count),
            gone=prune_candidates(registry.gone, self.now, self.max_age, self.max_count),
        ).apply(registry)


@dataclasses.dataclass(frozen=True, slots=True)
class PruneAgents:
    """Drop these ids from the unreachable and gone lists (Mesos' ``Prune``).

    The leading master's registry GC chose them from its books; an id no longer in its
    list (the agent re-registered meanwhile) is skipped, and the admitted list is never
    touched, so the operation is never refused.
    """

    unreachable: frozenset[str] = frozenset()
    gone: frozenset[str] = frozenset()

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        unreachable = {a: t for a, t in registry.unreachable.items()
                       if a not in self.unreachable}
        gone = {a: t for a, t in registry.gone.items() if a not in self.gone}
        if len(unreachable) == len(registry.unreachable) and len(gone) == len(registry.gone):
            return registry, False
        return dataclasses.replace(registry, unreachable=unreachable, gone=gone), True


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateWeights:
    """Set the weights of some roles (others keep theirs), as ``/weights`` does."""

    weights: Mapping[str, float]

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        for role, weight in self.weights.items():
            if not role or not math.isfinite(weight) or weight <= 0:
                raise OperationRefused(f"weight {weight!r} of role {role!r}: a positive number")
        merged = {**registry.weights, **self.weights}
        if merged == registry.weights:
            return registry, False
        return dataclasses.replace(registry, weights=merged), True


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateQuota:
    """Set the quota of some roles; a quota with no guarantees and no limits removes it."""

    quotas: Mapping[str, Quota]

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        quotas = dict(registry.quotas)
        for role, quota in self.quotas.items():
            _check_quota(role, quota)
            if quota.guarantees or quota.limits:
                quotas[role] = quota
            else:
                quotas.pop(role, None)
        if quotas == registry.quotas:
            return registry, False
        return dataclasses.replace(registry, quotas=quotas), True


def _check_quota(role: str, quota: Quota) -> None:
    if not role:
        raise OperationRefused("a quota needs a role")
    for name, amount in (*quota.guarantees.items(), *quota.limits.items()):
        if not math.isfinite(amount) or amount < 0:
            raise OperationRefused(f"quota of {role!r}: {name} = {amount!r} is not a quantity")
    for name, guarantee in quota.guarantees.items():
        limit = quota.limits.get(name)
        if limit is not None and guarantee > limit:
            raise OperationRefused(
                f"quota of {role!r}: guarantee {name} = {guarantee} exceeds its limit {limit}"
            )
