"""``AgentActor``: the agent process (``agent``), between the master and the executors.

This module is the wiring: the constructor (records, status update manager, launcher,
containerizer, checkpoint), ``on_start`` / ``on_stop``, the handler table, and the
HTTP views (``state``, ``statistics``). The work is in the mixins it inherits, one
chain, each with its module docstring (top first):

- ``registration`` (``AgentRegistration``): registering with the master (backoff,
  ``ReregisterAgent`` once it has an id), ``--credential``, pings, and with
  ``--master=zk://`` the detected leader (master messages from any other are dropped);
- ``executor_api`` (``HttpExecutors``): executors written for Mesos' HTTP API, over
  ``POST /api/v1/executor``: same handlers, same records, same checkpoint;
- ``recovering`` (``AgentRecovery``): a restarted agent reads its checkpoint
  (``recovery``; written as it runs by ``checkpointer``), reconnects to the live
  executors of checkpointing frameworks (``ReconnectExecutor`` ->
  ``ReregisterExecutor``) or, with ``--recover=cleanup``, kills them and exits; only
  then does it register, with its recovered id;
- ``running`` / ``endings`` (``ExecutorManager`` / ``ExecutorEndings``): executors and
  tasks start and end; ``messaging`` (``AgentMessaging``): what reaches executors and
  the master; ``sandboxes`` (``SandboxManager``): fetcher, GC, ``/files/*``.

The handlers here run what the master sends: ``RunTask`` creates a sandbox and
launches the executor (or queues the task while its executor registers;
``RunTaskGroup`` the same for a group, handed over as one), ``KillTask`` /
``ShutdownExecutor`` / ``ShutdownFramework`` kill, ``StatusUpdateAcknowledgement``
releases the next update of a task, ``FrameworkToExecutor`` is relayed,
``ReconcileTasks`` is answered for tasks it does not know. Executors register
(``RegisterExecutor`` -> ``ExecutorRegistered`` + their queued ``RunTask``s), send
``StatusUpdate``s (into the status update manager, acknowledged to the executor at
once) and ``ExecutorToFramework`` messages (to the master). The launcher reports
executor exits as posted calls: live tasks are failed, the master told.

Decisions live elsewhere: ``status_updates`` (delivery), ``executors`` / ``tasks``
(records and what an exited executor's tasks become), ``launcher`` / ``warm``
(processes), ``containerizer`` (isolation, limits, usage: ``/monitor/statistics``),
``sandbox`` / ``sandboxes`` (fetcher, GC, ``/files/*``), ``detect``, ``state``
(``/agent/state``), ``endpoints`` (the other routes, ``/metrics/snapshot``).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import structlog

from actors.agent.checkpointer import Checkpointer
from actors.agent.config import AgentConfig
from actors.agent.containerizer import (
    Containerizer,
    ContainerizerError,
    IsolatingContainerizer,
    parse_isolation,
)
from actors.agent.containerizer.monitor import render_statistics
from actors.agent.detect import detect_resources
from actors.agent.endpoints import install_routes
from actors.agent.executors import FrameworkRecord
from actors.agent.launcher import ExecutorLauncher, Launcher
from actors.agent.recovery import RecoveryError
from actors.agent.registration import AgentRegistration
from actors.agent.state import render_state
from actors.agent.status_updates import StatusUpdateManager
from actors.agent.warm import WarmLauncher
from actors.messages import (
    AgentInfo,
    ExecutorToFramework,
    FrameworkToExecutor,
    KillTask,
    ReconcileTasks,
    RegisterExecutor,
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
from transport import PID, Node, handles

__all__ = ["AgentActor"]

_log = structlog.get_logger("meseta.agent")
MAX_COMPLETED_FRAMEWORKS = 50


class AgentActor(AgentRegistration):
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
        self._init_registration()  # backoff, credential, pings, leader (registration)
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
        self._start_leader_detection()  # --master=zk://
        self._start_recovery()
        self._start_sandboxes()  # fetcher, GC (after recovery: it knows the runs), /files/*

    def on_stop(self) -> None:
        self._stop_registration()
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

