"""``AllocatorActor``: the thin actor around the pure ``HierarchicalAllocator``.

The master tells it about cluster events with the ``Allocator*`` messages of
``actors.messages.internal`` (one per allocator method) and gets each framework's new
allocation back as ``OffersAllocated``; it never holds a master reference, only the
master's PID. It runs a batch allocation every ``allocation_interval`` on the node's
clock, and one event-triggered run after events that ask for it (a framework added,
activated or revived; an agent added or updated): the run is queued behind whatever
is already in the inbox, so a burst of events merges into one run, as Mesos batches
its ``allocationCandidates``.

``GET /allocator/metrics`` returns the allocator's metrics (Mesos' names). After each
batch run (and after event-triggered runs, at most every ``PUBLISH_INTERVAL``) it also
publishes them in ``published`` (a fresh dict each time, swapped in
whole, so any thread may read it): the master's ``/metrics/snapshot`` serves the latest
without asking this actor anything.

Only its master talks to it: a message from any other sender (the allocator's port is
the master's, so any peer can address it) is logged and dropped, as Mesos' allocator,
which is reached only by local dispatch.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping
from typing import Any, cast

import structlog

from actors.allocator.config import AllocatorConfig
from actors.allocator.hierarchical import HierarchicalAllocator
from actors.messages.internal import (
    AllocatorActivateAgent,
    AllocatorActivateFramework,
    AllocatorAddAgent,
    AllocatorAddFramework,
    AllocatorDeactivateAgent,
    AllocatorDeactivateFramework,
    AllocatorRecoverResources,
    AllocatorRemoveAgent,
    AllocatorRemoveFramework,
    AllocatorReviveOffers,
    AllocatorSuppressOffers,
    AllocatorUpdateAgent,
    AllocatorUpdateFramework,
    AllocatorUpdateQuota,
    AllocatorUpdateWeights,
    OffersAllocated,
)
from actors.resources import Resources
from transport import PID, HttpRequest, HttpResponse, Node, Process, Timer, handles

__all__ = ["AllocatorActor"]

_log = structlog.get_logger("meseta.allocator")

PUBLISH_INTERVAL = 0.05
"""Seconds between two publications of the metrics after event-triggered runs."""


class AllocatorActor(Process):
    """See the module docstring."""

    def __init__(self, node: Node, master: PID, config: AllocatorConfig | None = None,
                 name: str = "allocator") -> None:
        super().__init__(node, name)
        self.master = master
        self.allocator = HierarchicalAllocator(self._offer, node.clock, config)
        self._timer: Timer | None = None
        self._run_queued = False
        self.published: Mapping[str, float] = {}
        """The metrics as of the last run (read by the master's HTTP routes)."""
        self._published_at = float("-inf")

    def on_start(self) -> None:
        self.route("/metrics", self._metrics_route)
        self._schedule_tick()
        self._publish()

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().on_stop()

    # --- runs -------------------------------------------------------------------------

    def _schedule_tick(self) -> None:
        self._timer = self.delay(self.allocator.config.allocation_interval, self._tick)

    def _tick(self) -> None:
        self._schedule_tick()
        self.allocator.allocate()
        self._publish()

    def metrics(self) -> dict[str, float]:
        """The allocator's metrics, with its inbox size (``event_queue_dispatches``)."""
        out = self.allocator.metrics()
        inbox = cast("queue.Queue[Any]", self.actor_inbox).qsize()
        out["allocator/mesos/event_queue_dispatches"] = float(inbox)
        return out

    def _publish(self) -> None:
        self.published = self.metrics()
        self._published_at = self.node.clock.monotonic()

    def _after_event(self) -> None:
        if self.allocator.pending() and not self._run_queued:
            self._run_queued = True
            self._post(self._run_pending)

    def _run_pending(self) -> None:
        self._run_queued = False
        self.allocator.allocate_pending()
        if self.node.clock.monotonic() - self._published_at >= PUBLISH_INTERVAL:
            self._publish()

    def _offer(self, framework_id: str, allocation: dict[str, dict[str, Resources]]) -> None:
        self.send(self.master, OffersAllocated(framework_id=framework_id, allocation=allocation))

    def _dispatch(self, frm: PID, msg: Any, ctx: Any) -> None:
        if frm != self.master:
            _log.warning("ignoring an allocator call not from the master",
                         name=type(msg).__name__, frm=str(frm))
            return
        super()._dispatch(frm, msg, ctx)

    def _apply(self, what: str, call: Callable[[], Any]) -> None:
        """Run one allocator call; a bad request is logged, never fatal."""
        try:
            call()
        except (KeyError, ValueError) as exc:
            _log.warning("allocator request refused", request=what, error=str(exc))
            return
        self._after_event()

    # --- frameworks -------------------------------------------------------------------

    @handles(AllocatorAddFramework)
    def _on_add_framework(self, frm: PID, msg: AllocatorAddFramework) -> None:
        self._apply("add_framework", lambda: self.allocator.add_framework(
            msg.framework_id, msg.roles, msg.suppressed_roles, msg.active,
            [c.name for c in msg.capabilities], msg.min_allocatable_resources))

    @handles(AllocatorRemoveFramework)
    def _on_remove_framework(self, frm: PID, msg: AllocatorRemoveFramework) -> None:
        self._apply("remove_framework",
                    lambda: self.allocator.remove_framework(msg.framework_id))

    @handles(AllocatorActivateFramework)
    def _on_activate_framework(self, frm: PID, msg: AllocatorActivateFramework) -> None:
        self._apply("activate_framework",
                    lambda: self.allocator.activate_framework(msg.framework_id))

    @handles(AllocatorDeactivateFramework)
    def _on_deactivate_framework(self, frm: PID, msg: AllocatorDeactivateFramework) -> None:
        self._apply("deactivate_framework",
                    lambda: self.allocator.deactivate_framework(msg.framework_id))

    @handles(AllocatorUpdateFramework)
    def _on_update_framework(self, frm: PID, msg: AllocatorUpdateFramework) -> None:
        self._apply("update_framework", lambda: self.allocator.update_framework(
            msg.framework_id, msg.roles, msg.suppressed_roles,
            [c.name for c in msg.capabilities], msg.min_allocatable_resources))

    # --- agents -----------------------------------------------------------------------

    @handles(AllocatorAddAgent)
    def _on_add_agent(self, frm: PID, msg: AllocatorAddAgent) -> None:
        self._apply("add_agent", lambda: self.allocator.add_agent(
            msg.agent_id, msg.total, msg.used_by_framework))

    @handles(AllocatorRemoveAgent)
    def _on_remove_agent(self, frm: PID, msg: AllocatorRemoveAgent) -> None:
        self._apply("remove_agent", lambda: self.allocator.remove_agent(msg.agent_id))

    @handles(AllocatorUpdateAgent)
    def _on_update_agent(self, frm: PID, msg: AllocatorUpdateAgent) -> None:
        self._apply("update_agent", lambda: self.allocator.update_agent(msg.agent_id, msg.total))

    @handles(AllocatorActivateAgent)
    def _on_activate_agent(self, frm: PID, msg: AllocatorActivateAgent) -> None:
        self._apply("activate_agent", lambda: self.allocator.activate_agent(msg.agent_id))

    @handles(AllocatorDeactivateAgent)
    def _on_deactivate_agent(self, frm: PID, msg: AllocatorDeactivateAgent) -> None:
        self._apply("deactivate_agent", lambda: self.allocator.deactivate_agent(msg.agent_id))

    # --- offers and policy ------------------------------------------------------------

    @handles(AllocatorRecoverResources)
    def _on_recover_resources(self, frm: PID, msg: AllocatorRecoverResources) -> None:
        self._apply("recover_resources", lambda: self.allocator.recover_resources(
            msg.framework_id, msg.agent_id, msg.resources, msg.refuse_seconds, msg.role))

    @handles(AllocatorSuppressOffers)
    def _on_suppress_offers(self, frm: PID, msg: AllocatorSuppressOffers) -> None:
        self._apply("suppress_offers",
                    lambda: self.allocator.suppress_offers(msg.framework_id, msg.roles))

    @handles(AllocatorReviveOffers)
    def _on_revive_offers(self, frm: PID, msg: AllocatorReviveOffers) -> None:
        self._apply("revive_offers",
                    lambda: self.allocator.revive_offers(msg.framework_id, msg.roles))

    @handles(AllocatorUpdateWeights)
    def _on_update_weights(self, frm: PID, msg: AllocatorUpdateWeights) -> None:
        self._apply("update_weights", lambda: self.allocator.update_weights(msg.weights))

    @handles(AllocatorUpdateQuota)
    def _on_update_quota(self, frm: PID, msg: AllocatorUpdateQuota) -> None:
        self._apply("update_quota", lambda: self.allocator.update_quota(
            msg.role, msg.guarantees, msg.limits))

    # --- HTTP -------------------------------------------------------------------------

    def _metrics_route(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(self.metrics())
