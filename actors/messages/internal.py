"""The master <-> allocator actor conversation (inside the master process).

The master tells its allocator actor about cluster events; the actor calls the pure
``actors.allocator.HierarchicalAllocator`` with the same arguments and reports each
framework's new allocation back as ``OffersAllocated`` (Mesos' ``offerCallback``);
the master turns it into ``Offer`` records. Each command mirrors one method of the
``actors.allocator.Allocator`` protocol, field for field.

Naming: every master -> allocator command is ``Allocator`` + the method in
CamelCase (``AllocatorAddFramework`` for ``add_framework``). The prefix keeps them
apart from the framework and agent messages of the same verb (``DeactivateFramework``,
``UpdateFramework``, ``ReviveOffers``, ``SuppressOffers``, ``UpdateAgent``) and makes
a trace read "to the allocator". Capabilities travel as enums; the actor passes
their ``.name`` to the allocator, which keys on strings.

These messages normally stay in-process (``tell`` between two actors of one node),
but they are registered like the rest so they can be traced, logged and tested.
"""

from __future__ import annotations

from dataclasses import field

from actors.messages.info import FrameworkCapability
from actors.resources import Resources
from transport.codec import message

__all__ = [
    "AllocatorActivateAgent",
    "AllocatorActivateFramework",
    "AllocatorAddAgent",
    "AllocatorAddFramework",
    "AllocatorDeactivateAgent",
    "AllocatorDeactivateFramework",
    "AllocatorRecoverResources",
    "AllocatorRemoveAgent",
    "AllocatorRemoveFramework",
    "AllocatorReviveOffers",
    "AllocatorSuppressOffers",
    "AllocatorUpdateAgent",
    "AllocatorUpdateFramework",
    "AllocatorUpdateQuota",
    "AllocatorUpdateWeights",
    "OffersAllocated",
]


# -- frameworks -------------------------------------------------------------------------


@message
class AllocatorAddFramework:
    """Master -> allocator: a framework subscribed (triggers an allocation run)."""

    framework_id: str
    roles: tuple[str, ...]
    suppressed_roles: tuple[str, ...] = ()
    active: bool = True
    capabilities: frozenset[FrameworkCapability] = frozenset()
    min_allocatable_resources: dict[str, str] | None = None
    """Per role, the allocator's ``cpus:1;mem:32|gpus:1`` spec (``FrameworkInfo.offer_filters``)."""


@message
class AllocatorRemoveFramework:
    """Master -> allocator: a framework is gone; recover everything it holds."""

    framework_id: str


@message
class AllocatorActivateFramework:
    """Master -> allocator: a framework (re)connected; offer to it again."""

    framework_id: str


@message
class AllocatorDeactivateFramework:
    """Master -> allocator: a framework disconnected or deactivated; stop offering to it."""

    framework_id: str


@message
class AllocatorUpdateFramework:
    """Master -> allocator: a framework changed roles, suppressed roles or capabilities."""

    framework_id: str
    roles: tuple[str, ...]
    suppressed_roles: tuple[str, ...] = ()
    capabilities: frozenset[FrameworkCapability] = frozenset()
    min_allocatable_resources: dict[str, str] | None = None


# -- agents -----------------------------------------------------------------------------


@message
class AllocatorAddAgent:
    """Master -> allocator: an agent (re-)registered with ``total`` (triggers a run on it)."""

    agent_id: str
    total: Resources
    used_by_framework: dict[str, dict[str, Resources]] | None = None
    """``{framework_id: {role: resources}}`` already in use (a re-registering agent)."""


@message
class AllocatorRemoveAgent:
    """Master -> allocator: an agent left or was removed; forget its resources."""

    agent_id: str


@message
class AllocatorUpdateAgent:
    """Master -> allocator: an agent's total resources changed."""

    agent_id: str
    total: Resources


@message
class AllocatorActivateAgent:
    """Master -> allocator: offer this agent's resources again."""

    agent_id: str


@message
class AllocatorDeactivateAgent:
    """Master -> allocator: stop offering this agent's resources (draining, maintenance)."""

    agent_id: str


# -- offers -----------------------------------------------------------------------------


@message
class AllocatorRecoverResources:
    """Master -> allocator: resources came back (decline, unused accept, task end, rescind).

    Does not trigger a run: they wait for the next tick, as in Mesos.
    """

    framework_id: str
    agent_id: str
    resources: Resources
    refuse_seconds: float | None = None
    """A decline's ``Filters.refuse_seconds``: install a refusal filter; ``None``: none."""
    role: str | None = None
    """The role holding them; ``None`` when only one of the framework's roles can."""


@message
class AllocatorSuppressOffers:
    """Master -> allocator: stop offering to a framework for these roles (``None``: all)."""

    framework_id: str
    roles: tuple[str, ...] | None = None


@message
class AllocatorReviveOffers:
    """Master -> allocator: clear a framework's filters, un-suppress roles (``None``: all)."""

    framework_id: str
    roles: tuple[str, ...] | None = None


@message
class OffersAllocated:
    """Allocator -> master: resources allocated to a framework; make them into offers."""

    framework_id: str
    allocation: dict[str, dict[str, Resources]]
    """``{role: {agent_id: resources}}``: one offer per (role, agent)."""


# -- policy -----------------------------------------------------------------------------


@message
class AllocatorUpdateWeights:
    """Master -> allocator: set role weights (``share / weight`` orders the roles)."""

    weights: dict[str, float]


@message
class AllocatorUpdateQuota:
    """Master -> allocator: set a top-level role's quota; both maps empty removes it.

    Quantities are scalar amounts by resource name (``{"cpus": 4, "mem": 4096}``).
    """

    role: str
    guarantees: dict[str, float] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
