"""The master's ``/metrics/snapshot``: Mesos' metric names over the books and counters.

``MasterCounters`` counts what only the actor sees go by (messages by type, dropped
ones, valid and invalid status updates); ``MasterActor`` bumps it in its dispatch.
``master_metrics`` is a pure function of the books, those counters and a few readings
the route passes in (elected, the inbox size, the registrar worker's timings, the
allocator's latest published snapshot), returning Mesos' flat map: ``master/...`` (see
``docs/monitoring.md``), ``registrar/...`` and ``allocator/mesos/...``. Names with
``agents`` also come as Mesos' ``slaves`` (``master/slaves_active``...), so tools
written for Mesos read them. ``is_counter`` says which names are counters for
Prometheus (``actors.metrics.prometheus_text``); the rest are gauges.

Task counts by state are over the tasks the master holds (live ones, and the
completed ones it keeps: ``--max_completed_tasks_per_framework`` of each of the
``--max_completed_frameworks`` last frameworks), so the terminal ones are gauges here,
not Mesos' ever-growing counters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from actors.master.endpoints import all_tasks
from actors.messages.agent import StatusUpdate
from actors.messages.task_state import TaskState
from actors.resources import EMPTY, Resources
from transport.pid import PID

if TYPE_CHECKING:
    from actors.master.books import Books
    from actors.registry.worker import RegistrarWorker

__all__ = ["MasterCounters", "is_counter", "master_metrics", "message_metric",
           "valid_status_update"]

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
RESOURCES = ("cpus", "mem", "disk", "gpus")


def message_metric(type_name: str) -> str:
    """``ReregisterAgent`` -> ``master/messages_reregister_agent``."""
    return "master/messages_" + _CAMEL.sub("_", type_name).lower()


@dataclass
class MasterCounters:
    """What the master counts as messages go by (touched only on its thread)."""

    messages: Counter[str] = field(default_factory=Counter)
    """Messages received, by type name."""
    dropped_messages: int = 0
    valid_status_updates: int = 0
    invalid_status_updates: int = 0

    def received(self, msg: object) -> None:
        self.messages[type(msg).__name__] += 1


def valid_status_update(books: Books, frm: PID, msg: StatusUpdate) -> bool:
    """Whether ``tasks.status_update`` will take the update: it comes from the agent it
    names and is of a framework the master knows (Mesos' valid/invalid status updates)."""
    update = msg.update
    agent = books.agents.registered.get(update.agent_id)
    return (agent is not None and agent.pid in (frm, msg.pid)
            and books.frameworks.get(update.framework_id) is not None)


def _resources(out: dict[str, float], prefix: str, total: Resources, used: Resources) -> None:
    for name in RESOURCES:
        t, u = total.get(name), used.get(name)
        out[f"{prefix}{name}_total"] = t
        out[f"{prefix}{name}_used"] = u
        out[f"{prefix}{name}_percent"] = u / t if t else 0.0


def _alias_agents(out: dict[str, float]) -> None:
    for key in [k for k in out if "agents_" in k or k.endswith("_agent")]:
        out[key.replace("agents_", "slaves_").replace("_agent", "_slave")] = out[key]


def master_metrics(books: Books, counters: MasterCounters, *, elected: bool,
                   event_queue_messages: int = 0, handled_types: Iterable[type] = (),
                   registrar: RegistrarWorker | None = None,
                   allocator: Mapping[str, float] | None = None) -> dict[str, float]:
    """The master's snapshot (see the module docstring)."""
    now = books.now()
    registered = list(books.agents.registered.values())
    frameworks = list(books.frameworks.registered.values())
    out: dict[str, float] = {
        "master/uptime_secs": max(0.0, now - books.start_time),
        "master/elected": 1.0 if elected else 0.0,
        "master/agents_active": float(sum(1 for a in registered if a.active)),
        "master/agents_inactive": float(sum(1 for a in registered if not a.active)),
        "master/agents_connected": float(sum(1 for a in registered if a.connected)),
        "master/agents_disconnected": float(sum(1 for a in registered if not a.connected)),
        "master/agents_unreachable": float(len(books.agents.unreachable)),
        "master/frameworks_active": float(sum(1 for f in frameworks if f.active)),
        "master/frameworks_inactive": float(sum(1 for f in frameworks if not f.active)),
        "master/frameworks_connected": float(sum(1 for f in frameworks if f.connected)),
        "master/frameworks_disconnected":
            float(sum(1 for f in frameworks if not f.connected)),
        "master/outstanding_offers": float(len(books.offers)),
        "master/event_queue_messages": float(event_queue_messages),
        "master/dropped_messages": float(counters.dropped_messages),
        "master/valid_status_updates": float(counters.valid_status_updates),
        "master/invalid_status_updates": float(counters.invalid_status_updates),
    }
    states = Counter(t.state for t in all_tasks(books))
    for state in TaskState:
        if state is not TaskState.TASK_UNKNOWN:
            out["master/tasks_" + state.name[5:].lower()] = float(states.get(state, 0))
    total = sum((a.total for a in registered), EMPTY)
    used = sum((a.used_resources() for a in registered), EMPTY)
    _resources(out, "master/", total, used)
    for kind in handled_types:
        out.setdefault(message_metric(kind.__name__), 0.0)
    for name, count in counters.messages.items():
        out[message_metric(name)] = float(count)
    _alias_agents(out)
    if registrar is not None:
        out["registrar/queued_operations"] = float(registrar.queued)
        out.update(registrar.fetch_timer.snapshot("registrar/state_fetch_ms"))
        out.update(registrar.store_timer.snapshot("registrar/state_store_ms"))
    out.update(allocator or {})
    return out


_COUNTERS = {"master/dropped_messages", "master/valid_status_updates",
             "master/invalid_status_updates", "allocator/mesos/allocation_runs",
             "allocator/mesos/event_queue_dispatches"}


def is_counter(name: str) -> bool:
    """Whether a metric of the snapshot is a counter (the rest are gauges)."""
    return name in _COUNTERS or name.startswith("master/messages_")
