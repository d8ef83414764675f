"""Allocator configuration and the injected clock seam.

The master's allocator actor builds an ``AllocatorConfig`` from its flags and hands
it, with a ``Clock``, to ``HierarchicalAllocator``. Defaults follow Mesos 1.x.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from actors.resources import Resources

__all__ = [
    "DEFAULT_ALLOCATION_INTERVAL",
    "DEFAULT_MIN_ALLOCATABLE_RESOURCES",
    "DEFAULT_REFUSE_SECONDS",
    "MAX_REFUSE_SECONDS",
    "AllocatorConfig",
    "Clock",
    "parse_min_allocatable",
]

DEFAULT_ALLOCATION_INTERVAL = 1.0
"""Seconds between batch allocation runs (Mesos ``--allocation_interval``)."""

DEFAULT_REFUSE_SECONDS = 5.0
"""``Filters.refuse_seconds`` default; also used when a negative value is given."""

MAX_REFUSE_SECONDS = 365 * 24 * 3600.0
"""Refusal filters are capped at 365 days."""

DEFAULT_MIN_ALLOCATABLE_RESOURCES = "cpus:0.01|mem:32"
"""An offer must hold at least one of these alternatives (Mesos default)."""


class Clock(Protocol):
    """Seconds since some epoch; tests pass a manual clock."""

    def now(self) -> float: ...


MinAllocatable = tuple[tuple[tuple[str, int], ...], ...]
"""Alternatives, each a tuple of (resource name, milli-units) that must all be met."""


def parse_min_allocatable(text: str) -> MinAllocatable:
    """Parse ``cpus:0.01|mem:32`` (alternatives separated by ``|``); '' means none."""
    alternatives = []
    for part in filter(None, (p.strip() for p in text.split("|"))):
        quantities = Resources.parse(part).quantities()
        if not quantities:
            raise ValueError(f"min allocatable alternative {part!r} names no scalar")
        alternatives.append(tuple(sorted(quantities.items())))
    return tuple(alternatives)


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocatorConfig:
    """Knobs of the hierarchical allocator (Mesos master flags of the same names)."""

    allocation_interval: float = DEFAULT_ALLOCATION_INTERVAL
    """Seconds between batch runs; also the floor of every refusal filter."""
    refuse_seconds: float = DEFAULT_REFUSE_SECONDS
    """Refusal timeout used when a decline gives a negative ``refuse_seconds``."""
    min_allocatable_resources: str = DEFAULT_MIN_ALLOCATABLE_RESOURCES
    """Smallest offer worth making, as ``cpus:0.01|mem:32``; '' disables the check."""
    fair_sharing_excluded_resource_names: frozenset[str] = frozenset()
    """Resources left out of DRF shares (e.g. ``gpus``)."""
    weights: Mapping[str, float] = field(default_factory=dict)
    """Initial role weights (``--weights``); default 1.0."""
    filter_gpu_resources: bool = True
    """Offer agents with GPUs only to frameworks with the GPU_RESOURCES capability."""
    seed: int | None = None
    """Seed of the agent shuffle; set it for deterministic tests and benchmarks."""

    def __post_init__(self) -> None:
        if self.allocation_interval <= 0:
            raise ValueError("allocation_interval must be positive")
        parse_min_allocatable(self.min_allocatable_resources)
