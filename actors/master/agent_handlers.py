"""``AgentHandlers``: the master's agent handlers and its registry, a base of ``MasterActor``.

Agents talk to the master with ``actors.messages.agent`` (register, re-register, pong,
unregister); the decisions are the pure functions of ``actors.master.agents`` and
``actors.master.agent_registry``. What must survive the master goes through a
``RegistrarWorker`` (``actors.registry.worker``): the master queues the operation and
acts only in the callback the worker posts back once the write is durable (Mesos'
``registrar->apply(...).onAny(defer(self(), ...))``):

- ``RegisterAgent``: ``AdmitAgent``, then the books take the agent and it hears
  ``AgentRegistered`` (a retry while the write is in flight is dropped);
- ``ReregisterAgent``: ``MarkAgentReachable`` for an agent unreachable or unknown to
  this master, ``UpdateAgentInfo`` for a known one whose info changed, nothing
  otherwise; then ``AgentReregistered`` (a refused operation: ``Shutdown``);
- ``UnregisterAgent``: ``RemoveAgent``, then its tasks are lost (TASK_GONE / TASK_LOST);
- missed pings: ``MarkAgentUnreachable``, then TASK_UNREACHABLE / TASK_LOST.

Both registrations first pass ``register_agents`` (``--acls``) for the agent's
principal (``principal_of``: its credential or CURVE key): a refused agent is told
``Shutdown`` with the reason and is not admitted; so is an agent of a machine in
maintenance DOWN mode (``_machine_down``, ``maintenance_handlers``).

Recovery (when elected; standalone: at start) reads the registry; agent (re-)registrations
that arrive before it is done are held (``actors.master.held``) and handled once it is.
The agents it admitted are ``recovered``: those that do not re-register within
``agent_reregister_timeout`` are marked unreachable in the registry and the frameworks
hear ``LostAgent`` (``recoveredSlavesTimeout``).
Once recovered (leading), every ``registry_gc_interval`` the master garbage-collects the
unreachable and gone agents past ``registry_max_agent_age`` / ``registry_max_agent_count``
(``actors.master.registry_gc``): ``PruneAgents`` in the registry, then out of the books.
A failed write or recovery exits the process (the worker reports it; ``_fail_fast``).
Without a registrar (tests) every operation "succeeds" at once, on the same thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import structlog

from actors.master import agent_registry, agents, maintenance, registry_gc
from actors.master.books import Outbox
from actors.master.plumbing import MasterProcess
from actors.master.validation import validate_agent_resources
from actors.messages.agent import (
    PingAgent,
    PongAgent,
    RegisterAgent,
    ReregisterAgent,
    Shutdown,
    UnregisterAgent,
    UpdateAgent,
)
from actors.messages.info import AgentInfo
from actors.registry import (
    AdmitAgent,
    MarkAgentUnreachable,
    Operation,
    OperationRefused,
    Registrar,
    Registry,
    RemoveAgent,
)
from actors.registry.worker import Outcome, RegistrarWorker
from transport import PID, Timer, handles

__all__ = ["AgentHandlers"]

_log = structlog.get_logger("meseta.master")


class AgentHandlers(MasterProcess):
    """See the module docstring; ``MasterActor`` calls ``_init_agents`` from ``__init__``."""

    def _init_agents(self, registrar: Registrar | None) -> None:
        self._ping_timers: dict[str, Timer] = {}
        self.registry_worker: RegistrarWorker | None = None if registrar is None else (
            RegistrarWorker(registrar, self._post, self._fail_fast,
                            placement=self.node.placement))
        self.recovered = registrar is None
        """Whether the registry was recovered (agents are handled only then)."""
        self._admitting: set[PID] = set()
        self._reregistering: set[str] = set()
        self._marking_unreachable: set[str] = set()
        self._removing: set[str] = set()
        self._registry_gc_timer: Timer | None = None
        self._collecting = False
        """A registry GC's write is in flight (the next one waits for it)."""

    def _stop_agents(self) -> None:
        for timer in self._ping_timers.values():
            timer.cancel()
        if self._registry_gc_timer is not None:
            self._registry_gc_timer.cancel()
        if self.registry_worker is not None:
            self.registry_worker.stop()

    # --- the registry -------------------------------------------------------------------

    def hold_registry(self) -> None:
        """Write nothing to the registry for now (thread-safe: ZooKeeper SUSPENDED)."""
        if self.registry_worker is not None:
            self.registry_worker.hold()

    def release_registry(self) -> None:
        """Write again (thread-safe: the ZooKeeper connection is back, same session)."""
        if self.registry_worker is not None:
            self.registry_worker.release()

    def _recover_registry(self) -> None:
        if self.registry_worker is None:
            self._schedule_registry_gc()
        else:
            self.registry_worker.start()
            self.registry_worker.recover(self._registry_recovered)

    def _registry_recovered(self, registry: Registry) -> None:
        book = self.books.agents
        book.recovered = {a: info for a, info in registry.agents.items()
                          if a not in book.registered}
        book.unreachable.update(registry.unreachable)
        book.gone.update(registry.gone)
        maintenance.recover(self.books, registry.schedule, registry.machines)
        self.recovered = True
        worker = self.registry_worker
        _log.info("registry recovered", agents=len(registry.agents),
                  unreachable=len(registry.unreachable), gone=len(registry.gone),
                  version=worker.registrar.version if worker is not None else None,
                  agent_reregister_timeout=self.config.agent_reregister_timeout)
        if book.recovered:
            self.delay(self.config.agent_reregister_timeout, self._recovered_agents_timeout)
        self._schedule_registry_gc()
        self._replay_held()

    def _schedule_registry_gc(self) -> None:
        self._registry_gc_timer = self.delay(self.config.registry_gc_interval,
                                             self._registry_gc)

    def _registry_gc(self) -> None:
        """The ``registry_gc_interval`` passed: prune what is too old or too many (Mesos)."""
        self._schedule_registry_gc()
        if self._collecting:
            return
        config = self.config
        gc = registry_gc.plan(self.books, self.node.clock.now(),
                              config.registry_max_agent_age, config.registry_max_agent_count)
        if gc.empty:
            _log.debug("registry gc: no agents qualify for removal")
            return
        self._collecting = True
        self._store(gc.operation(), self._registry_collected, gc)

    def _registry_collected(self, outcome: Outcome, gc: registry_gc.GcPlan) -> None:
        self._collecting = False
        collected = registry_gc.forget(self.books, gc)
        _log.info("registry garbage collected", unreachable=collected.unreachable,
                  gone=collected.gone, unreachable_tasks=collected.tasks,
                  skipped=len(gc.unreachable) + len(gc.gone)
                  - collected.unreachable - collected.gone,
                  registry_changed=outcome is True,
                  max_agent_age_s=self.config.registry_max_agent_age,
                  max_agent_count=self.config.registry_max_agent_count)

    def _store(self, operation: Operation, callback: Callable[..., None], *args: Any) -> None:
        """Make ``operation`` durable, then ``callback(outcome, *args)`` in this actor."""
        if self.registry_worker is None:
            callback(True, *args)
        else:
            self.registry_worker.submit(operation, callback, *args)

    def _agents_welcome(self, frm: PID, msg: RegisterAgent | ReregisterAgent) -> bool:
        if not self._leading(frm, msg):
            return False
        problem = validate_agent_resources(msg.agent_info.resources)
        if problem is not None:  # as Mesos: an invalid registration is dropped
            _log.warning("dropping an invalid agent registration", frm=str(frm),
                         message=type(msg).__name__, problem=problem)
            return False
        if not self.recovered and not self._hold(frm, msg, "registry not recovered yet"):
            _log.info("registry not recovered yet: dropping", message=type(msg).__name__,
                      frm=str(frm))
        return self.recovered

    # --- registration -------------------------------------------------------------------

    def _agent_authorized(self, frm: PID, info: AgentInfo) -> bool:
        """``register_agents``; a refused agent hears why and is shut down."""
        principal = self.principal_of(frm)  # None: unauthenticated (only ANY matches)
        if self.books.acls.authorized("register_agents", principal, None):
            return True
        why = (f"Not authorized to register agent {info.hostname or frm.host} "
               f"(principal {principal or 'none'})")
        _log.warning("refusing registration of agent", pid=str(frm), reason=why)
        out = Outbox()
        out.send(frm, Shutdown(message=why))
        self._apply(out)
        return False

    @handles(RegisterAgent)
    def _on_register_agent(self, frm: PID, msg: RegisterAgent) -> None:
        if (not self._agents_welcome(frm, msg) or self._agent_refused(frm)
                or not self._agent_authorized(frm, msg.agent_info)
                or self._machine_down(frm, msg.agent_info)):
            return
        if frm in self._admitting:
            _log.info("agent already being admitted: dropping its retry", frm=str(frm))
            return
        same, stale = agents.registrant(self.books, frm, msg)
        if same is not None:  # our reply was lost: the same id again
            out = Outbox()
            agents.answer_retry(self.books, same, frm, out, self.config.total_ping_timeout)
            self._apply(out)
            self._start_pinging(same.id)
            return
        if stale is not None:  # another agent now answers at that address
            self._remove_durably(stale)
        info = dataclasses.replace(msg.agent_info, id=self.books.agents.new_id())
        _log.info("admitting agent", agent_id=info.id, pid=str(frm))
        self._admitting.add(frm)
        self._store(AdmitAgent(info), self._admitted, frm, msg, info)

    def _admitted(self, outcome: Outcome, frm: PID, msg: RegisterAgent,
                  info: AgentInfo) -> None:
        self._admitting.discard(frm)
        if isinstance(outcome, OperationRefused):
            _log.error("agent not admitted", agent_id=info.id, reason=str(outcome))
            return
        out = Outbox()
        record = agents.add_registered(self.books, frm, msg, info, out,
                                       self.config.total_ping_timeout)
        self._apply(out)
        self._start_pinging(record.id)

    @handles(ReregisterAgent)
    def _on_reregister_agent(self, frm: PID, msg: ReregisterAgent) -> None:
        if (not self._agents_welcome(frm, msg) or self._agent_refused(frm)
                or not self._agent_authorized(frm, msg.agent_info)
                or self._machine_down(frm, msg.agent_info)):
            return
        agent_id = msg.agent_info.id
        busy = self._reregistering | self._marking_unreachable | self._removing
        if agent_id in busy:
            _log.info("agent's registry operation in flight: dropping its re-registration",
                      agent_id=agent_id, frm=str(frm))
            return
        operation = (None if agent_id in self.books.agents.removed
                     else agent_registry.registry_operation(self.books, msg.agent_info))
        if operation is None:
            self._reregistered(False, frm, msg)
            return
        self._reregistering.add(agent_id)
        self._store(operation, self._reregistered, frm, msg)

    def _reregistered(self, outcome: Outcome, frm: PID, msg: ReregisterAgent) -> None:
        agent_id = msg.agent_info.id
        self._reregistering.discard(agent_id)
        out = Outbox()
        if isinstance(outcome, OperationRefused):
            _log.warning("agent may not re-register", agent_id=agent_id, reason=str(outcome))
            out.send(frm, Shutdown(message=f"agent {agent_id} may not re-register: {outcome}"))
            self._apply(out)
            return
        record = agents.reregister(self.books, frm, msg, out, self.config.total_ping_timeout)
        self._apply(out)
        if record is not None:
            self._start_pinging(record.id)

    @handles(UnregisterAgent)
    def _on_unregister_agent(self, frm: PID, msg: UnregisterAgent) -> None:
        agent = self.books.agents.registered.get(msg.agent_id)
        if agent is None or agent.pid != frm:
            _log.warning("ignoring UnregisterAgent", agent_id=msg.agent_id, frm=str(frm))
            return
        self._remove_durably(agent)

    @handles(UpdateAgent)
    def _on_update_agent(self, frm: PID, msg: UpdateAgent) -> None:
        _log.info("oversubscribed resources are not offered yet", agent_id=msg.agent_id)

    # --- removal ------------------------------------------------------------------------

    def _remove_durably(self, agent: agents.AgentRecord) -> None:
        """``RemoveAgent`` in the registry, then out of the books (its tasks are lost)."""
        if agent.id in self._removing or agent.id in self._marking_unreachable:
            return
        self._removing.add(agent.id)
        self._stop_pinging(agent.id)
        self._store(RemoveAgent(agent.id), self._removed, agent)

    def _removed(self, outcome: Outcome, agent: agents.AgentRecord) -> None:
        self._removing.discard(agent.id)
        self._stored_removal(outcome, agent, "removed")

    def _mark_unreachable(self, agent: agents.AgentRecord) -> None:
        if agent.id in self._marking_unreachable or agent.id in self._removing:
            return
        self._marking_unreachable.add(agent.id)
        self._store(MarkAgentUnreachable(agent.id, self.node.clock.now()),
                    self._marked_unreachable, agent)

    def _marked_unreachable(self, outcome: Outcome, agent: agents.AgentRecord) -> None:
        self._marking_unreachable.discard(agent.id)
        self._stored_removal(outcome, agent, "unreachable")

    def _stored_removal(self, outcome: Outcome, agent: agents.AgentRecord,
                        why: Literal["unreachable", "removed"]) -> None:
        """The registry has the agent's removal: drop it from the books, unless it is
        another record by now (it came back while the write was in flight)."""
        if isinstance(outcome, OperationRefused):
            _log.warning("agent was not admitted in the registry", agent_id=agent.id,
                         reason=str(outcome))
        if self.books.agents.registered.get(agent.id) is agent:
            self._remove_agent(agent, why)

    def _remove_agent(self, agent: agents.AgentRecord,
                      why: Literal["unreachable", "removed"]) -> None:
        self._stop_pinging(agent.id)
        self.unlink(agent.pid)
        out = Outbox()
        agents.remove(self.books, agent, out, why)
        self._apply(out)

    def _recovered_agents_timeout(self) -> None:
        for agent_id in agent_registry.overdue_recovered(self.books, self._reregistering):
            if agent_id in self._marking_unreachable:
                continue
            _log.warning("recovered agent did not re-register in time", agent_id=agent_id,
                         agent_reregister_timeout=self.config.agent_reregister_timeout)
            self._marking_unreachable.add(agent_id)
            when = self.node.clock.now()
            self._store(MarkAgentUnreachable(agent_id, when), self._unreachable_after_failover,
                        agent_id, when)

    def _unreachable_after_failover(self, outcome: Outcome, agent_id: str,
                                    when: float) -> None:
        self._marking_unreachable.discard(agent_id)
        if isinstance(outcome, OperationRefused):
            _log.error("recovered agent not marked unreachable", agent_id=agent_id,
                       reason=str(outcome))
        if agent_id in self.books.agents.recovered:
            self._run(agent_registry.mark_unreachable_after_failover, agent_id, when)

    # --- pings --------------------------------------------------------------------------

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

    def _stop_pinging(self, agent_id: str) -> None:
        timer = self._ping_timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()

    def _ping(self, agent_id: str) -> None:
        agent = self.books.agents.registered.get(agent_id)
        if agent is None or agent_id in self._removing:
            self._ping_timers.pop(agent_id, None)
            return
        if agents.ping_due(agent, self.config.max_agent_ping_timeouts) == "remove":
            _log.warning("agent missed its pings", agent_id=agent_id,
                         missed=agent.missed_pings)
            self._ping_timers.pop(agent_id, None)
            self._mark_unreachable(agent)
            return
        self.send(agent.pid, PingAgent(connected=agent.connected))
        self._ping_timers[agent_id] = self.delay(self.config.agent_ping_timeout, self._ping,
                                                 agent_id)
