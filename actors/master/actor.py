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
whose connection broke is deactivated, and removed after its ``failover_timeout``), and
the optional ``offer_timeout``. HTTP routes (``/master/state``...) are in ``http``.

Leadership: without ``config.zk`` the master is elected at once (standalone). With it,
the master starts as a non-leading master and ``actors.master.leadership`` (run by
``main``) tells it, from ZooKeeper's threads, ``tell_elected()`` and ``tell_leader(info)``.
Until elected it answers no framework or agent registration (logged and dropped: they
find the leader through ZooKeeper). Elected, it exits the process (``os._exit(1)``, fail
fast as Mesos' master) when the detector reports another leader or none.

Registry (when given a ``Registrar``): recovered when elected (standalone: at start),
``AdmitAgent`` before a new agent is told it registered, ``MarkAgentReachable`` before a
re-registering one is told (a no-op for an admitted agent), ``MarkAgentUnreachable`` when
pings remove one. Each is one synchronous storage write on the actor's thread (for now:
a slow store delays the master by that write). A failed recovery or write exits (1).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import structlog

from actors.master import agents, frameworks, offers, tasks
from actors.master.books import Books, Outbox
from actors.master.config import MasterConfig
from actors.master.frameworks import FrameworkRecord
from actors.master.identity import VERSION, master_info
from actors.master.launch import accept, as_accept
from actors.master.reconciliation import reconcile
from actors.messages.agent import (
    PingAgent,
    PongAgent,
    RegisterAgent,
    ReregisterAgent,
    ShutdownExecutor,
    StatusUpdate,
    UnregisterAgent,
    UpdateAgent,
)
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
from actors.registry import (
    AdmitAgent,
    MarkAgentReachable,
    MarkAgentUnreachable,
    Operation,
    OperationRefused,
    Registrar,
    RegistryError,
)
from transport import PID, Node, Process, Timer, handles

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


