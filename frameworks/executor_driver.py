"""``ExecutorDriver``: the actor inside an executor process that talks to its agent.

The agent starts an executor process with the ``MESETA_*`` environment of the issue-4
contract (``ExecutorEnvironment.from_env`` reads it); ``run_executor(executor)``
builds a node on ``MESETA_HOST``, spawns the driver as the process ``executor`` and
runs it until it stops. The driver registers with the agent (``RegisterExecutor``),
links to it, and turns the agent's messages into the ``Executor``'s callbacks, which
run inside the actor:

- ``ExecutorRegistered`` -> ``registered``; ``RunTask`` -> ``launch_task``; ``KillTask``
  -> ``kill_task``; ``FrameworkToExecutor`` -> ``framework_message``;
- ``StatusUpdateAcknowledgement`` -> the update is forgotten (and ``acknowledged``);
- ``ShutdownExecutor`` -> ``shutdown``, then the driver stops after the shutdown grace
  period (the agent kills the process group soon after anyway);
- ``exited(agent)`` -> for a framework that does not checkpoint, the same shutdown
  (Mesos: such executors die with their agent); otherwise ``disconnected``, and if
  the agent has not reconnected within ``MESETA_RECOVERY_TIMEOUT`` seconds (Mesos'
  ``--recovery_timeout``, 15 min), the same shutdown;
- ``ReconnectExecutor`` -> ``ReregisterExecutor`` with unacknowledged tasks and updates;
  ``ExecutorReregistered`` -> ``reregistered``.

``send_status_update`` is reliable: it fills the ids, a 16-byte uuid and a timestamp,
and keeps the update until the agent acknowledges it. The public methods may be called
from any thread; off the actor's thread they are posted into it.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from actors.messages import (
    ExecutorRegistered,
    ExecutorReregistered,
    ExecutorToFramework,
    FrameworkToExecutor,
    KillPolicy,
    KillTask,
    ReconnectExecutor,
    RegisterExecutor,
    ReregisterExecutor,
    RunTask,
    ShutdownExecutor,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    StatusUpdateInfo,
    TaskInfo,
    TaskState,
    TaskStatus,
)
from actors.messages.info import AgentInfo, FrameworkInfo
from actors.messages.task_state import Source, is_terminal
from actors.messages.tasks import ExecutorInfo
from frameworks.executor import Executor
from transport import PID, Node, Process, Timer, handles
from transport.curve import CurveKeys
from transport.errors import MesetaError
from transport.trace import TraceContext

__all__ = ["ExecutorDriver", "ExecutorEnvironment", "ExecutorError", "run_executor"]

_log = structlog.get_logger("meseta.executor_driver")


class ExecutorError(MesetaError):
    """The executor cannot run: its environment is incomplete or wrong."""


@dataclass(frozen=True, slots=True)
class ExecutorEnvironment:
    """What the agent tells an executor through ``MESETA_*`` variables."""

    agent: PID
    framework_id: str
    executor_id: str
    directory: str = ""
    checkpoint: bool = False
    run_id: str = ""
    shutdown_grace_period: float = 5.0
    host: str = "127.0.0.1"
    recovery_timeout: float = 900.0
    """How long a checkpointing executor waits for its disconnected agent."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ExecutorEnvironment:
        env = os.environ if env is None else env
        missing = [name for name in ("MESETA_AGENT_PID", "MESETA_FRAMEWORK_ID",
                                     "MESETA_EXECUTOR_ID") if not env.get(name)]
        if missing:
            raise ExecutorError(f"not started by a Meseta agent: {', '.join(missing)} unset")
        try:
            agent = PID.parse(env["MESETA_AGENT_PID"])
            grace = float(env.get("MESETA_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5"))
            recovery_timeout = float(env.get("MESETA_RECOVERY_TIMEOUT", "900"))
        except ValueError as exc:
            raise ExecutorError(f"bad executor environment: {exc}") from None
        return cls(agent=agent, framework_id=env["MESETA_FRAMEWORK_ID"],
                   executor_id=env["MESETA_EXECUTOR_ID"],
                   directory=env.get("MESETA_SANDBOX") or env.get("MESETA_DIRECTORY", ""),
                   checkpoint=env.get("MESETA_CHECKPOINT", "0") in ("1", "true"),
                   run_id=env.get("MESETA_RUN_ID", ""), shutdown_grace_period=grace,
                   host=env.get("MESETA_HOST") or agent.host,
                   recovery_timeout=recovery_timeout)


