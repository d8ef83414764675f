"""The health checker of one task: when to check, and what a result means.

Mesos' ``src/checks/health_checker.cpp`` and ``checker_process.cpp``, split in two:

- ``HealthVerdicts`` (pure): turns each check result into the ``TaskHealthStatus`` the
  executor must act on, or ``None``. A success reports ``healthy`` only when the task
  turns healthy (its first success, or the first after failures); every *counted*
  failure reports ``healthy=False`` with the running count, and ``kill_task`` once
  the count reaches ``consecutive_failures``. A failure is not counted while the task
  has never been healthy and is still within ``grace_period_seconds`` of the checker's
  start (a grace period of 0 counts everything).
- ``HealthChecker``: the schedule. The first check runs ``delay_seconds`` after
  ``start()``, the next one ``interval_seconds`` after the previous one finished or
  timed out (not at a fixed rate); a check still running after ``timeout_seconds`` is
  cancelled (its processes killed) and counts as a failure; a timeout of 0 means
  none. The checks themselves run off the host's thread (``Prober``); their results
  come back through ``host.call_soon``, and a late result of a timed-out or stopped
  check is ignored. ``stop()`` ends checking (Mesos pauses it when the task is
  killed or has ended).

The host is whatever owns the task: the ``ExecutorDriver`` fits ``Host`` as it is, so
every callback, timer and ``on_status`` runs on the driver's thread; pure tests pass a
manual clock and a fake prober. Probes that touch the system live in
``frameworks.health.probes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from actors.messages.executor import TaskHealthStatus
from actors.messages.tasks import HealthCheck, HealthCheckType
from transport.clock import Timer

__all__ = ["HealthChecker", "HealthVerdicts", "Host", "ProbeResult", "Prober", "Running"]

_log = structlog.get_logger("meseta.health")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One check's outcome: healthy or not, and why (for logs and status messages)."""

    healthy: bool
    message: str = ""


class Running(Protocol):
    """A check under way."""

    def cancel(self) -> None:
        """Stop it and kill what it started; its result, if any, is ignored."""
        ...


class Prober(Protocol):
    """Runs checks without blocking the caller."""

    def run(self, check: HealthCheck, timeout: float,
            done: Callable[[ProbeResult], None]) -> Running:
        """Start one check; call ``done`` (from any thread) once, when it has a result.

        ``timeout`` (seconds, 0 for none) is a hint for bounding blocking calls; the
        checker enforces the timeout itself.
        """
        ...


class Host(Protocol):
    """What the checker needs of the actor it runs in (``ExecutorDriver`` has it)."""

    def now(self) -> float: ...

    def delay(self, seconds: float, fn: Callable[..., Any], *args: Any) -> Timer: ...

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None: ...


class HealthVerdicts:
    """Mesos' ``HealthChecker::success`` / ``failure``; see the module docstring."""

    def __init__(self, task_id: str, check: HealthCheck, start: float) -> None:
        self.task_id = task_id
        self.check = check
        self.start = start
        self.initializing = True
        """No success yet: the grace period still applies."""
        self.consecutive_failures = 0

    def success(self) -> TaskHealthStatus | None:
        turned_healthy = self.initializing or self.consecutive_failures > 0
        self.initializing = False
        self.consecutive_failures = 0
        return TaskHealthStatus(task_id=self.task_id, healthy=True) if turned_healthy else None

    def failure(self, now: float) -> TaskHealthStatus | None:
        grace = self.check.grace_period_seconds
        if self.initializing and grace > 0 and now - self.start <= grace:
            return None
        self.consecutive_failures += 1
        return TaskHealthStatus(
            task_id=self.task_id, healthy=False,
            kill_task=self.consecutive_failures >= self.check.consecutive_failures,
            consecutive_failures=self.consecutive_failures)

    def record(self, result: ProbeResult, now: float) -> TaskHealthStatus | None:
        return self.success() if result.healthy else self.failure(now)


class HealthChecker:
    """Checks one task on a schedule; see the module docstring.

    ``on_status(status, result)`` gets each ``TaskHealthStatus`` to act on, with the
    check result that caused it.
    """

    def __init__(self, task_id: str, check: HealthCheck, host: Host, prober: Prober,
                 on_status: Callable[[TaskHealthStatus, ProbeResult], None]) -> None:
        problem = _missing_info(check)
        if problem is not None:
            raise ValueError(problem)
        self.task_id = task_id
        self.check = check
        self.name = f"{check.type.name} health check"
        self._host = host
        self._prober = prober
        self._on_status = on_status
        self.verdicts: HealthVerdicts | None = None
        self.stopped = False
        self.checks_run = 0
        self._attempt = 0
        self._running: Running | None = None
        self._timer: Timer | None = None
        self._timeout_timer: Timer | None = None

    def start(self) -> None:
        """Start the grace period now and the first check after ``delay_seconds``."""
        if self.verdicts is not None or self.stopped:
            return
        self.verdicts = HealthVerdicts(self.task_id, self.check, self._host.now())
        self._schedule(self.check.delay_seconds)

    def stop(self) -> None:
        """No more checks; a check under way is cancelled and its result ignored."""
        self.stopped = True
        for timer in (self._timer, self._timeout_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._timeout_timer = None
        running, self._running = self._running, None
        if running is not None:
            running.cancel()

    # --- internals --------------------------------------------------------------------

    def _schedule(self, seconds: float) -> None:
        self._timer = self._host.delay(seconds, self._perform)

    def _perform(self) -> None:
        self._timer = None
        if self.stopped:
            return
        self._attempt += 1
        self.checks_run += 1
        attempt = self._attempt
        timeout = self.check.timeout_seconds
        if timeout > 0:
            self._timeout_timer = self._host.delay(timeout, self._timed_out, attempt)
        self._running = self._prober.run(
            self.check, timeout,
            lambda result: self._host.call_soon(self._finished, attempt, result))

    def _timed_out(self, attempt: int) -> None:
        if attempt != self._attempt or self._running is None or self.stopped:
            return
        running, self._running = self._running, None
        running.cancel()
        self._timeout_timer = None
        self._complete(ProbeResult(False, f"timed out after {self.check.timeout_seconds:g}s"))

    def _finished(self, attempt: int, result: ProbeResult) -> None:
        if attempt != self._attempt or self._running is None or self.stopped:
            return  # timed out already, or stopped
        self._running = None
        if self._timeout_timer is not None:
            self._timeout_timer.cancel()
            self._timeout_timer = None
        self._complete(result)

    def _complete(self, result: ProbeResult) -> None:
        assert self.verdicts is not None
        status = self.verdicts.record(result, self._host.now())
        if not result.healthy:
            _log.warning("health check failed", task_id=self.task_id, check=self.name,
                         why=result.message, counted=status is not None,
                         consecutive_failures=self.verdicts.consecutive_failures)
        if status is not None:
            self._on_status(status, result)
        if not self.stopped:
            self._schedule(self.check.interval_seconds)


def _missing_info(check: HealthCheck) -> str | None:
    """What the check's type needs but lacks (the master rejects such tasks)."""
    if check.type is HealthCheckType.COMMAND and (check.command is None
                                                   or not check.command.value):
        return "a COMMAND health check needs a command"
    if check.type is HealthCheckType.HTTP and check.http is None:
        return "an HTTP health check needs http"
    if check.type is HealthCheckType.TCP and check.tcp is None:
        return "a TCP health check needs tcp"
    return None
