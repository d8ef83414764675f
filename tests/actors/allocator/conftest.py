"""A manual clock and a recording harness around HierarchicalAllocator (no master)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from actors.allocator import AllocatorConfig, HierarchicalAllocator
from actors.resources import Resources


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Harness:
    clock: ManualClock = field(default_factory=ManualClock)
    offers: list[tuple[str, str, str, Resources]] = field(default_factory=list)
    allocator: HierarchicalAllocator = field(init=False)

    def start(self, **config: object) -> Harness:
        cfg = AllocatorConfig(seed=7, **config)  # type: ignore[arg-type]
        self.allocator = HierarchicalAllocator(self._record, self.clock, cfg)
        return self

    def _record(self, framework_id: str, offers: dict[str, dict[str, Resources]]) -> None:
        for role, by_agent in offers.items():
            for agent_id, res in sorted(by_agent.items()):
                self.offers.append((framework_id, role, agent_id, res))

    def run(self) -> list[tuple[str, str, str, Resources]]:
        """Run the pending event-triggered allocation and return what it offered."""
        self.allocator.allocate_pending()
        return self.take()

    def tick(self, seconds: float = 1.0) -> list[tuple[str, str, str, Resources]]:
        """Advance the clock and do the batch run over all agents."""
        self.clock.advance(seconds)
        self.allocator.allocate()
        return self.take()

    def take(self) -> list[tuple[str, str, str, Resources]]:
        out, self.offers = self.offers, []
        return out


@pytest.fixture
def harness() -> Harness:
    return Harness().start()


def r(text: str) -> Resources:
    return Resources.parse(text)
