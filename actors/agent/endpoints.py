"""The agent's HTTP routes and its ``/metrics/snapshot`` (Mesos' ``slave/...`` names).

``install_routes(agent)`` is called by ``AgentActor.on_start``; the node serves each
route at ``/agent/<path>`` and, the agent being its HTTP delegate, at ``/<path>``.
Handlers run on the agent's thread and build their bodies with pure functions:
``/state`` (``state.render_state``), ``/flags``, ``/health``, ``/monitor/statistics``
(the containerizer's samples), ``/metrics/snapshot`` (``agent_metrics``) and
``/metrics`` (the same in Prometheus text), ``/api/v1/executor`` (the executor HTTP
API, ``executor_api``). ``/files/*`` are installed by the sandbox code (``sandboxes``).
``/state`` shows the caller (``request.principal``) only what ``--acls`` lets it view
(``view_frameworks`` / ``view_tasks`` / ``view_executors``; ``view_flags`` for its flags
and ``/flags``).

The metric names are Mesos' agent names exactly, ``slave/...`` included (Mesos 1.x
still says ``slave/``; dashboards and tools built for Mesos read them unchanged):
``slave/uptime_secs``, ``slave/registered``, ``slave/frameworks_active``,
``slave/tasks_<state>``, ``slave/executors_registering|running|terminating|
terminated``, ``slave/<cpus|mem|disk|gpus>_<total|used|percent>`` and
``slave/pending_status_updates``. Task counts are over the tasks the agent keeps
(live executors' and its completed executors'), so the terminal ones are gauges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from actors.agent.executors import ExecutorRecord, ExecutorState, FrameworkRecord
from actors.authorization.views import visible_state
from actors.messages.task_state import TaskState
from actors.metrics import CONTENT_TYPE, prometheus_text
from actors.resources import Resources
from transport import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from actors.agent.actor import AgentActor

__all__ = ["agent_metrics", "install_routes"]

RESOURCES = ("cpus", "mem", "disk", "gpus")


def install_routes(agent: AgentActor) -> None:
    acls = agent.config.security.acls
    state = lambda req: HttpResponse.json(  # noqa: E731
        visible_state(acls, req.principal, agent.state()))
    agent.route("/state", state)
    agent.route("/state.json", state)
    agent.route("/flags", lambda req: HttpResponse.json({"flags": agent.config.to_flags()})
                if acls.authorized("view_flags", req.principal, None)
                else HttpResponse.text("Forbidden: not authorized to view the flags", 403))
    agent.route("/health", lambda req: HttpResponse.text("", 200))
    agent.route("/monitor/statistics", lambda req: HttpResponse.json(agent.statistics()))
    agent.route("/monitor/statistics.json", lambda req: HttpResponse.json(agent.statistics()))
    agent.route("/metrics/snapshot", lambda req: HttpResponse.json(_metrics(agent)))
    agent.route("/metrics", lambda req: _prometheus(agent, req))
    agent.route("/api/v1/executor", agent.executor_api)


def _metrics(agent: AgentActor) -> dict[str, float]:
    return agent_metrics(uptime=agent.now() - agent.start_time, registered=agent.registered,
                         total=agent.info.resources, frameworks=agent.frameworks.values(),
                         completed=agent.completed_frameworks,
                         pending_status_updates=len(agent.sum))


def _prometheus(agent: AgentActor, request: HttpRequest) -> HttpResponse:
    return HttpResponse.text(prometheus_text(_metrics(agent)), content_type=CONTENT_TYPE)


def _executors(frameworks: Iterable[FrameworkRecord], completed: Iterable[FrameworkRecord]
               ) -> tuple[list[ExecutorRecord], list[ExecutorRecord]]:
    """(executors of the live frameworks, completed executors of every framework)."""
    live_frameworks = list(frameworks)
    live = [e for f in live_frameworks for e in f.executors.values()]
    done = [e for f in [*live_frameworks, *completed] for e in f.completed_executors]
    done += [e for f in completed for e in f.executors.values()]
    return live, done


def agent_metrics(*, uptime: float, registered: bool, total: Resources,
                  frameworks: Iterable[FrameworkRecord], completed: Iterable[FrameworkRecord],
                  pending_status_updates: int = 0) -> dict[str, float]:
    """The agent's snapshot (see the module docstring)."""
    frameworks = list(frameworks)
    live, done = _executors(frameworks, completed)
    out: dict[str, float] = {
        "slave/uptime_secs": max(0.0, uptime),
        "slave/registered": 1.0 if registered else 0.0,
        "slave/frameworks_active": float(sum(1 for f in frameworks if not f.terminating)),
        "slave/pending_status_updates": float(pending_status_updates),
    }
    states = Counter(t.state for e in live + done for t in e.tasks.values())
    for state in TaskState:
        if state is not TaskState.TASK_UNKNOWN:
            out["slave/tasks_" + state.name[5:].lower()] = float(states.get(state, 0))
    executor_states = Counter(e.state for e in live)
    for kind in (ExecutorState.REGISTERING, ExecutorState.RUNNING, ExecutorState.TERMINATING):
        out[f"slave/executors_{kind.name.lower()}"] = float(executor_states.get(kind, 0))
    out["slave/executors_terminated"] = float(
        executor_states.get(ExecutorState.TERMINATED, 0) + len(done))
    used = sum((e.resources for e in live), Resources())
    for name in RESOURCES:
        t, u = total.get(name), used.get(name)
        out[f"slave/{name}_total"] = t
        out[f"slave/{name}_used"] = u
        out[f"slave/{name}_percent"] = u / t if t else 0.0
    return out
