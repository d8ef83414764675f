"""The registry's garbage collection, as the leading master runs it (Mesos' ``doRegistryGc``).

Every ``--registry_gc_interval`` ``AgentHandlers`` asks ``plan`` which unreachable and gone
agents of its books to drop: those beyond the ``--registry_max_agent_count`` most recent
of each list, and those older than ``--registry_max_agent_age``
(``actors.registry.operations.prune_candidates``). An empty plan writes nothing. Otherwise
the plan's ``operation()`` (``PruneAgents``: exactly those ids) goes through the
``RegistrarWorker``, and once it is durable ``forget`` drops the same ids from the books:
``books.agents.unreachable`` and ``gone``, and the unreachable tasks the frameworks keep for
those agents (Mesos erases them too, with no status update). An id the books no longer
hold by then (the agent re-registered while the write was in flight) is skipped, in the
registry as in the books.

After it the master knows nothing of the agent: ``/master/state`` and
``master/agents_unreachable`` stop counting it, implicit reconciliation no longer names its
tasks and explicit reconciliation answers TASK_UNKNOWN (TASK_LOST unless PARTITION_AWARE);
if it re-registers it is admitted again (``MarkAgentReachable``: "pruned while away").

Pure functions over ``Books``; the actor owns the timer and the registry write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors.registry.operations import PruneAgents, prune_candidates

if TYPE_CHECKING:
    from actors.master.books import Books

__all__ = ["Collected", "GcPlan", "forget", "plan"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GcPlan:
    """The agent ids one garbage collection drops."""

    unreachable: frozenset[str] = frozenset()
    """From the unreachable list (and their unreachable tasks)."""
    gone: frozenset[str] = frozenset()
    """From the gone list."""

    @property
    def empty(self) -> bool:
        return not self.unreachable and not self.gone

    def operation(self) -> PruneAgents:
        """The registry write that drops these ids."""
        return PruneAgents(unreachable=self.unreachable, gone=self.gone)


@dataclass(frozen=True, slots=True, kw_only=True)
class Collected:
    """What ``forget`` dropped from the books (for the log line)."""

    unreachable: int
    gone: int
    tasks: int
    """Unreachable tasks of the dropped unreachable agents."""


def plan(books: Books, now: float, max_age: float, max_count: int) -> GcPlan:
    """What to drop at ``now`` from the books' unreachable and gone lists."""
    return GcPlan(
        unreachable=prune_candidates(books.agents.unreachable, now, max_age, max_count),
        gone=prune_candidates(books.agents.gone, now, max_age, max_count))


def forget(books: Books, gc: GcPlan) -> Collected:
    """The registry dropped ``gc``'s ids: drop those the books still hold, and their tasks."""
    agents = books.agents
    unreachable = {a for a in gc.unreachable if agents.unreachable.pop(a, None) is not None}
    gone = sum(agents.gone.pop(a, None) is not None for a in gc.gone)
    tasks = 0
    if unreachable:
        for framework in books.frameworks.registered.values():
            dropped = [task_id for task_id, task in framework.unreachable_tasks.items()
                       if task.agent_id in unreachable]
            for task_id in dropped:
                del framework.unreachable_tasks[task_id]
            tasks += len(dropped)
    return Collected(unreachable=len(unreachable), gone=gone, tasks=tasks)
