"""``AgentRecovery``: what a restarted agent does with its checkpoint, before it registers.

``AgentActor`` inherits this (over ``ExecutorManager``). ``_read_checkpoint`` runs in
its constructor (so a corrupt checkpoint with ``--strict``, or an incompatible agent
info, raises ``RecoveryError`` before anything starts; main exits with the message);
``_start_recovery`` runs in ``on_start``. It follows Mesos' ``Slave::recover``:

- the agent id is recovered from ``agent.info`` if the new agent info is compatible
  with it under ``--reconfiguration_policy`` (``compatibility``: ``equal`` or
  ``additive``); a compatible but changed info is checkpointed at once and sent with
  ``ReregisterAgent`` (the master updates its registry, books and allocator). After a
  reboot an incompatible one makes it a new agent (the ``latest`` link is removed),
  without a reboot it is an error (the agent exits, the checkpoint untouched);
- each checkpointing framework's executors are rebuilt from their latest run, their
  tasks from ``task.info`` and the status update streams from ``task.updates`` (the
  status update manager sends the unacknowledged ones once registered);
- a run with a sentinel is over; an executor whose process is gone (or any, after a
  reboot: the pids are not even read) gets the exited-executor treatment (its live
  tasks: TASK_FAILED for command executors, else TASK_GONE / TASK_LOST);
- ``--recover=reconnect``: live executors get ``ReconnectExecutor`` (again every
  ``--executor_reregistration_retry_interval`` while they are silent: a reply that
  went out on the executor's stale connection to the dead agent is lost) and have
  ``--executor_reregistration_timeout`` to answer ``ReregisterExecutor``; those that do
  not are killed (process tree) and their live tasks become TASK_GONE (TASK_LOST if not
  PARTITION_AWARE) with REASON_EXECUTOR_REREGISTRATION_TIMEOUT. The agent registers
  (``ReregisterAgent`` with its recovered id) once every recovered executor has
  re-registered or gone, or the timeout expired;
- ``--recover=cleanup``: live executors are shut down (``ShutdownExecutor``, then killed
  after the grace period), and once all are gone the agent exits without registering
  (``shutdown_requested``); their final updates stay checkpointed for the next start.

The agent did not fork recovered executors, so it cannot wait for them: a watcher
timer polls their pids (``recovery.process_alive``, which checks the creation time
against pid reuse) and reports an exit as ``_process_exited(pid, None)``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable

import structlog

from actors.agent import compatibility
from actors.agent.checkpoint import current_boot_id
from actors.agent.endings import executor_key_name
from actors.agent.executor_http import ExecutorConnection
from actors.agent.executors import (
    ExecutorRecord,
    ExecutorState,
    FrameworkRecord,
    Termination,
    is_command_executor,
    lost_or,
)
from actors.agent.recovery import (
    ExecutorCheckpoint,
    RecoveredState,
    RecoveryError,
    RunCheckpoint,
    process_alive,
    recover,
)
from actors.agent.running import ExecutorManager
from actors.agent.sandbox import Sandbox, run_dir
from actors.agent.tasks import TaskRecord
from actors.messages import (
    ExecutorReregistered,
    ReconnectExecutor,
    ReregisterExecutor,
    ShutdownExecutor,
    StatusUpdateInfo,
)
from actors.messages.task_state import Reason, TaskState, is_terminal
from transport import PID, Timer

__all__ = ["WATCH_INTERVAL", "AgentRecovery"]

_log = structlog.get_logger("meseta.agent.recovery")

WATCH_INTERVAL = 0.5
"""Seconds between checks of the recovered executors' pids (Mesos' reaper: 1 s)."""


class AgentRecovery(ExecutorManager):
    """See the module docstring; ``AgentActor`` sets the attributes declared here."""

    shutdown_requested: threading.Event
    _recovering: bool
    _recovered_state: RecoveredState
    _boot_id: str
    _watch_timer: Timer | None = None
    _reregistration_timer: Timer | None = None

    def _read_checkpoint(self) -> None:
        """Read ``meta/`` and recover the agent id; ``RecoveryError`` stops the agent."""
        self._boot_id = self.config.boot_id or current_boot_id()
        state = recover(self.config.work_dir, self.config.strict, self._boot_id)
        for error in state.errors:
            _log.error("skipped a corrupt checkpoint entry (--no-strict)", error=error)
        if state.rebooted:
            _log.info("the machine rebooted since the last run; its executors are gone")
        self._recovered_state = state
        self._recovering = True
        if state.agent is None:
            return
        old = state.agent.info
        problem = compatibility.check(self.config.reconfiguration_policy, old, self.info)
        if problem is None:
            self.agent_id = state.agent.agent_id
            self.info = dataclasses.replace(self.info, id=self.agent_id)
            changed = [n for n in compatibility.COMPARED
                       if getattr(old, n) != getattr(self.info, n)]
            if changed:  # as Mesos: the permitted new info is checkpointed at once
                _log.warning("the agent info changed; keeping the agent id",
                             agent_id=self.agent_id, changed=changed,
                             policy=self.config.reconfiguration_policy,
                             resources=str(self.info.resources))
                self.ckpt.agent(self.info)
        elif state.rebooted:
            _log.warning("recovering as a new agent", why=problem)
            self.ckpt.forget_agent()
            state.agent = None
        else:
            raise RecoveryError(
                f"cannot recover agent {state.agent.agent_id}: {problem}\n"
                f"If the configuration changed and the agent should keep its id, a more "
                f"permissive --reconfiguration_policy may allow it.\nTo restart this agent "
                f"with a new agent id instead (old executors are not recovered), remove "
                f"{self.config.work_dir}/meta/agents/latest")

    # --- on start ---------------------------------------------------------------------

    def _start_recovery(self) -> None:
        agent = self._recovered_state.agent
        if agent is not None:
            for saved in agent.frameworks.values():
                if not saved.info.checkpoint:
                    continue
                framework = FrameworkRecord(info=saved.info, pid=saved.pid)
                self.frameworks[saved.framework_id] = framework
                for executor in saved.executors.values():
                    run = executor.runs.get(executor.latest or "")
                    if run is not None:
                        self._recover_executor(framework, executor, run)
                self._drop_idle_framework(framework)
        live = [e for e in self._by_os_pid.values() if e.recovered]
        _log.info("recovered the checkpoint", agent_id=self.agent_id or None,
                  frameworks=len(self.frameworks), live_executors=len(live),
                  mode=self.config.recover)
        if live:
            self._watch_timer = self.delay(WATCH_INTERVAL, self._watch)
        if live and self.config.recover == "reconnect":
            self._reregistration_timer = self.delay(
                self.config.executor_reregistration_timeout, self._reregistration_timed_out)
        self._maybe_recovered()

    def _recover_executor(self, framework: FrameworkRecord, saved: ExecutorCheckpoint,
                          run: RunCheckpoint) -> None:
        ids = (self.agent_id, framework.framework_id, saved.executor_id, run.run_id)
        directory = run_dir(self.config.work_dir, *ids)
        executor = ExecutorRecord(
            info=saved.info, framework_id=framework.framework_id, run_id=run.run_id,
            sandbox=Sandbox(directory, f"{directory}/stdout", f"{directory}/stderr"),
            command_executor=is_command_executor(saved.info),
            pid=run.libprocess_pid, os_pid=run.forked_pid, create_time=run.create_time,
            recovered=True)
        for saved_task in run.tasks.values():
            task = TaskRecord(info=saved_task.info, framework_id=framework.framework_id,
                              executor_id=executor.executor_id, launched=True)
            acks = set(saved_task.acks)
            for update in saved_task.updates:
                task.record(update.status)
                if is_terminal(update.status.state) and update.uuid in acks:
                    task.acked = True
            executor.tasks[task.task_id] = task
            self.sum.recover(framework.framework_id, task.task_id, saved_task.updates, acks)
        framework.executors[executor.executor_id] = executor
        if self.node.curve is not None:  # the same key pair it was given at launch
            key = executor_key_name(*ids[1:])
            self.node.curve.issue(key)
            if run.libprocess_pid is not None:  # we speak first (ReconnectExecutor)
                self.node.curve.bind(run.libprocess_pid.address, key)
        alive = (run.forked_pid is not None and not run.completed
                 and process_alive(run.forked_pid, run.create_time))
        if alive:
            assert executor.os_pid is not None
            self._by_os_pid[executor.os_pid] = executor
            self.containerizer.recover(executor.run_id, executor.os_pid,
                                       self._limits(executor))
            if self.config.recover == "cleanup":
                self._cleanup_executor(framework, executor)
            elif executor.pid is not None:
                _log.info("reconnecting to executor", executor_id=executor.executor_id,
                          pid=str(executor.pid), os_pid=executor.os_pid)
                self._send_reconnect(executor)
            return
        executor.state = ExecutorState.TERMINATED
        if not run.completed:
            self._end_live_tasks(framework, executor, None)
            self.ckpt.sentinel(self.agent_id, executor)
        self._clean_up(framework, executor)

    def _send_reconnect(self, executor: ExecutorRecord) -> None:
        if not self._recovering or executor.state is not ExecutorState.REGISTERING \
                or executor.pid is None:
            return
        self._tell(executor.pid, ReconnectExecutor(agent_id=self.agent_id))
        interval = self.config.executor_reregistration_retry_interval
        if interval > 0:
            self.delay(interval, self._send_reconnect, executor)

    def _cleanup_executor(self, framework: FrameworkRecord, executor: ExecutorRecord) -> None:
        _log.info("--recover=cleanup: shutting a recovered executor down",
                  executor_id=executor.executor_id, os_pid=executor.os_pid)
        if executor.pid is not None:
            executor.state = ExecutorState.RUNNING
        self._shutdown_executor(framework, executor)

    # --- while recovering -------------------------------------------------------------

    def _reregister_executor(self, frm: PID | ExecutorConnection,
                             msg: ReregisterExecutor) -> None:
        framework = self.frameworks.get(msg.framework_id)
        executor = framework.executors.get(msg.executor_id) if framework else None
        if executor is not None and executor.recovered and executor.pid == frm \
                and executor.state is ExecutorState.RUNNING:
            # It answered a retried ReconnectExecutor too: say it again, change nothing.
            self._tell(frm, ExecutorReregistered(agent_id=self.agent_id, agent_info=self.info))
            return
        if framework is None or executor is None or not executor.recovered \
                or executor.state is not ExecutorState.REGISTERING:
            _log.warning("unexpected executor re-registration; shutting it down",
                         executor_id=msg.executor_id, frm=str(frm))
            self._tell(frm, ShutdownExecutor(executor_id=msg.executor_id,
                                             framework_id=msg.framework_id))
            return
        _log.info("executor re-registered", executor_id=executor.executor_id)
        executor.state = ExecutorState.RUNNING
        self._connect(framework, executor, frm)
        self._tell(frm, ExecutorReregistered(agent_id=self.agent_id, agent_info=self.info))
        self._replay_updates(frm, framework, msg.updates)
        known = {t.task_id for t in msg.tasks}
        for task in list(executor.tasks.values()):
            # Still STAGING and unknown to the executor: the agent died before it got it.
            if task.state is TaskState.TASK_STAGING and task.task_id not in known:
                self._send_agent_update(framework.info, task.task_id,
                                        lost_or(TaskState.TASK_DROPPED, framework.info),
                                        Reason.REASON_AGENT_RESTARTED,
                                        "The agent restarted before the task reached "
                                        "its executor", executor.executor_id)
        self._maybe_recovered()

    def _replay_updates(self, frm: PID | ExecutorConnection, framework: FrameworkRecord,
                        updates: Iterable[StatusUpdateInfo]) -> None:
        """What a reconnecting executor sent but saw unacknowledged (duplicates are
        recognised by the status update manager; each is acknowledged again)."""
        for update in updates:
            if update.framework_id == framework.framework_id:
                self._executor_update(frm, update)

    def _reregistration_timed_out(self) -> None:
        self._reregistration_timer = None
        timeout = self.config.executor_reregistration_timeout
        for executor in list(self._by_os_pid.values()):
            if not executor.recovered or executor.state is not ExecutorState.REGISTERING:
                continue
            framework = self.frameworks.get(executor.framework_id)
            if framework is None:
                continue
            _log.warning("executor did not re-register in time; killing it",
                         executor_id=executor.executor_id, timeout=timeout)
            executor.pending_termination = Termination(
                lost_or(TaskState.TASK_GONE, framework.info),
                Reason.REASON_EXECUTOR_REREGISTRATION_TIMEOUT,
                f"Executor did not re-register within {timeout}s")
            executor.state = ExecutorState.TERMINATING
            self._destroy(executor)
        self._maybe_recovered(timed_out=True)

    def _watch(self) -> None:
        """Poll the recovered executors' pids (they are not our children)."""
        self._watch_timer = None
        gone = [pid for pid, e in self._by_os_pid.items()
                if e.recovered and not process_alive(pid, e.create_time)]
        for pid in gone:
            self._process_exited(pid, None)
        if any(e.recovered for e in self._by_os_pid.values()):
            self._watch_timer = self.delay(WATCH_INTERVAL, self._watch)
        if gone:
            self._maybe_recovered()

    def _maybe_recovered(self, timed_out: bool = False) -> None:
        """Finish recovery once no recovered executor is still expected to re-register."""
        if not self._recovering:
            return
        if self.config.recover == "cleanup":
            if any(e.recovered for e in self._by_os_pid.values()):
                return
            self._recovering = False
            self.ckpt.boot_id(self._boot_id)
            _log.warning("--recover=cleanup: every recovered executor is gone; exiting")
            self.shutdown_requested.set()
            return
        waiting = any(e.recovered and e.state is ExecutorState.REGISTERING
                      for e in self._by_os_pid.values())
        if waiting and not timed_out:
            return
        self._recovering = False
        if self._reregistration_timer is not None:
            self._reregistration_timer.cancel()
            self._reregistration_timer = None
        self.ckpt.boot_id(self._boot_id)
        _log.info("recovery done; registering with the master", agent_id=self.agent_id or None)
        self._recovery_done()

    def _recovery_done(self) -> None:
        """Start registering (``registration.AgentRegistration`` overrides it)."""
