"""The command executor: runs one task's ``CommandInfo`` (``-m frameworks.command_executor``).

For a task with ``command`` (no executor of its own) the agent starts this module,
one process per task as in Mesos (src/launcher/executor.cpp). On ``launch_task`` it
sends TASK_STARTING, starts the command in the sandbox in a process group of its own
(``/bin/sh -c value`` when ``shell``, else ``value`` with ``arguments``), inheriting
the executor's stdout/stderr (the sandbox files), sends TASK_RUNNING, and, when the
command ends, TASK_FINISHED (exit 0) or TASK_FAILED (saying the exit status or the
signal). ``kill_task`` sends TASK_KILLING (to frameworks with TASK_KILLING_STATE),
SIGTERM to the command's group and SIGKILL after the kill policy's grace period
(default 3 s; a later kill with a shorter one hurries it), then TASK_KILLED. The
executor stops once the agent has acknowledged the terminal update, or 5 s after
sending it (for a checkpointing framework whose agent is down: once the agent
recovered and took it, or the recovery timeout ended). It is forked from the
agent's warm launcher, so it must import quickly.

Health checks (Mesos' ``src/launcher/executor.cpp``): for a task with a
``health_check`` a ``HealthChecker`` starts with TASK_RUNNING. Each health change it
reports goes out as a TASK_RUNNING update with ``healthy`` set and reason
REASON_TASK_HEALTH_CHECK_STATUS_UPDATED (Mesos' ``taskHealthUpdated``: the first
success and the first after failures, and every counted failure); none goes out once
the task is being killed or has ended. When the failures reach
``consecutive_failures`` the task is killed as by ``kill_task`` (its kill policy),
and, as in Mesos' ``reaped``, its TASK_KILLED carries ``healthy=False`` (no reason:
Mesos leaves a TODO there). Checking stops when the task is killed or ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import structlog

from actors.messages import (
    FrameworkCapability,
    FrameworkInfo,
    Reason,
    TaskInfo,
    TaskState,
    TaskStatus,
)
from actors.messages.executor import TaskHealthStatus
from actors.messages.info import AgentInfo
from actors.messages.tasks import DEFAULT_KILL_GRACE_PERIOD, ExecutorInfo
from frameworks.executor import Executor
from frameworks.executor_driver import ExecutorDriver, run_executor
from frameworks.exits import describe_exit
from frameworks.health.checker import HealthChecker, ProbeResult
from frameworks.health.probes import SystemProber, command_argv_of
from transport.affinity import unpinned
from transport.clock import Timer

__all__ = ["CommandExecutor", "command_argv", "describe_exit"]

TERMINAL_ACK_TIMEOUT = 5.0
"""Seconds to wait for the agent's ack of the terminal update before exiting anyway."""

_log = structlog.get_logger("meseta.command_executor")


def command_argv(task: TaskInfo) -> list[str]:
    """The argv of the task's command (``sh -c value`` when shell)."""
    if task.command is None or not task.command.value:
        raise ValueError("the task has no command to run")
    return command_argv_of(task.command)