class ExecutorDriver(Process):
    """See the module docstring."""

    def __init__(self, node: Node, executor: Executor,
                 environment: ExecutorEnvironment | None = None, name: str = "executor") -> None:
        super().__init__(node, name)
        self.executor = executor
        self.environment = environment or ExecutorEnvironment.from_env()
        self.agent = self.environment.agent
        self.agent_id = ""
        self.agent_info: AgentInfo | None = None
        self.executor_info: ExecutorInfo | None = None
        self.framework_info: FrameworkInfo | None = None
        self.connected = False
        self.kill_policies: dict[str, KillPolicy] = {}
        """A ``KillTask``'s policy override, by task, for ``kill_task`` to use."""
        self._updates: dict[bytes, StatusUpdateInfo] = {}
        self._tasks: dict[str, TaskInfo] = {}
        self._task_traces: dict[str, TraceContext] = {}
        """The trace of each task's RunTask: its updates sent from other threads continue it."""
        self._shutting_down = False
        self._recovery_timer: Timer | None = None
        self._thread_id = -1
        self._done = threading.Event()
        self.exit_code = 0

    def handle(self) -> ExecutorDriver:
        """The driver object itself (for ``ref.proxy().handle().get()``)."""
        return self

    # --- life cycle -------------------------------------------------------------------

    def on_start(self) -> None:
        self._thread_id = threading.get_ident()
        self.link(self.agent)
        # The agent's launch (its RunTask's trace) is the parent of the registration.
        with self.continuing(TraceContext.from_env(os.environ.get("MESETA_TRACE_PARENT"))):
            self.send(self.agent, RegisterExecutor(framework_id=self.environment.framework_id,
                                                   executor_id=self.environment.executor_id))

    def on_stop(self) -> None:
        self._done.set()
        super().on_stop()

    # --- what executors call ----------------------------------------------------------

    def send_status_update(self, status: TaskStatus) -> bytes:
        """Send ``status`` reliably (re-sent on re-registration until acked); its uuid."""
        uuid = os.urandom(16)
        if status.state is TaskState.TASK_STAGING:
            raise ExecutorError("executors may not send TASK_STAGING")
        self._on_thread(self._send_update, status, uuid)
        return uuid

    def send_framework_message(self, data: bytes) -> None:
        """Send the scheduler opaque bytes (best effort)."""
        self._on_thread(self._send_message, data)

    def stop(self) -> None:
        """Stop the driver; ``join``/``run`` return and the executor process exits."""
        self._done.set()

    def abort(self) -> None:
        """Stop with a failure exit code."""
        self.exit_code = 1
        self._done.set()

    def join(self, timeout: float | None = None) -> int:
        """Wait until stopped; the exit code for the executor process."""
        self._done.wait(timeout)
        return self.exit_code

    def run(self) -> int:
        """The driver starts when spawned; ``run`` is ``join``."""
        return self.join()

    @property
    def stopped(self) -> bool:
        return self._done.is_set()

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the driver's thread, with the callbacks (thread-safe)."""
        self._post(fn, *args)

    # --- handlers ---------------------------------------------------------------------

    @handles(ExecutorRegistered)
    def _on_registered(self, frm: PID, msg: ExecutorRegistered) -> None:
        if self.stopped:
            return
        self.connected = True
        self.agent, self.agent_id, self.agent_info = frm, msg.agent_id, msg.agent_info
        self.executor_info, self.framework_info = msg.executor_info, msg.framework_info
        self._callback("registered", msg.executor_info, msg.framework_info, msg.agent_info)

    @handles(ExecutorReregistered)
    def _on_reregistered(self, frm: PID, msg: ExecutorReregistered) -> None:
        if self._recovery_timer is not None:
            self._recovery_timer.cancel()
            self._recovery_timer = None
        self.connected = True
        self.agent, self.agent_id, self.agent_info = frm, msg.agent_id, msg.agent_info
        self._callback("reregistered", msg.agent_info)

    @handles(ReconnectExecutor)
    def _on_reconnect(self, frm: PID, msg: ReconnectExecutor) -> None:
        self.agent = frm
        self.link(frm)
        self.send(frm, ReregisterExecutor(
            executor_id=self.environment.executor_id,
            framework_id=self.environment.framework_id,
            tasks=tuple(self._tasks.values()), updates=tuple(self._updates.values())))

    @handles(RunTask)
    def _on_run_task(self, frm: PID, msg: RunTask) -> None:
        if self._shutting_down or self.stopped:
            return
        self._tasks[msg.task.task_id] = msg.task
        if self.trace_context is not None:
            self._task_traces[msg.task.task_id] = self.trace_context
        self._callback("launch_task", msg.task)

    @handles(KillTask)
    def _on_kill_task(self, frm: PID, msg: KillTask) -> None:
        if msg.kill_policy is not None:
            self.kill_policies[msg.task_id] = msg.kill_policy
        self._callback("kill_task", msg.task_id)

    @handles(StatusUpdateAcknowledgement)
    def _on_ack(self, frm: PID, msg: StatusUpdateAcknowledgement) -> None:
        acked = self._updates.pop(msg.uuid, None)
        if acked is None:
            return
        if is_terminal(acked.status.state):
            self._task_traces.pop(msg.task_id, None)
        self._tasks.pop(msg.task_id, None)
        self._callback("acknowledged", msg.task_id, msg.uuid)

    @handles(FrameworkToExecutor)
    def _on_framework_message(self, frm: PID, msg: FrameworkToExecutor) -> None:
        self._callback("framework_message", msg.data)

    @handles(ShutdownExecutor)
    def _on_shutdown(self, frm: PID, msg: ShutdownExecutor) -> None:
        self._shutdown("the agent asked")

    def exited(self, pid: PID) -> None:
        if pid != self.agent or self.stopped:
            return
        self.connected = False
        if self.environment.checkpoint:
            self._callback("disconnected")
            if self._recovery_timer is None:
                self._recovery_timer = self.delay(self.environment.recovery_timeout,
                                                  self._recovery_timed_out)
            return
        self._shutdown("the agent exited")

    # --- internals --------------------------------------------------------------------

    def _recovery_timed_out(self) -> None:
        self._recovery_timer = None
        if not self.connected:
            self._shutdown(f"the agent did not come back within "
                           f"{self.environment.recovery_timeout}s (recovery timeout)")

    def _shutdown(self, why: str) -> None:
        if self._shutting_down:
            return
        self._shutting_down = True
        _log.info("executor shutting down", why=why)
        self._callback("shutdown")
        self.delay(self.environment.shutdown_grace_period, self.stop)

    def _send_update(self, status: TaskStatus, uuid: bytes) -> None:
        now = self.now()
        status = dataclasses.replace(
            status, source=Source.SOURCE_EXECUTOR, executor_id=self.environment.executor_id,
            agent_id=self.agent_id, timestamp=status.timestamp or now, uuid=uuid)
        update = StatusUpdateInfo(framework_id=self.environment.framework_id, status=status,
                                  timestamp=now, executor_id=self.environment.executor_id,
                                  agent_id=self.agent_id, uuid=uuid)
        self._updates[uuid] = update
        with self.continuing(self._task_traces.get(status.task_id)):
            self.send(self.agent, StatusUpdate(update=update, pid=self.pid))

    def _send_message(self, data: bytes) -> None:
        self.send(self.agent, ExecutorToFramework(
            agent_id=self.agent_id, framework_id=self.environment.framework_id,
            executor_id=self.environment.executor_id, data=data))

    def _on_thread(self, fn: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self._thread_id:
            fn(*args)
        else:
            self._post(fn, *args)

    def _callback(self, name: str, *args: Any) -> None:
        try:
            getattr(self.executor, name)(self, *args)
        except Exception:
            _log.exception("executor callback failed", callback=name)


def run_executor(executor: Executor, env: Mapping[str, str] | None = None) -> int:
    """Run ``executor`` under a driver, as the agent started it; the process exit code."""
    from transport.logs import configure

    env = os.environ if env is None else env
    try:
        environment = ExecutorEnvironment.from_env(env)
        configure(env.get("MESETA_LOG_LEVEL", "warning"),
                  "json" if env.get("MESETA_LOG_FORMAT") == "json" else "console")
    except (ExecutorError, ValueError) as exc:
        print(f"executor: {exc}", file=sys.stderr)
        return 1
    node = Node(environment.host, 0, curve=CurveKeys.from_env(env)).start()
    try:
        ref = node.spawn(ExecutorDriver, executor, environment)
        driver = ref.proxy().handle().get(timeout=30)
        return driver.join()
    finally:
        node.stop()
