"""``ExecutorEndings``: how executors and tasks end on an agent — kills, shutdowns, exits.

The second half of what ``ExecutorManager`` (``running``) does, as the mixin it builds on
(``AgentActor`` inherits both; nothing here is a handler itself):

- ``_kill_task``: a queued task is killed here (TASK_KILLED, launch interrupted), a
  launched one by its executor (``KillTask``);
- ``_shutdown_executor`` / ``_shutdown_framework``: ``ShutdownExecutor``, then after
  the grace period the launcher kills the process tree; registration and shutdown
  timeouts; a container over its limits (``_container_limited``);
- ``_process_exited``: the launcher's exit report; the executor's live tasks get an
  agent-made terminal update (``executors.termination_status``), the master an
  ``ExitedExecutor`` (not for command executors, as in Mesos);
- the clean-up of executors and frameworks once their last terminal update is
  acknowledged (``_update_acknowledged``; their directories then scheduled for garbage
  collection, ``sandboxes``); ``executor_key_name`` names an executor run's CURVE key.
"""

from __future__ import annotations

from collections import deque

import structlog

from actors.agent.checkpointer import Checkpointer
from actors.agent.config import AgentConfig
from actors.agent.containerizer import (
    Containerizer,
    ContainerLimits,
    container_limits,
)
from actors.agent.executors import (
    ExecutorRecord,
    ExecutorState,
    FrameworkRecord,
    Termination,
    lost_or,
    termination_status,
)
from actors.agent.launcher import Launcher
from actors.agent.messaging import AgentMessaging
from actors.agent.recovery import process_alive
from actors.agent.status_updates import StatusUpdateManager
from actors.messages import (
    AgentInfo,
    ExitedExecutor,
    KillTask,
    ShutdownExecutor,
    StatusUpdateInfo,
)
from actors.messages.task_state import Reason, TaskState, is_terminal
from transport import PID

__all__ = ["ExecutorEndings", "executor_key_name"]

_log = structlog.get_logger("meseta.agent")


