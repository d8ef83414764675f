"""``AgentRegistration``: the agent's side of its link with the master.

``AgentActor`` (``actor``) inherits this (over ``HttpExecutors``); it calls
``_init_registration`` from its constructor, ``_start_leader_detection`` from
``on_start`` and ``_stop_registration`` from ``on_stop``. Recovery (``recovering``)
ends in ``_recovery_done``, which starts registering. What lives here:

- registration: ``RegisterAgent`` (``ReregisterAgent`` with its frameworks, executors
  and unacknowledged tasks once it has an id), re-sent with backoff (a random delay up
  to ``--registration_backoff_factor``, doubling to ``REGISTRATION_RETRY_INTERVAL_MAX``)
  until the master answers ``AgentRegistered`` / ``AgentReregistered``; then the id is
  checkpointed and the status update manager resumes (``_forward``). Registering again
  follows when the link to the master breaks, pings stop, or a ping says the master
  does not consider us connected; a handshake the master refuses (CURVE) exits;
- authentication (``--credential``; ``actors.messages.authentication``): the agent
  authenticates before each (re)registration; a refusal exits, as Mesos' agent does,
  leaving the executors running;
- health: ``PingAgent`` is answered with ``PongAgent``; no ping within the master's
  ``total_ping_timeout_seconds`` counts as a lost master;
- leader detection: with ``--master=zk://host:port/path`` (``config.zk``) a
  ``LeaderFollower`` (``actors.ha.follow``) names the leading master (posted to
  ``_leader_changed``): the agent registers with it, registers again
  (``ReregisterAgent`` once it has an id) when the leader changes, and ``_dispatch``
  drops every master message whose sender is not the detected leader (Mesos'
  split-brain guard; without zk: not ``--master``).
"""

from __future__ import annotations

import dataclasses
import os
import random
import sys
from typing import TYPE_CHECKING, Any

import structlog

from actors.agent.defaults import REGISTRATION_RETRY_INTERVAL_MAX
from actors.agent.executor_api import HttpExecutors
from actors.messages import (
    AgentRegistered,
    AgentReregistered,
    FrameworkToExecutor,
    KillTask,
    PingAgent,
    PongAgent,
    ReconcileTasks,
    RegisterAgent,
    ReregisterAgent,
    RunTask,
    RunTaskGroup,
    Shutdown,
    ShutdownExecutor,
    ShutdownFramework,
    StatusUpdateAcknowledgement,
    UpdateFramework,
)
from actors.messages.authentication import (
    Authenticatee,
    AuthenticationCompleted,
    AuthenticationError,
    AuthenticationFailed,
    AuthenticationMechanisms,
    AuthenticationStep,
)
from transport import PID, Timer, handles

if TYPE_CHECKING:
    from actors.ha.follow import LeaderFollower

__all__ = ["AgentRegistration"]

_log = structlog.get_logger("meseta.agent")

_FROM_MASTER = frozenset({
    AgentRegistered, AgentReregistered, PingAgent, RunTask, RunTaskGroup, KillTask,
    ShutdownExecutor,
    ShutdownFramework, Shutdown, StatusUpdateAcknowledgement, FrameworkToExecutor,
    UpdateFramework, ReconcileTasks})
"""What only a master sends: only our master's count (with ``--master=zk://``, the
detected leader's); from anyone else they are logged and dropped."""


