"""``AgentActor``: the agent process (``agent``), between the master and the executors.

It registers with the master (``RegisterAgent`` with backoff until ``AgentRegistered``;
``ReregisterAgent`` with its tasks and executors once it has an id, after the link to
the master broke, pings stopped, or a ping said it is not connected), answers pings,
and runs what the master sends: ``RunTask`` creates a sandbox and launches the
executor (or queues the task while its executor registers; ``RunTaskGroup`` the same
for a group, handed over as one), ``KillTask`` /
``ShutdownExecutor`` / ``ShutdownFramework`` kill, ``StatusUpdateAcknowledgement``
releases the next update of a task, ``FrameworkToExecutor`` is relayed,
``ReconcileTasks`` is answered for tasks it does not know. Executors register
(``RegisterExecutor`` -> ``ExecutorRegistered`` + their queued ``RunTask``s), send
``StatusUpdate``s (into the status update manager, acknowledged to the executor at
once) and ``ExecutorToFramework`` messages (to the master). The launcher reports
executor exits as posted calls: live tasks are failed, the master told. Executors
written for Mesos' HTTP API do the same over ``POST /api/v1/executor``
(``executor_api``): same handlers, same records, same checkpoint.

A restarted agent first recovers (``recovering``): it reads its checkpoint
(``recovery``; written as it runs by ``checkpointer``), reconnects to the live executors
of checkpointing frameworks (``ReconnectExecutor`` -> ``ReregisterExecutor``) or, with
``--recover=cleanup``, kills them and exits; only then does it register, with its
recovered id.

Decisions live elsewhere: ``status_updates`` (delivery), ``executors`` / ``tasks``
(records and what an exited executor's tasks become), ``launcher`` / ``warm``
(processes), ``containerizer`` (isolation, limits, usage: ``/monitor/statistics``),
``sandbox`` / ``sandboxes`` (fetcher, GC, ``/files/*``), ``detect``, ``state``
(``/agent/state``), ``endpoints`` (the other routes, ``/metrics/snapshot``).

With ``--master=zk://host:port/path`` (``config.zk``) a ``LeaderFollower``
(``actors.ha.follow``) names the leading master: the agent registers with it, registers
again (``ReregisterAgent`` once it has an id) when the leader changes, and drops every
master message whose sender is not the detected leader (Mesos' split-brain guard).
"""

from __future__ import annotations

import dataclasses
import os
import random
import sys
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

import structlog

