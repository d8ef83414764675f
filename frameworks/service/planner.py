"""The service framework's decisions: pure functions over apps, tasks, offers and time.

The scheduler (``frameworks.service.scheduler``) keeps the state and calls these:

- ``launches_wanted(app, tasks)``: how many new-version instances to start now. It
  fills up to ``instances``, and during an upgrade never past ``max_total()`` live
  instances (old and new together: ``maximumOverCapacity``);
- ``kills(app, tasks)``: which live instances to kill. Extra instances of the current
  version go newest first (scale down). Old-version instances go once enough
  instances are ready that ``min_healthy()`` (``minimumHealthCapacity``) still holds
  without them (oldest first); old instances that are not ready go at once. Together
  with ``launches_wanted`` this is Marathon's rolling restart: start new, wait until
  ready (running, healthy if checked), then kill old;
- ``place(apps, tasks, offer, ...)``: the instances to launch on one offer, app by
  app, as far as resources, ports, constraints and each app's backoff allow;
- ``Backoff`` / ``after_failure``: the launch delay after an instance ended on its
  own (any end we did not ask for): ``backoffSeconds``, times ``backoffFactor`` per
  further failure, at most ``maxLaunchDelaySeconds``; it starts over when the ended
  instance had been ready for ``reset_after`` seconds, and when the app's config
  changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from actors.messages import Offer, TaskInfo
from frameworks.service.constraints import AgentFacts, allows
from frameworks.service.spec import AppSpec
from frameworks.service.tasks import ServiceTask, is_ready, new_task_id, take, task_info

__all__ = ["RESET_AFTER", "Backoff", "after_failure", "kills", "launches_wanted", "live",
           "place", "wants_offers"]

RESET_AFTER = 60.0
"""Seconds an instance must have been ready for its end to restart the backoff."""


@dataclass(frozen=True)
class Backoff:
    """An app's launch delay: the current delay and the time before which none launch."""

    delay: float = 0.0
    not_before: float = 0.0

    def allows(self, now: float) -> bool:
        return now >= self.not_before


def after_failure(backoff: Backoff, app: AppSpec, task: ServiceTask | None, now: float,
                  reset_after: float = RESET_AFTER) -> Backoff:
    """The backoff after an instance of ``app`` ended without being asked to."""
    ran_long = (task is not None and task.ready_since is not None
                and now - task.ready_since >= reset_after)
    if backoff.delay <= 0 or ran_long:
        delay = app.backoff_seconds
    else:
        delay = backoff.delay * app.backoff_factor
    delay = min(delay, app.max_launch_delay_seconds)
    return Backoff(delay=delay, not_before=now + delay)


def live(app: AppSpec, tasks: Sequence[ServiceTask]) -> list[ServiceTask]:
    """The app's instances not being killed."""
    return [t for t in tasks if t.app_id == app.id and not t.killing]


def launches_wanted(app: AppSpec, tasks: Sequence[ServiceTask]) -> int:
    """New-version instances to start now (never negative)."""
    alive = live(app, tasks)
    current = sum(1 for t in alive if t.version == app.version)
    return max(0, min(app.instances - current, app.max_total() - len(alive)))


def kills(app: AppSpec, tasks: Sequence[ServiceTask]) -> list[str]:
    """Task ids of the app's instances to kill now (scale down, upgrade)."""
    alive = live(app, tasks)
    current = [t for t in alive if t.version == app.version]
    old = [t for t in alive if t.version != app.version]
    out: list[str] = []
    extra = len(current) - app.instances
    if extra > 0:
        newest = sorted(current, key=lambda t: (t.launched_at, t.task_id), reverse=True)
        out += [t.task_id for t in newest[:extra]]
        current = newest[extra:]
    if not old:
        return out
    old_ready = sorted((t for t in old if is_ready(t, app)),
                       key=lambda t: (t.launched_at, t.task_id))
    out += [t.task_id for t in old if not is_ready(t, app)]
    ready_new = sum(1 for t in current if is_ready(t, app))
    if app.instances == 0:
        spare = len(old_ready)
    else:
        spare = ready_new + len(old_ready) - app.min_healthy()
    out += [t.task_id for t in old_ready[:max(0, spare)]]
    return out


def wants_offers(apps: Sequence[AppSpec], tasks: Sequence[ServiceTask]) -> bool:
    """Whether any app has an instance to launch (backoff aside)."""
    return any(launches_wanted(app, tasks) > 0 for app in apps)


def place(apps: Sequence[AppSpec], tasks: Sequence[ServiceTask], offer: Offer, now: float,
          backoffs: Mapping[str, Backoff], role: str = "*",
          new_id: Callable[[str], str] = new_task_id) -> list[tuple[ServiceTask, TaskInfo]]:
    """Instances to launch on ``offer``: each as the task to remember and its TaskInfo."""
    facts = AgentFacts.of(offer)
    planned = list(tasks)
    out: list[tuple[ServiceTask, TaskInfo]] = []
    left = offer.resources
    for app in sorted(apps, key=lambda a: a.id):
        if not backoffs.get(app.id, Backoff()).allows(now):
            continue
        for _ in range(launches_wanted(app, planned)):
            if not allows(app.constraints, facts, [t.facts for t in live(app, planned)]):
                break
            taken = take(left, app, app.role or role)
            if taken is None:
                break
            resources, ports = taken
            left = left - resources
            task = ServiceTask(task_id=new_id(app.id), app_id=app.id, version=app.version,
                               agent_id=offer.agent_id, facts=facts, ports=ports,
                               launched_at=now)
            planned.append(task)
            out.append((task, task_info(app, task.task_id, offer.agent_id, resources, ports)))
    return out