class MasterActor(Process):
    """See the module docstring. ``MasterActor(node, config)``, named ``master``."""

    def __init__(self, node: Node, config: MasterConfig | None = None, *,
                 name: str = "master", allocator: PID | None = None,
                 master_id: str | None = None, registrar: Registrar | None = None) -> None:
        super().__init__(node, name)
        self.registrar = registrar
        self.config = config or MasterConfig()
        self.allocator = allocator or node.pid("allocator")
        info = master_info(master_id or uuid.uuid4().hex[:12], self.pid, node, self.config)
        self.books = Books(master_info=info,
                           now=node.clock.now,
                           max_completed_frameworks=self.config.max_completed_frameworks,
                           max_completed_tasks=self.config.max_completed_tasks_per_framework)
        self._ping_timers: dict[str, Timer] = {}
        self.elected = not self.config.zk
        """Whether this master leads; standalone (no ``--zk``) masters lead from the start."""
        self.elected_time: float | None = self.books.start_time if self.elected else None
        self.leader: MasterInfo | None = self.books.master_info if self.elected else None
        """The leading master as last detected (ourselves once elected)."""
        self._exit: Callable[[int], None] = os._exit
        """How to fail fast (tests replace it)."""

    @property
    def master_id(self) -> str:
        return self.books.master_id

    def on_start(self) -> None:
        from actors.master.http import install_routes

        install_routes(self)
        _log.info("master started", master_id=self.master_id, pid=str(self.pid))
        if self.elected:
            self._recover()

    def on_stop(self) -> None:
        for timer in self._ping_timers.values():
            timer.cancel()
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
        self._recover()

    def _recover(self) -> None:
        if self.registrar is None:
            return
        try:
            registry = self.registrar.recover()
        except RegistryError as exc:
            self._fail_fast(f"cannot recover the registry: {exc}")
            return
        _log.info("registry recovered", agents=len(registry.agents),
                  unreachable=len(registry.unreachable), version=self.registrar.version)

    def _record(self, operation: Operation) -> None:
        """Store ``operation`` in the registry (one write); a failed store exits."""
        if self.registrar is None:
            return
        try:
            self.registrar.apply(operation)
        except OperationRefused as exc:
            _log.warning("registry operation refused", operation=type(operation).__name__,
                         reason=str(exc))
        except RegistryError as exc:
            self._fail_fast(f"cannot write the registry ({type(operation).__name__}): {exc}")

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

    def _fail_fast(self, reason: str) -> None:
        _log.error("committing suicide", reason=reason, master_id=self.master_id,
                   elected=self.elected)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        self._exit(1)

    def _leading(self, frm: PID, msg: object) -> bool:
        """Whether to handle ``msg``; a non-leading master logs and drops it."""
        if self.elected:
            return True
        _log.info("not the leading master: dropping", message=type(msg).__name__,
                  frm=str(frm), leader=str(self.leader.pid) if self.leader else None)
        return False

    # --- plumbing ---------------------------------------------------------------------

    def _apply(self, out: Outbox) -> None:
        """Send what a decision queued; watch new peers; time the new offers out."""
        for pid in out.links:
            self.link(pid)
        for msg in out.allocator:
            self.send(self.allocator, msg)
        for to, msg in out.sends:
            self.send(to, msg)
        if self.config.offer_timeout is not None:
            for offer_id in out.offers_made:
                self.delay(self.config.offer_timeout, self._offer_timed_out, offer_id)

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        out = Outbox()
        fn(self.books, *args, out)
        self._apply(out)

    # --- frameworks -------------------------------------------------------------------

    @handles(RegisterFramework)
    def _on_register_framework(self, frm: PID, msg: RegisterFramework) -> None:
        if not self._leading(frm, msg):
            return
        self._run(frameworks.register, frm, msg)

    @handles(ReregisterFramework)
    def _on_reregister_framework(self, frm: PID, msg: ReregisterFramework) -> None:
        if not self._leading(frm, msg):
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

    def _offer_timed_out(self, offer_id: str) -> None:
        if offer_id in self.books.offers:
            _log.info("offer timed out, rescinded", offer_id=offer_id)
            self._run(offers.rescind, offer_id)

    # --- tasks ------------------------------------------------------------------------

    @handles(KillTask)
    def _on_kill_task(self, frm: PID, msg: KillTask) -> None:
        self._run(tasks.kill, frm, msg)

    @handles(StatusUpdate)
    def _on_status_update(self, frm: PID, msg: StatusUpdate) -> None:
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

    # --- agents -----------------------------------------------------------------------

    @handles(RegisterAgent)
    def _on_register_agent(self, frm: PID, msg: RegisterAgent) -> None:
        if not self._leading(frm, msg):
            return
        known = set(self.books.agents.registered)
        out = Outbox()
        record = agents.register(self.books, frm, msg, out, self.config.total_ping_timeout)
        if record.id not in known:  # admitted before it hears it registered
            self._record(AdmitAgent(record.info))
        self._apply(out)
        self._start_pinging(record.id)

    @handles(ReregisterAgent)
    def _on_reregister_agent(self, frm: PID, msg: ReregisterAgent) -> None:
        if not self._leading(frm, msg):
            return
        out = Outbox()
        record = agents.reregister(self.books, frm, msg, out, self.config.total_ping_timeout)
        if record is not None:  # back in the admitted list (a no-op when it is there)
            self._record(MarkAgentReachable(record.info))
        self._apply(out)
        if record is not None:
            self._start_pinging(record.id)

    @handles(UnregisterAgent)
    def _on_unregister_agent(self, frm: PID, msg: UnregisterAgent) -> None:
        agent = self.books.agents.registered.get(msg.agent_id)
        if agent is None or agent.pid != frm:
            _log.warning("ignoring UnregisterAgent", agent_id=msg.agent_id, frm=str(frm))
            return
        self._remove_agent(agent, "removed")

    @handles(UpdateAgent)
    def _on_update_agent(self, frm: PID, msg: UpdateAgent) -> None:
        _log.info("oversubscribed resources are not offered yet", agent_id=msg.agent_id)

    @handles(PongAgent)
    def _on_pong_agent(self, frm: PID, msg: PongAgent) -> None:
        agent = self.books.agents.by_pid(frm)
        if agent is None:  # it does not know it was removed: ask it to register again
            self.send(frm, PingAgent(connected=False))
            return
        agent.pinged, agent.missed_pings = False, 0

    def _start_pinging(self, agent_id: str) -> None:
        if agent_id not in self._ping_timers:
            self._ping(agent_id)

    def _ping(self, agent_id: str) -> None:
        agent = self.books.agents.registered.get(agent_id)
        if agent is None:
            self._ping_timers.pop(agent_id, None)
            return
        if agents.ping_due(agent, self.config.max_agent_ping_timeouts) == "remove":
            _log.warning("agent missed its pings", agent_id=agent_id,
                         missed=agent.missed_pings)
            self._record(MarkAgentUnreachable(agent_id, self.node.clock.now()))
            self._remove_agent(agent, "unreachable")
            return
        self.send(agent.pid, PingAgent(connected=agent.connected))
        self._ping_timers[agent_id] = self.delay(self.config.agent_ping_timeout, self._ping,
                                                 agent_id)

    def _remove_agent(self, agent: agents.AgentRecord,
                      why: Literal["unreachable", "removed"]) -> None:
        timer = self._ping_timers.pop(agent.id, None)
        if timer is not None:
            timer.cancel()
        self.unlink(agent.pid)
        out = Outbox()
        agents.remove(self.books, agent, out, why)
        self._apply(out)

    # --- failure detection ------------------------------------------------------------

    def exited(self, pid: PID) -> None:
        framework = self.books.frameworks.by_pid(pid)
        if framework is not None and framework.connected:
            _log.warning("scheduler disconnected", framework_id=framework.id, pid=str(pid),
                         failover_timeout=framework.info.failover_timeout)
            out = Outbox()
            framework.connected = False
            frameworks.deactivate(self.books, framework, out)
            self._apply(out)
            self.delay(framework.info.failover_timeout, self._failover_expired,
                       framework.id, framework.generation)
        agent = self.books.agents.by_pid(pid)
        if agent is not None and agent.connected:
            _log.warning("agent disconnected", agent_id=agent.id, pid=str(pid))
            self._run(agents.disconnect, agent)

    def _failover_expired(self, framework_id: str, generation: int) -> None:
        framework = self.books.frameworks.get(framework_id)
        if framework is None or framework.connected or framework.generation != generation:
            return
        _log.warning("framework failover timeout passed", framework_id=framework_id)
        self._run(frameworks.remove, framework)
