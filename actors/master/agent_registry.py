"""What the agents' life must store in the registry, and the agents recovered from it.

Pure functions over the master's ``Books`` for ``AgentHandlers`` (Mesos' ``master.cpp``
``reregisterSlave`` / ``recoveredSlavesTimeout`` / ``_markUnreachable``):
``registry_operation`` is what a re-registration stores before it is answered;
``overdue_recovered`` names the recovered agents to mark unreachable when
``agent_reregister_timeout`` passes; ``mark_unreachable_after_failover`` applies that
once the registry holds it (frameworks hear ``LostAgent``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from actors.messages.framework import LostAgent
from actors.messages.info import AgentInfo
from actors.registry.operations import MarkAgentReachable, Operation, UpdateAgentInfo

if TYPE_CHECKING:
    from actors.master.books import Books, Outbox

__all__ = ["mark_unreachable_after_failover", "overdue_recovered", "registry_operation"]

_log = structlog.get_logger("meseta.master")


def registry_operation(books: Books, info: AgentInfo) -> Operation | None:
    """What a re-registration of ``info`` must store before it is answered (Mesos).

    A registered or recovered agent: ``UpdateAgentInfo`` if its info changed, else nothing;
    any other (unreachable, or unknown to this master): ``MarkAgentReachable``.
    """
    known = books.agents.registered.get(info.id)
    admitted = known.info if known is not None else books.agents.recovered.get(info.id)
    if admitted is not None:
        return None if admitted == info else UpdateAgentInfo(info)
    return MarkAgentReachable(info)


def overdue_recovered(books: Books, reregistering: set[str]) -> list[str]:
    """Recovered agents to mark unreachable: not re-registered, nor re-registering, yet."""
    return sorted(a for a in books.agents.recovered
                  if a not in reregistering and a not in books.agents.registered)


def mark_unreachable_after_failover(books: Books, agent_id: str, when: float,
                                    out: Outbox) -> None:
    """A recovered agent did not re-register in time (and the registry says unreachable).

    The master knows none of its tasks: frameworks hear ``LostAgent``, and explicit
    reconciliation answers TASK_UNREACHABLE (TASK_LOST) for them from now on (Mesos).
    """
    info = books.agents.recovered.pop(agent_id, None)
    books.agents.unreachable[agent_id] = when
    for framework in books.frameworks.registered.values():
        if framework.connected:
            out.send(framework.pid, LostAgent(agent_id=agent_id))
    _log.warning("agent marked unreachable: it did not re-register after the failover",
                 agent_id=agent_id, hostname=info.hostname if info is not None else None)
