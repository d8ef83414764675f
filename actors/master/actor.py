"""``MasterActor``: the thin actor in front of the master's books.

Schedulers (their drivers) and agents talk to it with the messages of
``actors.messages.framework`` and ``actors.messages.agent``; it talks to the
``AllocatorActor`` of the same node (``allocator``) with ``actors.messages.internal``
and gets ``OffersAllocated`` back. Each handler below looks the sender up, calls a pure
function of ``frameworks`` / ``agents`` / ``offers`` / ``launch`` / ``tasks`` /
``reconciliation`` that fills an ``Outbox``, and sends what it holds (``_apply``).

Timers run on the node's clock (``self.delay``), so tests drive them with a
``ManualClock``: agent pings (every ``agent_ping_timeout``; an agent that misses
``max_agent_ping_timeouts`` pongs in a row is removed), framework failover (a scheduler
whose connection broke is deactivated, and removed after its ``failover_timeout``), the
registry's garbage collection (every ``registry_gc_interval``, ``registry_gc``), and
the optional ``offer_timeout``. HTTP routes (``/master/state``...) are in ``http``,
the web UI's in ``webui``.

Leadership: without ``config.zk`` the master is elected at once (standalone). With it,
the master starts as a non-leading master and ``actors.master.leadership`` (run by
``main``) tells it, from ZooKeeper's threads, ``tell_elected()`` and ``tell_leader(info)``.
Until elected it answers no framework or agent registration: those are held for a few
seconds (``actors.master.held``: their senders' detectors may hear of the election a
moment before ours) and handled once it leads, anything else is logged and dropped.
Elected, it exits the process (``os._exit(1)``, fail fast as Mesos' master) when the
detector reports another leader or none.

Authentication (``principal_of(pid)``: who sent a message), the registration gates of
``--authenticate_frameworks`` / ``--authenticate_agents`` and ``--rate_limits`` are in
``security_handlers``. Maintenance (schedule, machine modes, inverse offers and their
routes) is in ``maintenance_handlers``. Agents and the registry are handled in
``agent_handlers`` (a base class; see there):
with a ``Registrar`` every registry write (``AdmitAgent``, ``MarkAgentReachable``,
``UpdateAgentInfo``, ``RemoveAgent``, ``MarkAgentUnreachable``, ``PruneAgents``) is queued
to a ``RegistrarWorker`` thread that batches them into one storage write and posts each
outcome back; the master acts (``AgentRegistered``...) only once the write is durable.
The registry is recovered when elected (standalone: at start); its agents that do not
re-register within ``agent_reregister_timeout`` are marked unreachable. While the
ZooKeeper connection is SUSPENDED ``leadership`` holds the writes
(``hold_registry``). A failed recovery or write exits (1). The plumbing shared by the
handlers (``_apply``, ``_leading``, ``_fail_fast``) is in ``plumbing``.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable
from typing import TypeVar

import structlog

from actors.master import agents, frameworks, offers, tasks
from actors.master.books import Books, Outbox
from actors.master.config import MasterConfig
from actors.master.frameworks import FrameworkRecord
from actors.master.held import HeldMessages
from actors.master.identity import VERSION, master_info
from actors.master.launch import accept, as_accept
from actors.master.maintenance_handlers import MaintenanceHandlers
from actors.master.metrics import MasterCounters, valid_status_update
from actors.master.reconciliation import reconcile
from actors.master.scheduler_api.link import HttpLinks
from actors.master.security_handlers import SecurityHandlers
from actors.messages.agent import ShutdownExecutor, StatusUpdate
from actors.messages.framework import (
    AcceptOffers,
    DeactivateFramework,
    DeclineOffers,
    ExecutorToFramework,
    ExitedExecutor,
    FrameworkToExecutor,
    KillTask,
    LaunchTasks,
    ReconcileTasks,
    RegisterFramework,
    ReregisterFramework,
    ResourceRequest,
    ReviveOffers,
    StatusUpdateAcknowledgement,
    SuppressOffers,
    UnregisterFramework,
    UpdateFramework,
)
from actors.messages.info import MasterInfo
from actors.messages.internal import (
    AllocatorReviveOffers,
    AllocatorSuppressOffers,
    OffersAllocated,
)
from actors.registry import Registrar
from transport import PID, Node, handles

__all__ = ["VERSION", "MasterActor"]


_log = structlog.get_logger("meseta.master")

M = TypeVar("M")


def _from_scheduler(fn: Callable[[MasterActor, FrameworkRecord, M, Outbox], None]
                    ) -> Callable[[MasterActor, PID, M], None]:
    """A handler for a framework call: only its registered scheduler may make it."""

    def handler(self: MasterActor, frm: PID, msg: M) -> None:
        framework = tasks.scheduler_of(self.books, frm, getattr(msg, "framework_id", ""),
                                       type(msg).__name__)
        if framework is not None:
            out = Outbox()
            fn(self, framework, msg, out)
            self._apply(out)

    handler.__name__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler


MAX_FAILOVER_TIMEOUT = 2**63 / 1e9
"""Seconds: what Mesos' ``Duration`` holds (int64 nanoseconds)."""


