"""``DefaultExecutor``: the process the agent starts for an ``ExecutorInfo`` of type DEFAULT.

It speaks the v1 executor HTTP API (``client``): SUBSCRIBE, then it reads the event
stream on a thread of its own while ``run`` waits for the end. Every event, process
exit and kill timer is handled under one lock, so the state (``book.TaskBook``) is
touched by one thread at a time:

- SUBSCRIBED: the framework's info (for TASK_KILLING_STATE);
- LAUNCH_GROUP: every task gets TASK_STARTING, its command is started in a process
  group of its own, in its own sandbox ``$MESOS_SANDBOX/tasks/<task_id>`` (where its
  ``stdout``/``stderr`` go; the task's ``MESOS_SANDBOX`` points there, as for Mesos'
  nested containers; the executor's sandbox is its parent), with the executor's
  environment plus the command's ``environment``; then TASK_RUNNING. A command that
  cannot start is TASK_FAILED;
- a command ends: TASK_FINISHED (exit 0), TASK_FAILED (``Command exited with status
  3``) or, if it was being killed, TASK_KILLED. Unless it FINISHED, the rest of its
  group is killed (Mesos' default executor treats a group as one unit);
- KILL: TASK_KILLING (for frameworks with TASK_KILLING_STATE), SIGTERM to the task's
  process group, SIGKILL after the kill policy's grace period (the KILL's, else the
  task's, else 3 s); its whole group goes the same way;
- SHUTDOWN: every live task is killed, with at most the executor's shutdown grace
  period less a second, so TASK_KILLED goes out before the agent's own kill;
- ACKNOWLEDGED: the update is forgotten; the executor exits (0) once no task is live
  and every update is acknowledged (or ``TERMINAL_ACK_TIMEOUT`` after the last task
  ended while the agent does not answer);
- the stream drops: with ``MESOS_CHECKPOINT=1`` it SUBSCRIBEs again (backoff up to
  ``MESOS_SUBSCRIPTION_BACKOFF_MAX``) with its unacknowledged tasks and updates, for
  at most ``MESOS_RECOVERY_TIMEOUT``; updates that could not be sent wait for that.
  Without checkpointing it kills its tasks and exits, as Mesos' executors do.

``MESSAGE`` events are ignored (the default executor runs commands, it has no use for
framework messages); HEARTBEAT and unknown events too.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from actors.messages.info import FrameworkCapability, FrameworkInfo
from actors.messages.task_state import Reason, Source, TaskState
from actors.messages.tasks import (
    DEFAULT_KILL_GRACE_PERIOD,
    KillPolicy,
    TaskGroupInfo,
    TaskInfo,
    TaskStatus,
)
from actors.messages.v1json import from_v1, to_v1
from frameworks.default_executor.book import TaskBook, TaskRun, outcome
from frameworks.default_executor.client import CallRefused, Endpoint, events
from frameworks.health.probes import command_argv_of
from transport.affinity import unpinned

__all__ = ["TERMINAL_ACK_TIMEOUT", "DefaultExecutor", "task_environment"]

TERMINAL_ACK_TIMEOUT = 5.0
"""Seconds to wait, once no task is live, for acknowledgements the agent does not send."""

_HIDDEN = ("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "MESETA_EXECUTOR_AUTHENTICATION_TOKEN",
           "MESETA_CURVE_SECRET")
"""The executor's own credentials: not for its tasks."""

_log = structlog.get_logger("meseta.default_executor")


def task_environment(base: Mapping[str, str], task: TaskInfo, directory: str) -> dict[str, str]:
    """A task's environment: the executor's, its sandbox, then its command's variables."""
    env = {k: v for k, v in base.items() if k not in _HIDDEN}
    env["MESOS_SANDBOX"] = env["MESETA_SANDBOX"] = directory
    if task.command is not None and task.command.environment is not None:
        env.update(task.command.environment.to_dict())
    return env


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