class ExecutorEndings(AgentMessaging):
    """See the module docstring; ``AgentActor`` sets the attributes declared here."""

    config: AgentConfig
    agent_id: str
    registered: bool
    info: AgentInfo
    master: PID
    frameworks: dict[str, FrameworkRecord]
    completed_frameworks: deque[FrameworkRecord]
    sum: StatusUpdateManager
    launcher: Launcher
    containerizer: Containerizer
    ckpt: Checkpointer
    _by_os_pid: dict[int, ExecutorRecord]

    # --- killing ----------------------------------------------------------------------

    def _kill_task(self, msg: KillTask) -> None:
        framework = self.frameworks.get(msg.framework_id)
        if framework is None:
            _log.warning("KillTask for an unknown framework; ignored", task_id=msg.task_id)
            return
        found = framework.find_task(msg.task_id)
        if found is None:
            self._send_agent_update(framework.info, msg.task_id,
                                    lost_or(TaskState.TASK_DROPPED, framework.info),
                                    Reason.REASON_TASK_UNKNOWN,
                                    "Cannot kill a task this agent does not know")
            return
        executor, task = found
        if task.terminal or executor.state in (ExecutorState.TERMINATING,
                                               ExecutorState.TERMINATED):
            return
        if not task.launched:  # a queued group goes as a whole (Mesos)
            victims = [task] if task.group is None else [
                t for t in executor.queued() if t.group is task.group]
            for victim in victims:
                self._send_agent_update(framework.info, victim.task_id, TaskState.TASK_KILLED,
                                        Reason.REASON_TASK_KILLED_DURING_LAUNCH,
                                        "Killed before its executor registered",
                                        executor.executor_id)
            if not any(executor.live()):
                self._shutdown_executor(framework, executor)
            return
        if executor.link is not None:
            self._tell(executor.link, msg)

    def _shutdown_framework(self, framework: FrameworkRecord) -> None:
        framework.terminating = True
        for executor in list(framework.executors.values()):
            self._shutdown_executor(framework, executor)
        self._drop_idle_framework(framework)

    def _shutdown_executor(self, framework: FrameworkRecord, executor: ExecutorRecord) -> None:
        if executor.state in (ExecutorState.TERMINATING, ExecutorState.TERMINATED):
            return
        registered = executor.state is ExecutorState.RUNNING and executor.link is not None
        executor.state = ExecutorState.TERMINATING
        if not registered:
            self._destroy(executor)
            return
        self._tell(executor.link, ShutdownExecutor(executor_id=executor.executor_id,
                                                   framework_id=framework.info.id))
        executor.cancel_timer()
        executor.timer = self.delay(self._grace_period(executor.info.shutdown_grace_period),
                                    self._shutdown_timed_out, executor)

    def _registration_timed_out(self, executor: ExecutorRecord) -> None:
        if executor.state is not ExecutorState.REGISTERING:
            return
        timeout = self.config.executor_registration_timeout
        _log.warning("executor did not register in time; killing it",
                     executor_id=executor.executor_id, timeout=timeout)
        executor.pending_termination = Termination(
            TaskState.TASK_FAILED, Reason.REASON_EXECUTOR_REGISTRATION_TIMEOUT,
            f"Executor did not register within {timeout}s")
        executor.state = ExecutorState.TERMINATING
        self._destroy(executor)

    def _shutdown_timed_out(self, executor: ExecutorRecord) -> None:
        if executor.state is ExecutorState.TERMINATING:
            self._destroy(executor)

    def _destroy(self, executor: ExecutorRecord) -> None:
        """Kill the executor's process tree now; its exit report does the rest."""
        executor.cancel_timer()
        if executor in self._fetching:  # no process yet: it ends here
            self._fetching.discard(executor)
            self._executor_terminated(executor, None)
            return
        if executor.os_pid is not None and executor.os_pid in self._by_os_pid:
            if executor.recovered and not process_alive(executor.os_pid, executor.create_time):
                return  # gone already (not our child: the watcher reports it)
            self.launcher.kill(executor.os_pid)
            self.containerizer.destroy(executor.run_id)

    def _limits(self, executor: ExecutorRecord) -> ContainerLimits:
        return container_limits(executor.resources, executor.command_executor)

    def _container_limited(self, container_id: str, reason: Reason, message: str) -> None:
        """The containerizer stopped a container over a limit: fail its tasks, kill it."""
        executor = next((e for e in self._by_os_pid.values() if e.run_id == container_id),
                        None)
        if executor is None or executor.state is ExecutorState.TERMINATED:
            self.containerizer.destroy(container_id)
            return
        _log.warning("executor over a container limit; destroying it",
                     executor_id=executor.executor_id, message=message)
        if executor.pending_termination is None:
            executor.pending_termination = Termination(TaskState.TASK_FAILED, reason, message)
        executor.state = ExecutorState.TERMINATING
        self._destroy(executor)

    def _destroy_all(self, spare_checkpointing: bool = False) -> None:
        """Kill every executor (but, if asked, those of checkpointing frameworks: the
        agent is going away without a shutdown, and they may be recovered)."""
        for executor in list(self._by_os_pid.values()):
            framework = self.frameworks.get(executor.framework_id)
            if spare_checkpointing and framework is not None and framework.info.checkpoint:
                continue
            executor.state = ExecutorState.TERMINATING
            self._destroy(executor)

    def _grace_period(self, own: float | None) -> float:
        return self.config.executor_shutdown_grace_period if own is None else own

    # --- exits ------------------------------------------------------------------------

    def _process_exited(self, os_pid: int, wait_status: int | None) -> None:
        executor = self._by_os_pid.pop(os_pid, None)
        if executor is None:
            return
        if not executor.recovered:  # a recovered one's pid may be reused already
            self.launcher.kill(os_pid)  # whatever is left of its process group
        self._executor_terminated(executor, wait_status)

    def _end_live_tasks(self, framework: FrameworkRecord, executor: ExecutorRecord,
                        wait_status: int | None) -> None:
        """Each live task of an ended executor gets its terminal update."""
        termination = termination_status(executor, framework.info, wait_status)
        for task in list(executor.live()):
            self._send_agent_update(framework.info, task.task_id, termination.state,
                                    termination.reason, termination.message,
                                    executor.executor_id)

    def _executor_terminated(self, executor: ExecutorRecord, wait_status: int | None) -> None:
        self.containerizer.destroy(executor.run_id)  # what is left of its cgroups, then rmdir
        if self.node.curve is not None:  # its key pair dies with it
            self.node.curve.revoke(executor_key_name(executor.framework_id,
                                                     executor.executor_id, executor.run_id))
        executor.cancel_timer()
        executor.exit_status = wait_status
        executor.state = ExecutorState.TERMINATED
        if executor.http is not None:  # an HTTP executor's stream ends with it
            executor.http.close()
            executor.http = None
        framework = self.frameworks.get(executor.framework_id)
        if framework is None:
            return
        _log.debug("executor exited", executor_id=executor.executor_id, status=wait_status)
        if not framework.terminating:
            self._end_live_tasks(framework, executor, wait_status)
        if framework.info.checkpoint:
            self.ckpt.sentinel(self.agent_id, executor)
        if not executor.command_executor and self.registered:
            self.send(self.master, ExitedExecutor(
                agent_id=self.agent_id, framework_id=framework.info.id,
                executor_id=executor.executor_id,
                status=-1 if wait_status is None else wait_status))
        self._clean_up(framework, executor)

    def _clean_up(self, framework: FrameworkRecord, executor: ExecutorRecord) -> None:
        """Forget a terminated executor once its tasks' terminal updates are acked."""
        if executor.state is not ExecutorState.TERMINATED:
            return
        if not framework.terminating and not all(t.acked for t in executor.tasks.values()):
            return
        if framework.executors.get(executor.executor_id) is executor:
            del framework.executors[executor.executor_id]
            framework.completed_executors.append(executor)
            self.sum.forget((framework.info.id, t) for t in executor.tasks)
            self._gc_run(framework, executor)
        self._drop_idle_framework(framework)

    def _drop_idle_framework(self, framework: FrameworkRecord) -> None:
        if framework.executors or self.frameworks.get(framework.info.id) is not framework:
            return
        del self.frameworks[framework.info.id]
        self.completed_frameworks.append(framework)
        self._gc_framework(framework)
        if framework.terminating:
            self.sum.forget_framework(framework.info.id)

    # --- acknowledgements ------------------------------------------------------------

    def _update_acknowledged(self, update: StatusUpdateInfo) -> None:
        framework = self.frameworks.get(update.framework_id)
        found = framework.find_task(update.status.task_id) if framework else None
        if framework is None or found is None:
            return
        executor, task = found
        if framework.info.checkpoint:
            self.ckpt.ack(self.agent_id, executor, task.task_id, update.uuid)
        if not is_terminal(update.status.state):
            return
        task.acked = True
        self._clean_up(framework, executor)


def executor_key_name(framework_id: str, executor_id: str, run_id: str) -> str:
    """The name of the CurveZMQ key an executor's run gets from its agent
    (``transport.curve.CurveKeys.issue``; recovery issues it again)."""
    return f"executor:{framework_id}/{executor_id}/{run_id}"