def failover_timeout(seconds: float) -> float:
    """A framework's ``failover_timeout``; one no ``Duration`` can hold (NaN, infinite,
    past ~292 years) counts as the default, 0, as in Mesos' master."""
    if math.isfinite(seconds) and abs(seconds) < MAX_FAILOVER_TIMEOUT:
        return max(0.0, seconds)
    _log.warning("invalid failover_timeout; using the default 0", failover_timeout=seconds)
    return 0.0


class MasterActor(SecurityHandlers, MaintenanceHandlers):
    """See the module docstring. ``MasterActor(node, config)``, named ``master``."""

    def __init__(self, node: Node, config: MasterConfig | None = None, *,
                 name: str = "master", allocator: PID | None = None,
                 master_id: str | None = None, registrar: Registrar | None = None) -> None:
        super().__init__(node, name)
        self.config = config or MasterConfig()
        self.allocator = allocator or node.pid("allocator")
        info = master_info(master_id or uuid.uuid4().hex[:12], self.pid, node, self.config)
        self.books = Books(master_info=info,
                           now=node.clock.now,
                           max_completed_frameworks=self.config.max_completed_frameworks,
                           max_completed_tasks=self.config.max_completed_tasks_per_framework,
                           acls=self.config.security.acls,
                           http_scheme=self.config.security.scheme)
        self.elected = not self.config.zk
        self.held = HeldMessages()
        self.counters = MasterCounters()
        self.elected_time: float | None = self.books.start_time if self.elected else None
        self.leader: MasterInfo | None = self.books.master_info if self.elected else None
        self._exit: Callable[[int], None] = os._exit
        self.http_links = HttpLinks(self.config.heartbeat_interval, self.delay, self.exited,
                                    self._trace_http)
        self._init_agents(registrar)
        self._init_maintenance()
        self._init_security()

    def on_start(self) -> None:
        from actors.master.http import install_routes
        from actors.master.scheduler_api.route import install_scheduler_api
        from actors.master.webui import install_webui

        install_routes(self)
        install_scheduler_api(self)
        install_webui(self)
        self._start_maintenance()
        _log.info("master started", master_id=self.master_id, pid=str(self.pid))
        if self.elected:
            self._recover_registry()

    def on_stop(self) -> None:
        self._stop_agents()
        self._stop_maintenance()
        super().on_stop()

    # --- leadership (``tell_*`` are thread-safe: they post into the actor) --------------

    def tell_elected(self) -> None:
        """Our candidacy won: from now on this master leads."""
        self._post(self._on_elected)

    def tell_leader(self, info: MasterInfo | None) -> None:
        """The detector's report of the leading master (``None``: no leader)."""
        self._post(self._on_leader_detected, info)

    def _on_elected(self) -> None:
        if self.elected:
            return
        self.elected = True
        self.elected_time = self.node.clock.now()
        self.leader = self.books.master_info
        _log.info("elected as the leading master", master_id=self.master_id,
                  pid=str(self.pid))
        self._recover_registry()
        self._replay_held()  # agents' are held again until the registry is recovered

    def _on_leader_detected(self, info: MasterInfo | None) -> None:
        if self.elected and (info is None or info.id != self.master_id):
            self._fail_fast("the detector reports "
                            + (f"another leader {info.pid}" if info is not None else "no leader")
                            + " while this master leads")
            return
        if not self.elected:
            self.leader = info
            _log.info("leading master detected",
                      leader=str(info.pid) if info is not None else None)

    # --- frameworks -------------------------------------------------------------------

    @handles(RegisterFramework)
    def _on_register_framework(self, frm: PID, msg: RegisterFramework) -> None:
        if not self._leading(frm, msg) or self._framework_refused(frm, msg.framework_info):
            return
        self._run(frameworks.register, frm, msg)

    @handles(ReregisterFramework)
    def _on_reregister_framework(self, frm: PID, msg: ReregisterFramework) -> None:
        if not self._leading(frm, msg) or self._framework_refused(frm, msg.framework_info):
            return
        self._run(frameworks.reregister, frm, msg)

    @handles(UnregisterFramework)
    @_from_scheduler
    def _on_unregister_framework(self, framework: FrameworkRecord, msg: UnregisterFramework,
                                 out: Outbox) -> None:
        if framework.pid is not None:
            self.unlink(framework.pid)
        frameworks.remove(self.books, framework, out)

    @handles(DeactivateFramework)
    @_from_scheduler
    def _on_deactivate_framework(self, framework: FrameworkRecord, msg: DeactivateFramework,
                                 out: Outbox) -> None:
        frameworks.deactivate(self.books, framework, out)

    @handles(UpdateFramework)
    @_from_scheduler
    def _on_update_framework(self, framework: FrameworkRecord, msg: UpdateFramework,
                             out: Outbox) -> None:
        frameworks.update(self.books, framework, msg, out)

    @handles(ResourceRequest)
    def _on_resource_request(self, frm: PID, msg: ResourceRequest) -> None:
        _log.info("resource request ignored (the allocator does not use requests)",
                  framework_id=msg.framework_id, requests=len(msg.requests))

    # --- offers -----------------------------------------------------------------------

    @handles(OffersAllocated)
    def _on_offers_allocated(self, frm: PID, msg: OffersAllocated) -> None:
        if frm != self.allocator:  # only our allocator allocates; any peer can name this
            _log.warning("ignoring OffersAllocated not from the allocator", frm=str(frm))
            return
        self._run(offers.make_offers, msg)

    @handles(AcceptOffers)
    @_from_scheduler
    def _on_accept_offers(self, framework: FrameworkRecord, msg: AcceptOffers,
                          out: Outbox) -> None:
        accept(self.books, framework, msg, out)

    @handles(LaunchTasks)
    @_from_scheduler
    def _on_launch_tasks(self, framework: FrameworkRecord, msg: LaunchTasks,
                         out: Outbox) -> None:
        accept(self.books, framework, as_accept(msg), out)

    @handles(DeclineOffers)
    @_from_scheduler
    def _on_decline_offers(self, framework: FrameworkRecord, msg: DeclineOffers,
                           out: Outbox) -> None:
        offers.decline(self.books, framework, msg, out)

    @handles(ReviveOffers)
    @_from_scheduler
    def _on_revive_offers(self, framework: FrameworkRecord, msg: ReviveOffers,
                          out: Outbox) -> None:
        revived = set(msg.roles or framework.info.roles)
        framework.suppressed_roles = framework.suppressed_roles - revived
        out.tell_allocator(AllocatorReviveOffers(framework_id=framework.id,
                                                 roles=msg.roles or None))

    @handles(SuppressOffers)
    @_from_scheduler
    def _on_suppress_offers(self, framework: FrameworkRecord, msg: SuppressOffers,
                            out: Outbox) -> None:
        framework.suppressed_roles |= set(msg.roles or framework.info.roles)
        out.tell_allocator(AllocatorSuppressOffers(framework_id=framework.id,
                                                   roles=msg.roles or None))

    # --- tasks ------------------------------------------------------------------------

    @handles(KillTask)
    def _on_kill_task(self, frm: PID, msg: KillTask) -> None:
        self._run(tasks.kill, frm, msg)

    @handles(StatusUpdate)
    def _on_status_update(self, frm: PID, msg: StatusUpdate) -> None:
        if valid_status_update(self.books, frm, msg):
            self.counters.valid_status_updates += 1
        else:
            self.counters.invalid_status_updates += 1
        self._run(tasks.status_update, frm, msg)

    @handles(StatusUpdateAcknowledgement)
    def _on_status_update_acknowledgement(self, frm: PID,
                                          msg: StatusUpdateAcknowledgement) -> None:
        self._run(tasks.acknowledge, frm, msg)

    @handles(ReconcileTasks)
    @_from_scheduler
    def _on_reconcile_tasks(self, framework: FrameworkRecord, msg: ReconcileTasks,
                            out: Outbox) -> None:
        for update in reconcile(self.books, framework, msg.statuses):
            out.send(framework.pid, update)

    @handles(ExitedExecutor)
    def _on_exited_executor(self, frm: PID, msg: ExitedExecutor) -> None:
        self._run(tasks.exited_executor, frm, msg)

    @handles(ShutdownExecutor)
    @_from_scheduler
    def _on_shutdown_executor(self, framework: FrameworkRecord, msg: ShutdownExecutor,
                              out: Outbox) -> None:
        agent = self.books.agents.registered.get(msg.agent_id)
        if agent is not None and agent.connected:
            out.send(agent.pid, msg)

    @handles(FrameworkToExecutor)
    @_from_scheduler
    def _on_framework_to_executor(self, framework: FrameworkRecord, msg: FrameworkToExecutor,
                                  out: Outbox) -> None:
        agent = self.books.agents.registered.get(msg.agent_id)
        if agent is None or not agent.connected:
            _log.info("framework message dropped: agent unknown or disconnected",
                      agent_id=msg.agent_id, framework_id=framework.id)
            return
        out.send(agent.pid, msg)

    @handles(ExecutorToFramework)
    def _on_executor_to_framework(self, frm: PID, msg: ExecutorToFramework) -> None:
        framework = self.books.frameworks.get(msg.framework_id)
        if framework is None or not framework.connected:
            _log.info("executor message dropped: framework unknown or disconnected",
                      framework_id=msg.framework_id)
            return
        out = Outbox()
        out.send(framework.pid, msg)
        self._apply(out)

    # --- failure detection ------------------------------------------------------------

    def exited(self, pid: PID) -> None:
        self.authentication.forget(pid)
        # Every framework and agent at that PID (as Mesos loops over them all): a peer
        # may have registered several under one PID, and each must be disconnected.
        for framework in [f for f in self.books.frameworks.registered.values()
                          if f.pid == pid and f.connected]:
            _log.warning("scheduler disconnected", framework_id=framework.id, pid=str(pid),
                         failover_timeout=framework.info.failover_timeout)
            out = Outbox()
            framework.connected = False
            frameworks.deactivate(self.books, framework, out)
            self._apply(out)
            self.delay(failover_timeout(framework.info.failover_timeout),
                       self._failover_expired, framework.id, framework.generation)
        for agent in [a for a in self.books.agents.registered.values()
                      if a.pid == pid and a.connected]:
            _log.warning("agent disconnected", agent_id=agent.id, pid=str(pid))
            self._run(agents.disconnect, agent)

    def _failover_expired(self, framework_id: str, generation: int) -> None:
        framework = self.books.frameworks.get(framework_id)
        if framework is None or framework.connected or framework.generation != generation:
            return
        _log.warning("framework failover timeout passed", framework_id=framework_id)
        self._run(frameworks.remove, framework)
