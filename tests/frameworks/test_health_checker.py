"""The health checker's decisions, pure: a manual clock and a fake prober, no threads.

The fake prober records each check it is asked to run; the test finishes a check
(``finish``) when it wants, or lets the manual clock pass its timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actors.messages import CommandInfo, HealthCheck, HealthCheckType
from actors.messages.executor import TaskHealthStatus
from actors.messages.tasks import HTTPCheckInfo
from frameworks.health.checker import HealthChecker, HealthVerdicts, ProbeResult
from frameworks.health.probes import http_healthy
from transport.clock import ManualClock, Timer

OK = ProbeResult(True, "ok")
BAD = ProbeResult(False, "bad")


def check(**kwargs: Any) -> HealthCheck:
    fields: dict[str, Any] = dict(type=HealthCheckType.COMMAND, command=CommandInfo(value="x"),
                                  delay_seconds=0.0, interval_seconds=1.0,
                                  timeout_seconds=5.0, consecutive_failures=3,
                                  grace_period_seconds=0.0)
    fields.update(kwargs)
    return HealthCheck(**fields)


class Host:
    """A ``Host`` on a manual clock; ``call_soon`` runs at once (as on one thread)."""

    def __init__(self) -> None:
        self.clock = ManualClock()

    def now(self) -> float:
        return self.clock.now()

    def delay(self, seconds: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.clock.call_later(seconds, lambda: fn(*args))

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)


class Run:
    def __init__(self, done: Callable[[ProbeResult], None], started: float) -> None:
        self.done = done
        self.started = started
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeProber:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.runs: list[Run] = []
        self.timeouts: list[float] = []

    def run(self, check: HealthCheck, timeout: float,
            done: Callable[[ProbeResult], None]) -> Run:
        self.timeouts.append(timeout)
        self.runs.append(Run(done, self.host.now()))
        return self.runs[-1]

    def finish(self, result: ProbeResult) -> None:
        self.runs[-1].done(result)


class Rig:
    def __init__(self, hc: HealthCheck) -> None:
        self.host = Host()
        self.prober = FakeProber(self.host)
        self.statuses: list[TaskHealthStatus] = []
        self.messages: list[str] = []
        self.checker = HealthChecker("t1", hc, self.host, self.prober, self._on_status)
        self.start = self.host.now()
        self.checker.start()

    def _on_status(self, status: TaskHealthStatus, result: ProbeResult) -> None:
        self.statuses.append(status)
        self.messages.append(result.message)

    def advance(self, seconds: float) -> None:
        self.host.clock.advance(seconds)

    def step(self, result: ProbeResult, then: float = 1.0) -> None:
        """Finish the running check with ``result``, then let ``then`` seconds pass."""
        self.prober.finish(result)
        self.advance(then)


def test_the_first_check_runs_after_delay_seconds_and_the_next_interval_after_it_ends() -> None:
    rig = Rig(check(delay_seconds=15.0, interval_seconds=10.0, timeout_seconds=20.0))
    rig.advance(14.9)
    assert rig.prober.runs == []
    rig.advance(0.1)
    assert [r.started - rig.start for r in rig.prober.runs] == [15.0]
    rig.advance(7.0)  # the check takes 7 s: the next starts 10 s after it ended
    rig.prober.finish(OK)
    rig.advance(9.9)
    assert len(rig.prober.runs) == 1
    rig.advance(0.1)
    assert [r.started - rig.start for r in rig.prober.runs] == [15.0, 32.0]
    assert rig.prober.timeouts == [20.0, 20.0]


def test_only_the_first_success_and_the_first_after_failures_report_healthy() -> None:
    rig = Rig(check(consecutive_failures=10))
    rig.advance(0)
    for result in (OK, OK, OK, BAD, BAD, OK, OK):
        rig.step(result)
    assert [(s.healthy, s.consecutive_failures) for s in rig.statuses] == [
        (True, 0), (False, 1), (False, 2), (True, 0)]
    assert len(rig.prober.runs) == 8  # and it keeps checking


def test_every_counted_failure_reports_unhealthy_and_the_last_one_kills() -> None:
    rig = Rig(check(consecutive_failures=3))
    rig.advance(0)
    for _ in range(3):
        rig.step(BAD)
    assert [(s.healthy, s.consecutive_failures, s.kill_task) for s in rig.statuses] == [
        (False, 1, False), (False, 2, False), (False, 3, True)]
    assert rig.messages == ["bad", "bad", "bad"]


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    rig = Rig(check(consecutive_failures=2))
    rig.advance(0)
    for result in (BAD, OK, BAD, OK, BAD):
        rig.step(result)
    assert not any(s.kill_task for s in rig.statuses)
    rig.step(BAD)
    assert rig.statuses[-1].kill_task and rig.statuses[-1].consecutive_failures == 2


def test_failures_within_the_grace_period_are_ignored_until_the_first_success() -> None:
    rig = Rig(check(grace_period_seconds=5.0, consecutive_failures=1))
    rig.advance(0)
    for _ in range(5):  # failures ending at t=0..4: ignored
        rig.step(BAD)
    assert rig.statuses == []
    rig.step(OK)  # t=5, still in the grace period: now healthy
    assert [s.healthy for s in rig.statuses] == [True]
    rig.prober.finish(BAD)  # at t=6, but the grace period ended with the first success
    assert rig.statuses[-1] == TaskHealthStatus(task_id="t1", healthy=False, kill_task=True,
                                                consecutive_failures=1)


def test_a_failure_after_the_grace_period_counts_even_without_a_success() -> None:
    rig = Rig(check(grace_period_seconds=2.0, consecutive_failures=5))
    rig.advance(0)
    rig.step(BAD)  # t=0
    rig.step(BAD)  # t=1
    rig.step(BAD)  # t=2: "<= grace" still ignored, as in Mesos
    assert rig.statuses == []
    rig.step(BAD)  # t=3
    assert [(s.healthy, s.consecutive_failures) for s in rig.statuses] == [(False, 1)]


def test_a_check_that_times_out_is_cancelled_and_counts_as_a_failure() -> None:
    rig = Rig(check(timeout_seconds=2.0, interval_seconds=1.0, consecutive_failures=2))
    rig.advance(0)
    first = rig.prober.runs[0]
    rig.advance(1.9)
    assert rig.statuses == [] and not first.cancelled
    rig.advance(0.1)
    assert first.cancelled
    assert rig.statuses == [TaskHealthStatus(task_id="t1", healthy=False,
                                             consecutive_failures=1)]
    assert rig.messages == ["timed out after 2s"]
    first.done(OK)  # a late answer of the timed-out check is ignored
    assert len(rig.statuses) == 1
    rig.advance(1.0)  # the next check starts an interval after the timeout
    assert len(rig.prober.runs) == 2 and rig.prober.runs[1].started - rig.start == 3.0


def test_a_check_that_answers_in_time_cancels_its_timeout() -> None:
    rig = Rig(check(timeout_seconds=2.0, interval_seconds=10.0))
    rig.advance(0)
    rig.advance(1.0)
    rig.prober.finish(OK)
    rig.advance(5.0)  # past the first check's timeout
    assert [s.healthy for s in rig.statuses] == [True]
    assert not rig.prober.runs[0].cancelled


def test_a_timeout_of_zero_means_none() -> None:
    rig = Rig(check(timeout_seconds=0.0))
    rig.advance(0)
    rig.advance(3600.0)
    assert rig.statuses == [] and not rig.prober.runs[0].cancelled
    assert rig.host.clock.pending() == 0  # no timer waits: only the check's answer moves on
    rig.prober.finish(BAD)
    assert [s.healthy for s in rig.statuses] == [False]


def test_stop_cancels_the_running_check_and_schedules_nothing_more() -> None:
    rig = Rig(check())
    rig.advance(0)
    rig.checker.stop()
    assert rig.prober.runs[0].cancelled
    rig.prober.finish(BAD)
    rig.advance(100.0)
    assert rig.statuses == [] and len(rig.prober.runs) == 1
    assert rig.host.clock.pending() == 0


def test_stop_from_the_status_callback_ends_checking() -> None:
    """The command executor stops the checker when it kills the task."""
    host = Host()
    prober = FakeProber(host)
    statuses: list[TaskHealthStatus] = []

    def on_status(status: TaskHealthStatus, result: ProbeResult) -> None:
        statuses.append(status)
        if status.kill_task:
            checker.stop()

    checker = HealthChecker("t1", check(consecutive_failures=1), host, prober, on_status)
    checker.start()
    host.clock.advance(0)
    prober.finish(BAD)
    host.clock.advance(100.0)
    assert [s.kill_task for s in statuses] == [True] and len(prober.runs) == 1


@pytest.mark.parametrize("hc, problem", [
    (HealthCheck(type=HealthCheckType.COMMAND), "needs a command"),
    (HealthCheck(type=HealthCheckType.HTTP), "needs http"),
    (HealthCheck(type=HealthCheckType.TCP), "needs tcp"),
])
def test_a_check_without_the_info_of_its_type_is_refused(hc: HealthCheck, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        HealthChecker("t1", hc, Host(), FakeProber(Host()), lambda s, r: None)


def test_verdicts_keep_the_mesos_defaults() -> None:
    defaults = HealthCheck(type=HealthCheckType.TCP)
    assert (defaults.delay_seconds, defaults.interval_seconds, defaults.timeout_seconds,
            defaults.consecutive_failures, defaults.grace_period_seconds) == (
        15.0, 10.0, 20.0, 3, 10.0)
    verdicts = HealthVerdicts("t1", defaults, start=0.0)
    assert verdicts.failure(10.0) is None  # within the default 10 s grace period
    status = verdicts.failure(10.5)
    assert status is not None and status.consecutive_failures == 1


@pytest.mark.parametrize("status, statuses, healthy", [
    (200, (), True), (302, (), True), (399, (), True), (199, (), False), (404, (), False),
    (500, (), False), (200, (200,), True), (404, (200,), False), (503, (200, 503), True),
])
def test_http_status_interpretation(status: int, statuses: tuple[int, ...],
                                    healthy: bool) -> None:
    assert http_healthy(status, statuses) is healthy
    assert HTTPCheckInfo(port=1).statuses == ()