from actors.agent.checkpointer import Checkpointer
from actors.agent.config import REGISTRATION_RETRY_INTERVAL_MAX, AgentConfig
from actors.agent.containerizer import (
    Containerizer,
    ContainerizerError,
    IsolatingContainerizer,
    parse_isolation,
)
from actors.agent.containerizer.monitor import render_statistics
from actors.agent.detect import detect_resources
from actors.agent.endpoints import install_routes
from actors.agent.executor_api import HttpExecutors
from actors.agent.executors import FrameworkRecord
from actors.agent.launcher import ExecutorLauncher, Launcher
from actors.agent.recovery import RecoveryError
from actors.agent.state import render_state
from actors.agent.status_updates import StatusUpdateManager
from actors.agent.warm import WarmLauncher
from actors.messages import (
    AgentInfo,
    AgentRegistered,
    AgentReregistered,
    ExecutorToFramework,
    FrameworkToExecutor,
    KillTask,
    PingAgent,
    PongAgent,
    ReconcileTasks,
    RegisterAgent,
    RegisterExecutor,
    ReregisterAgent,
    ReregisterExecutor,
    RunTask,
    RunTaskGroup,
    Shutdown,
    ShutdownExecutor,
    ShutdownFramework,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    UnregisterAgent,
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
from transport import PID, Node, Timer, handles

if TYPE_CHECKING:
    from actors.ha.follow import LeaderFollower

__all__ = ["AgentActor"]

_log = structlog.get_logger("meseta.agent")
MAX_COMPLETED_FRAMEWORKS = 50

_FROM_MASTER = frozenset({
    AgentRegistered, AgentReregistered, PingAgent, RunTask, RunTaskGroup, KillTask,
    ShutdownExecutor,
    ShutdownFramework, Shutdown, StatusUpdateAcknowledgement, FrameworkToExecutor,
    UpdateFramework, ReconcileTasks})
"""What only a master sends: only our master's count (with ``--master=zk://``, the
detected leader's); from anyone else they are logged and dropped."""


class AgentActor(HttpExecutors):
    """See the module docstring. ``AgentActor(node, config)``; tests may pass a launcher.

    Raises ``RecoveryError`` when the checkpoint cannot be recovered (``--strict``) and
    ``ContainerizerError`` when ``--isolation`` asks for what this machine lacks.
    """

    def __init__(self, node: Node, config: AgentConfig, launcher: Launcher | None = None,
                 name: str = "agent", containerizer: Containerizer | None = None) -> None:
        super().__init__(node, name)
        try:
            self.containerizer = containerizer or IsolatingContainerizer(
                parse_isolation(config.isolation), config.cgroups_root)
        except ContainerizerError:
            node.unregister(name)
            raise
        if isinstance(self.containerizer, IsolatingContainerizer):
            _log.info("containerizer", isolation=str(self.containerizer.isolation),
                      cgroups=self.containerizer.support.describe())
        self.config = config
        self.master = config.master
        self.info = AgentInfo(
            hostname=config.hostname or config.ip, port=node.port, http_port=node.http_port,
            resources=detect_resources(config.work_dir, config.resources),
            attributes=config.parsed_attributes, checkpoint=config.checkpoint)
        self.agent_id = ""
        self.registered = False
        self.start_time = node.clock.now()
        self.frameworks: dict[str, FrameworkRecord] = {}
        self.completed_frameworks: deque[FrameworkRecord] = deque(
            maxlen=MAX_COMPLETED_FRAMEWORKS)
        self.sum = StatusUpdateManager(config.status_update_retry_min,
                                       config.status_update_retry_max)
        self.sum.pause()  # nothing goes to the master before registration
        self.launcher: Launcher = launcher or ExecutorLauncher(
            WarmLauncher() if config.launcher == "warm" else None)
        self.shutdown_requested = threading.Event()
        """Set when the master sent ``Shutdown`` (the program should exit)."""
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
        self._init_executors()
        self.ckpt = Checkpointer(config.work_dir)
        try:
            self._read_checkpoint()
        except RecoveryError:
            node.unregister(name)
            raise

    # --- life cycle -------------------------------------------------------------------

    def on_start(self) -> None:
        if self.node.http_delegate is None:
            self.node.http_delegate = self.pid.name
        install_routes(self)  # /state, /flags, /health, /monitor/statistics, /metrics...
        self.launcher.start(lambda pid, status: self._post(self._process_exited, pid, status))
        self.containerizer.start(lambda container_id, reason, message: self._post(
            self._container_limited, container_id, reason, message))
        if self.config.zk:
            from actors.ha.follow import LeaderFollower  # kazoo only when zk is used

            self._follower = LeaderFollower(
                self.config.zk, lambda pid: self._post(self._leader_changed, pid)).start()
        self._start_recovery()
        self._start_sandboxes()  # fetcher, GC (after recovery: it knows the runs), /files/*

    def on_stop(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        for timer in (self._registering, self._ping_timer):
            if timer is not None:
                timer.cancel()
        self._destroy_all(spare_checkpointing=True)
        self.containerizer.stop()
        self.launcher.stop()
        self._stop_sandboxes()
        super().on_stop()

    def begin_shutdown(self) -> None:
        """Shut every executor down gracefully and leave the cluster (called by main)."""
        for framework in list(self.frameworks.values()):
            self._shutdown_framework(framework)
        if self.registered:
            self.send(self.master, UnregisterAgent(agent_id=self.agent_id))

    def live_executors(self) -> int:
        """Executors whose process has not exited yet (main waits for 0)."""
        return len(self._by_os_pid)

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

    # --- master -> agent --------------------------------------------------------------

    @handles(RunTask)
    def _on_run_task(self, frm: PID, msg: RunTask) -> None:
        if not self.registered:
            _log.warning("RunTask before registration; ignored", task_id=msg.task.task_id)
            return
        self._run_task(msg)

    @handles(RunTaskGroup)
    def _on_run_task_group(self, frm: PID, msg: RunTaskGroup) -> None:
        if not self.registered:
            _log.warning("RunTaskGroup before registration; ignored")
            return
        self._run_task_group(msg)

    @handles(KillTask)
    def _on_kill_task(self, frm: PID, msg: KillTask) -> None:
        self._kill_task(msg)

    @handles(ShutdownExecutor)
    def _on_shutdown_executor(self, frm: PID, msg: ShutdownExecutor) -> None:
        framework = self.frameworks.get(msg.framework_id)
        executor = framework.executors.get(msg.executor_id) if framework else None
        if framework is not None and executor is not None:
            self._shutdown_executor(framework, executor)

    @handles(ShutdownFramework)
    def _on_shutdown_framework(self, frm: PID, msg: ShutdownFramework) -> None:
        framework = self.frameworks.get(msg.framework_id)
        if framework is not None:
            self._shutdown_framework(framework)

    @handles(Shutdown)
    def _on_shutdown(self, frm: PID, msg: Shutdown) -> None:
        _log.warning("the master asked this agent to shut down", message=msg.message)
        self.begin_shutdown()
        self.shutdown_requested.set()

    @handles(StatusUpdateAcknowledgement)
    def _on_ack(self, frm: PID, msg: StatusUpdateAcknowledgement) -> None:
        acked, forwards = self.sum.acknowledge(msg.framework_id, msg.task_id, msg.uuid)
        self._forward(forwards)
        if acked is not None:
            self._update_acknowledged(acked)

    @handles(FrameworkToExecutor)
    def _on_framework_message(self, frm: PID, msg: FrameworkToExecutor) -> None:
        framework = self.frameworks.get(msg.framework_id)
        executor = framework.executors.get(msg.executor_id) if framework else None
        if executor is None or executor.link is None:
            _log.warning("framework message for an executor not running here; dropped",
                         executor_id=msg.executor_id)
            return
        self._tell(executor.link, msg)

    @handles(UpdateFramework)
    def _on_update_framework(self, frm: PID, msg: UpdateFramework) -> None:
        framework = self.frameworks.get(msg.framework_id)
        if framework is None:
            return
        if msg.framework_info is not None:
            framework.info = msg.framework_info
        if msg.pid is not None and msg.pid != framework.pid:
            framework.pid = msg.pid
            self._forward(self.sum.resend(msg.framework_id))  # to the new scheduler now

    @handles(ReconcileTasks)
    def _on_reconcile(self, frm: PID, msg: ReconcileTasks) -> None:
        self._reconcile(msg)

    # --- executors -> agent -----------------------------------------------------------

    @handles(RegisterExecutor)
    def _on_register_executor(self, frm: PID, msg: RegisterExecutor) -> None:
        self._register_executor(frm, msg)

    @handles(ReregisterExecutor)
    def _on_reregister_executor(self, frm: PID, msg: ReregisterExecutor) -> None:
        self._reregister_executor(frm, msg)

    @handles(StatusUpdate)
    def _on_status_update(self, frm: PID, msg: StatusUpdate) -> None:
        self._executor_update(frm, msg.update)

    @handles(ExecutorToFramework)
    def _on_executor_message(self, frm: PID, msg: ExecutorToFramework) -> None:
        self._executor_message(msg.framework_id, msg.executor_id, msg.data)

    # --- HTTP -------------------------------------------------------------------------

    def statistics(self) -> list[dict[str, Any]]:
        """``/monitor/statistics``: the containerizer's latest sample per executor."""
        return render_statistics(self.frameworks.values(), self.containerizer.statistics())

    def state(self) -> dict[str, Any]:
        return render_state(
            agent_id=self.agent_id, pid=str(self.pid), info=self.info,
            http_port=self.node.http_port, registered=self.registered,
            master=str(self.master), flags=self.config.to_flags(),
            frameworks=self.frameworks.values(), completed=self.completed_frameworks,
            pending_updates=len(self.sum), start_time=self.start_time)