class AgentRegistration(HttpExecutors):
    """See the module docstring; ``AgentActor`` sets ``registered`` and ``agent_id``."""

    def _init_registration(self) -> None:
        config = self.config
        self._registering: Timer | None = None
        self._backoff = 0.0
        self._authenticatee = (Authenticatee(config.credential) if config.credential
                               else None)
        self._authenticated = False
        """Whether the credential was accepted by ``self.master`` (then it registers)."""
        self._exit = os._exit
        """How to exit when the master refuses us (tests replace it)."""
        self._ping_timer: Timer | None = None
        self._ping_timeout = 75.0
        self._follower: LeaderFollower | None = None
        self._leader_known = not config.zk
        """With zk: whether the detector names a leader (``self.master``)."""

    def _start_leader_detection(self) -> None:
        """With ``--master=zk://``: follow the leading master (``on_start``)."""
        if self.config.zk:
            from actors.ha.follow import LeaderFollower  # kazoo only when zk is used

            self._follower = LeaderFollower(
                self.config.zk, lambda pid: self._post(self._leader_changed, pid)).start()

    def _stop_registration(self) -> None:
        """Stop following the leader and every registration and ping timer (``on_stop``)."""
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        for timer in (self._registering, self._ping_timer):
            if timer is not None:
                timer.cancel()

    # --- registration -----------------------------------------------------------------

    def _recovery_done(self) -> None:
        if self._leader_known:
            self._start_registration()

    def _start_registration(self) -> None:
        """Register (again) after a random delay in [0, backoff factor], as Mesos does."""
        if self._registering is not None or self._recovering:
            return
        factor = self.config.registration_backoff_factor
        self._backoff = factor * 2
        self._registering = self.delay(random.uniform(0, factor), self._register)

    def _register(self) -> None:
        self._registering = None
        if self.registered or not self._leader_known:
            return
        self.link(self.master)
        bound = max(0.05, self._backoff)
        self._backoff = min(REGISTRATION_RETRY_INTERVAL_MAX, bound * 2)
        # scheduled before the message leaves, so a reply (or a test's clock) finds it set
        self._registering = self.delay(random.uniform(0, bound), self._register)
        if self._authenticatee is not None and not self._authenticated:
            self.send(self.master, self._authenticatee.begin(str(self.pid)))
            return  # registers once authenticated (_on_authentication)
        if not self.agent_id:
            self.send(self.master, RegisterAgent(agent_info=self.info))
        else:
            self.send(self.master, self._reregister_message())

    def _reregister_message(self) -> ReregisterAgent:
        executors, tasks, frameworks = [], [], []
        for framework in self.frameworks.values():
            frameworks.append(framework.info)
            for executor in framework.executors.values():
                if not executor.command_executor:
                    executors.append(executor.info)
                for task in executor.tasks.values():
                    if not task.acked:
                        head = self.sum.head(framework.framework_id, task.task_id)
                        tasks.append(task.to_task(self.agent_id, head))
        return ReregisterAgent(agent_info=self.info, executor_infos=tuple(executors),
                               tasks=tuple(tasks), frameworks=tuple(frameworks))

    @handles(AgentRegistered)
    def _on_registered(self, frm: PID, msg: AgentRegistered) -> None:
        if self.agent_id and msg.agent_id != self.agent_id:
            _log.error("master gave another agent id; ignored", have=self.agent_id,
                       got=msg.agent_id)
            return
        self._connected(frm, msg.agent_id, msg.connection.total_ping_timeout_seconds)

    @handles(AgentReregistered)
    def _on_reregistered(self, frm: PID, msg: AgentReregistered) -> None:
        if self.agent_id and msg.agent_id != self.agent_id:
            _log.error("master re-registered another agent id; ignored", got=msg.agent_id)
            return
        self._connected(frm, msg.agent_id, msg.connection.total_ping_timeout_seconds)
        for reconcile in msg.reconciliations:
            self._reconcile(reconcile)

    def _connected(self, master: PID, agent_id: str, ping_timeout: float) -> None:
        if self.registered:
            return
        _log.info("agent registered", agent_id=agent_id, master=str(master))
        self.registered = True
        self.master = master
        self.agent_id = agent_id
        self.info = dataclasses.replace(self.info, id=agent_id)
        self.ckpt.agent(self.info)
        if self._registering is not None:
            self._registering.cancel()
            self._registering = None
        self._ping_timeout = ping_timeout
        self._reset_ping_timer()
        self._forward(self.sum.resume())

    def _disconnected(self, why: str) -> None:
        if not self.registered:
            self._start_registration()
            return
        _log.warning("lost the master; registering again", why=why)
        self.registered = False
        self.sum.pause()
        if self._ping_timer is not None:
            self._ping_timer.cancel()
        self._start_registration()

    def exited(self, pid: PID) -> None:
        if pid == self.master and self._leader_known:
            self._authenticated = False
            failure = self.node.handshake_failure(pid)
            if failure is not None:
                self._refused(f"cannot complete the handshake with the master {pid}: "
                              f"{failure}")
                return
            self._disconnected("the link to the master broke")

    # --- authentication (--credential; actors.messages.authentication) ----------------

    @handles(AuthenticationMechanisms, AuthenticationStep, AuthenticationCompleted,
             AuthenticationFailed, AuthenticationError)
    def _on_authentication(self, frm: PID, msg: Any) -> None:
        if self._authenticatee is None or frm != self.master:
            return
        reply, outcome = self._authenticatee.step(msg)
        if reply is not None:
            self.send(frm, reply)
        if outcome == "completed":
            _log.info("authenticated with the master", master=str(frm),
                      principal=self._authenticatee.credential.principal)
            self._authenticated = True
            if self._registering is not None:
                self._registering.cancel()
            self._register()
        elif outcome is not None and outcome.startswith("refused"):
            self._refused(f"Master {frm} refused authentication ({outcome[9:]})")
        elif outcome is not None:
            _log.warning("authentication with the master failed; retrying", why=outcome)

    def _refused(self, why: str) -> None:
        """As Mesos' agent: exit at once, leaving the executors running."""
        _log.error("agent exits", why=why)
        print(f"meseta-agent: {why}", file=sys.stderr, flush=True)
        self._exit(1)

    # --- leader detection (--master=zk://) --------------------------------------------

    def _leader_changed(self, leader: PID | None) -> None:
        """The detector named a new leading master (``None``: none leads)."""
        if leader is not None and self._leader_known and leader == self.master:
            return
        _log.info("new leading master detected", master=str(leader) if leader else None)
        if self._leader_known:
            self.unlink(self.master)
        self._authenticated = False
        if self.registered:
            self.registered = False
            self.sum.pause()
            if self._ping_timer is not None:
                self._ping_timer.cancel()
                self._ping_timer = None
        if self._registering is not None:
            self._registering.cancel()
            self._registering = None
        self._leader_known = leader is not None
        if leader is not None:
            self.master = leader
            self._start_registration()

    def _dispatch(self, frm: PID, msg: Any, ctx: Any) -> None:
        # As Mesos' agent ("ignoring ... because it is not the expected master"): what
        # only a master sends counts only from ours (with zk: the detected leader).
        if type(msg) in _FROM_MASTER and (not self._leader_known or frm != self.master):
            _log.warning("ignoring a message from a master that is not the leader",
                         name=type(msg).__name__, frm=str(frm),
                         leader=str(self.master) if self._leader_known else None)
            return
        super()._dispatch(frm, msg, ctx)

    # --- health -----------------------------------------------------------------------

    @handles(PingAgent)
    def _on_ping(self, frm: PID, msg: PingAgent) -> None:
        self.send(frm, PongAgent())
        if not msg.connected and self.registered:
            self._disconnected("the master does not consider us connected")
        elif self.registered:
            self._reset_ping_timer()

    def _reset_ping_timer(self) -> None:
        if self._ping_timer is not None:
            self._ping_timer.cancel()
        self._ping_timer = self.delay(self._ping_timeout, self._ping_timed_out)

    def _ping_timed_out(self) -> None:
        self._ping_timer = None
        if self.registered:
            self._disconnected(f"no ping for {self._ping_timeout}s")