class DefaultExecutor:
    """See the module docstring. ``DefaultExecutor(Endpoint.from_environment()).run()``."""

    def __init__(self, endpoint: Endpoint, env: Mapping[str, str] | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self.env = dict(os.environ if env is None else env)
        self.now = now
        self.book = TaskBook()
        self.framework_info: FrameworkInfo | None = None
        self.connected = False
        self.shutting_down = False
        self._lock = threading.RLock()
        self._done = threading.Event()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._escalations: dict[str, threading.Timer] = {}
        self._kill_deadlines: dict[str, float] = {}
        self.exit_code = 0

    # --- the process's life -------------------------------------------------------

    def run(self) -> int:
        """Subscribe, serve events until done; the exit code."""
        threading.Thread(target=self._stream_loop, daemon=True, name="subscription").start()
        self._done.wait()
        with self._lock:
            for timer in self._escalations.values():
                timer.cancel()
            for run in self.book.tasks.values():
                if run.pid is not None:  # nothing of a task outlives its executor
                    _signal_group(run.pid, signal.SIGKILL)
        return self.exit_code

    def _finish(self, code: int, why: str) -> None:
        _log.info("default executor exiting", why=why, code=code)
        self.exit_code = code
        self._done.set()

    def _stream_loop(self) -> None:
        deadline: float | None = None
        backoff = 0.05
        while not self._done.is_set():
            try:
                self._subscribe()
                deadline, backoff = None, 0.05  # it was connected: a new recovery window
            except CallRefused as exc:
                _log.error("SUBSCRIBE refused", status=exc.status, body=exc.body)
                if exc.status < 500:
                    self._finish(1, f"the agent refused the subscription: {exc}")
                    return
            except (OSError, ValueError, http.client.HTTPException) as exc:
                _log.warning("event stream failed", error=repr(exc))
            with self._lock:
                self.connected = False
                if self._done.is_set():
                    return
                if not self.endpoint.checkpoint:
                    self._disconnected()
                    return
            if deadline is None:
                deadline = self.now() + self.endpoint.recovery_timeout
            if self.now() > deadline:
                self._finish(1, "the agent did not come back within the recovery timeout")
                return
            self._done.wait(backoff)
            backoff = min(backoff * 2, max(self.endpoint.backoff_max, 0.05))

    def _subscribe(self) -> None:
        with self._lock:
            body = {"unacknowledged_tasks": [to_v1(r.info) for r in self.book.tasks.values()],
                    "unacknowledged_updates": [{"status": to_v1(s)}
                                               for s in self.book.unacked.values()]}
        conn, resp = self.endpoint.subscribe(self.endpoint.call("SUBSCRIBE", subscribe=body))
        try:
            for event in events(resp):
                with self._lock:
                    self._handle(event)
                if self._done.is_set():
                    return
        finally:
            conn.close()

    def _disconnected(self) -> None:
        """No checkpointing: the agent is gone for good; so are the tasks."""
        live = self.book.live()
        if not live:
            self._finish(0, "disconnected from the agent")
            return
        self.shutting_down = True
        for run in live:
            self._kill(run, 0.0)
        self._later(1.0, self._finish, 0, "disconnected from the agent")

    # --- events -------------------------------------------------------------------

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        try:
            if kind == "SUBSCRIBED":
                self.connected = True
                info = event.get("subscribed", {}).get("framework_info")
                if info is not None:
                    self.framework_info = from_v1(FrameworkInfo, info)
            elif kind == "LAUNCH_GROUP":
                group = from_v1(TaskGroupInfo, event["launch_group"]["task_group"])
                self._launch_group(group.tasks)
            elif kind == "LAUNCH":  # the agent sends groups only; accept one anyway
                self._launch_group((from_v1(TaskInfo, event["launch"]["task"]),))
            elif kind == "KILL":
                kill = event["kill"]
                policy = kill.get("kill_policy")
                self._kill_task(kill["task_id"]["value"],
                                from_v1(KillPolicy, policy) if policy is not None else None)
            elif kind == "ACKNOWLEDGED":
                self.book.acknowledged(event["acknowledged"]["uuid"])
                self._check_done()
            elif kind == "SHUTDOWN":
                self._shutdown()
            elif kind == "ERROR":
                _log.error("the agent says", error=event.get("error"))
        except (KeyError, TypeError, ValueError) as exc:  # a malformed event: skip it
            _log.error("bad event", type=kind, error=str(exc))

    def _launch_group(self, tasks: tuple[TaskInfo, ...]) -> None:
        if self.shutting_down:
            for info in tasks:
                self._update_for(info.task_id, TaskState.TASK_KILLED,
                                 "the executor is shutting down")
            return
        runs, duplicates = self.book.add_group(tasks)
        for info in duplicates:
            _log.warning("LAUNCH_GROUP with a task already here", task_id=info.task_id)
        failed: list[tuple[TaskRun, str]] = []
        for run in runs:
            self._update(run, TaskState.TASK_STARTING)
            try:
                self._start(run)
            except (OSError, ValueError) as exc:
                failed.append((run, f"Failed to launch task: {exc}"))
        for run in runs:
            if run.pid is not None:
                self._update(run, TaskState.TASK_RUNNING)
        for run, message in failed:
            self._update(run, TaskState.TASK_FAILED, message,
                         Reason.REASON_CONTAINER_LAUNCH_FAILED)
            self._kill_siblings(run)

    def _start(self, run: TaskRun) -> None:
        task = run.info
        if task.command is None:
            raise ValueError("the task has no command")
        if "/" in task.task_id or task.task_id in ("", ".", ".."):
            raise ValueError(f"task id {task.task_id!r} cannot name a sandbox")
        directory = os.path.join(self.endpoint.sandbox, "tasks", task.task_id)
        os.makedirs(directory, exist_ok=True)
        argv = command_argv_of(task.command)
        with open(os.path.join(directory, "stdout"), "ab") as out, \
                open(os.path.join(directory, "stderr"), "ab") as err, unpinned():
            proc = subprocess.Popen(argv, cwd=directory, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, env=task_environment(self.env, task, directory),
                                    start_new_session=True)
        run.pid = proc.pid
        self._procs[run.task_id] = proc
        with unpinned():
            threading.Thread(target=self._wait, args=(run, proc), daemon=True,
                             name=f"wait-{task.task_id}").start()
        _log.info("task started", task_id=task.task_id, pid=proc.pid)

    def _wait(self, run: TaskRun, proc: subprocess.Popen[bytes]) -> None:
        returncode = proc.wait()
        with self._lock:
            self._exited(run, returncode)

    def _exited(self, run: TaskRun, returncode: int) -> None:
        self._procs.pop(run.task_id, None)
        timer = self._escalations.pop(run.task_id, None)
        if timer is not None:
            timer.cancel()
        if run.pid is not None:
            _signal_group(run.pid, signal.SIGKILL)  # leave nothing of it behind
        state, message = outcome(returncode, run.killing)
        _log.info("task ended", task_id=run.task_id, state=state.name, message=message)
        self._update(run, state, message)
        if state is not TaskState.TASK_FINISHED:
            self._kill_siblings(run)
        self._check_done()

    def _kill_task(self, task_id: str, policy: KillPolicy | None) -> None:
        run = self.book.tasks.get(task_id)
        if run is None or not run.live:
            _log.warning("KILL for a task not running here", task_id=task_id)
            return
        self._kill(run, self._grace(run, policy))
        self._kill_siblings(run)

    def _kill_siblings(self, run: TaskRun) -> None:
        for sibling in self.book.siblings_to_kill(run.task_id):
            _log.info("killing the rest of the group", task_id=sibling.task_id,
                      because=run.task_id)
            self._kill(sibling, self._grace(sibling, None))

    def _shutdown(self) -> None:
        self.shutting_down = True
        live = self.book.live()
        limit = max(0.0, self.endpoint.shutdown_grace_period - 1.0)
        for run in live:
            self._kill(run, min(self._grace(run, None), limit))
        if not live:
            self._finish(0, "shut down")

    def _grace(self, run: TaskRun, policy: KillPolicy | None) -> float:
        policy = policy or run.info.kill_policy
        return policy.grace_period if policy is not None else DEFAULT_KILL_GRACE_PERIOD

    def _kill(self, run: TaskRun, grace: float) -> None:
        """SIGTERM now, SIGKILL after ``grace`` (a later, shorter grace hurries it)."""
        if run.pid is None:
            if run.live:
                self._update(run, TaskState.TASK_KILLED, "Killed before it started")
                self._check_done()
            return
        deadline = self.now() + grace
        if run.killing and deadline >= self._kill_deadlines.get(run.task_id, deadline):
            return
        if not run.killing:
            run.killing = True
            if self.framework_info is not None \
                    and self.framework_info.has(FrameworkCapability.TASK_KILLING_STATE):
                self._update(run, TaskState.TASK_KILLING)
            _signal_group(run.pid, signal.SIGTERM)
        self._kill_deadlines[run.task_id] = deadline
        old = self._escalations.pop(run.task_id, None)
        if old is not None:
            old.cancel()
        self._escalations[run.task_id] = self._later(grace, _signal_group, run.pid,
                                                     signal.SIGKILL)

    # --- updates ------------------------------------------------------------------

    def _update(self, run: TaskRun, state: TaskState, message: str = "",
                reason: Reason | None = None) -> None:
        self._update_for(run.task_id, state, message, reason)

    def _update_for(self, task_id: str, state: TaskState, message: str = "",
                    reason: Reason | None = None) -> None:
        status = TaskStatus(task_id=task_id, state=state, message=message,
                            source=Source.SOURCE_EXECUTOR, reason=reason,
                            executor_id=self.endpoint.executor_id, timestamp=time.time(),
                            uuid=os.urandom(16))
        self.book.sent(status)
        if not self.connected:
            return  # sent with the next SUBSCRIBE
        try:
            self.endpoint.post(self.endpoint.call("UPDATE", update={"status": to_v1(status)}))
        except CallRefused as exc:
            _log.error("UPDATE refused", task_id=task_id, state=state.name, status=exc.status,
                       body=exc.body)
        except OSError as exc:  # the agent is away: re-sent with the next SUBSCRIBE
            _log.warning("UPDATE not sent", task_id=task_id, state=state.name, error=str(exc))

    def _check_done(self) -> None:
        if self.book.live() or not (self.book.launched or self.shutting_down):
            return  # the tasks come right after SUBSCRIBED
        if self.book.done():
            self._finish(0, "no live tasks")
        elif self.book.tasks or self.shutting_down:
            self._later(TERMINAL_ACK_TIMEOUT, self._ack_timed_out)

    @staticmethod
    def _later(delay: float, fn: Callable[..., None], *args: Any) -> threading.Timer:
        """``fn(*args)`` on a timer thread that does not hold the process open."""
        timer = threading.Timer(delay, fn, args)
        timer.daemon = True
        timer.start()
        return timer

    def _ack_timed_out(self) -> None:
        with self._lock:
            if self._done.is_set() or self.book.live():
                return
            if self.endpoint.checkpoint and not self.connected:
                return  # wait for the agent to recover and take the updates
            self._finish(0, "no live tasks (some updates were not acknowledged)")