class CommandExecutor(Executor):
    """Runs exactly one command task; see the module docstring."""

    def __init__(self) -> None:
        self.framework_info: FrameworkInfo | None = None
        self.task: TaskInfo | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.killing = False
        self.kill_deadline = 0.0
        self._escalation: Timer | None = None
        self._terminal_uuid: bytes | None = None
        self.health_checker: HealthChecker | None = None
        self.killed_by_health_check = False

    def registered(self, driver: ExecutorDriver, executor_info: ExecutorInfo,
                   framework_info: FrameworkInfo, agent_info: AgentInfo) -> None:
        self.framework_info = framework_info

    def launch_task(self, driver: ExecutorDriver, task: TaskInfo) -> None:
        if self.task is not None:
            driver.send_status_update(TaskStatus(
                task_id=task.task_id, state=TaskState.TASK_FAILED,
                message="the command executor runs one task only"))
            return
        self.task = task
        driver.send_status_update(TaskStatus(task_id=task.task_id,
                                             state=TaskState.TASK_STARTING))
        env = dict(os.environ)
        if task.command is not None and task.command.environment is not None:
            env.update(task.command.environment.to_dict())
        try:
            with unpinned():  # the task gets all the CPUs, not the executor's one
                self.proc = subprocess.Popen(
                    command_argv(task), cwd=driver.environment.directory or None, env=env,
                    stdin=subprocess.DEVNULL, start_new_session=True)
        except (OSError, ValueError) as exc:
            self._finish(driver, TaskState.TASK_FAILED, f"Failed to launch the command: {exc}")
            return
        driver.send_status_update(TaskStatus(task_id=task.task_id,
                                             state=TaskState.TASK_RUNNING))
        with unpinned():
            threading.Thread(target=self._wait, args=(driver, self.proc), daemon=True,
                             name="command-wait").start()
        if task.health_check is not None:
            self._start_health_checks(driver, task)

    def kill_task(self, driver: ExecutorDriver, task_id: str) -> None:
        if self.task is None or task_id != self.task.task_id or self._terminal_uuid:
            return
        policy = driver.kill_policies.get(task_id) or self.task.kill_policy
        grace = policy.grace_period if policy is not None else DEFAULT_KILL_GRACE_PERIOD
        self._kill(driver, grace)

    def shutdown(self, driver: ExecutorDriver) -> None:
        if self.proc is None or self._terminal_uuid:
            driver.stop()
            return
        policy = self.task.kill_policy if self.task is not None else None
        grace = policy.grace_period if policy is not None else DEFAULT_KILL_GRACE_PERIOD
        # Leave time for TASK_KILLED to go out before the agent's own kill.
        self._kill(driver, max(0.0, min(grace, driver.environment.shutdown_grace_period - 1)))

    def acknowledged(self, driver: ExecutorDriver, task_id: str, uuid: bytes) -> None:
        if uuid == self._terminal_uuid:
            driver.stop()

    # --- internals --------------------------------------------------------------------

    def _start_health_checks(self, driver: ExecutorDriver, task: TaskInfo) -> None:
        assert task.health_check is not None
        try:
            self.health_checker = HealthChecker(
                task.task_id, task.health_check, driver,
                SystemProber(driver.environment.directory),
                lambda status, result: self._health_updated(driver, status, result))
        except ValueError as exc:  # Mesos too runs the task unchecked
            _log.error("failed to create the health checker", task_id=task.task_id,
                       error=str(exc))
            return
        self.health_checker.start()

    def _health_updated(self, driver: ExecutorDriver, health: TaskHealthStatus,
                        result: ProbeResult) -> None:
        task = self.task
        if task is None or self.killing or self._terminal_uuid is not None:
            return  # Mesos sends no health update once the task is killed or has ended
        if health.healthy:
            message = "health check passed"
        else:
            message = (f"health check failed {health.consecutive_failures} time(s) "
                       f"consecutively: {result.message}")
        driver.send_status_update(TaskStatus(
            task_id=task.task_id, state=TaskState.TASK_RUNNING, message=message,
            reason=Reason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, healthy=health.healthy))
        if health.kill_task:
            self.killed_by_health_check = True
            self.kill_task(driver, task.task_id)

    def _stop_health_checks(self) -> None:
        if self.health_checker is not None:
            self.health_checker.stop()

    def _kill(self, driver: ExecutorDriver, grace: float) -> None:
        proc, task = self.proc, self.task
        if proc is None or task is None:
            return
        deadline = driver.now() + grace
        if self.killing and deadline >= self.kill_deadline:
            return
        if not self.killing:
            self.killing = True
            self._stop_health_checks()
            if (self.framework_info is not None
                    and self.framework_info.has(FrameworkCapability.TASK_KILLING_STATE)):
                driver.send_status_update(TaskStatus(task_id=task.task_id,
                                                     state=TaskState.TASK_KILLING))
            _signal_group(proc.pid, signal.SIGTERM)
        self.kill_deadline = deadline
        if self._escalation is not None:
            self._escalation.cancel()
        self._escalation = driver.delay(grace, _signal_group, proc.pid, signal.SIGKILL)

    def _wait(self, driver: ExecutorDriver, proc: subprocess.Popen[bytes]) -> None:
        returncode = proc.wait()
        driver.call_soon(self._exited, driver, returncode)

    def _exited(self, driver: ExecutorDriver, returncode: int) -> None:
        self._stop_health_checks()
        if self._escalation is not None:
            self._escalation.cancel()
        if self.proc is not None:
            _signal_group(self.proc.pid, signal.SIGKILL)  # leave nothing of it behind
        if self.killing:
            self._finish(driver, TaskState.TASK_KILLED, describe_exit(returncode))
        elif returncode == 0:
            self._finish(driver, TaskState.TASK_FINISHED, describe_exit(returncode))
        else:
            self._finish(driver, TaskState.TASK_FAILED, describe_exit(returncode))

    def _finish(self, driver: ExecutorDriver, state: TaskState, message: str) -> None:
        assert self.task is not None
        reason = Reason.REASON_COMMAND_EXECUTOR_FAILED if state is TaskState.TASK_FAILED \
            and self.proc is None else None
        # Mesos marks a kill for failed health checks with healthy=false (and no reason).
        healthy = False if state is TaskState.TASK_KILLED and self.killed_by_health_check \
            else None
        self._terminal_uuid = driver.send_status_update(TaskStatus(
            task_id=self.task.task_id, state=state, message=message, reason=reason,
            healthy=healthy))
        driver.delay(TERMINAL_ACK_TIMEOUT, self._ack_timed_out, driver)

    def _ack_timed_out(self, driver: ExecutorDriver) -> None:
        if driver.environment.checkpoint and not driver.connected and not driver.stopped:
            # The agent is down: wait for it to recover and take the terminal update
            # (the driver's recovery timeout bounds the wait).
            driver.delay(TERMINAL_ACK_TIMEOUT, self._ack_timed_out, driver)
            return
        driver.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


if __name__ == "__main__":
    raise SystemExit(run_executor(CommandExecutor()))
