"""Pure validation of a task's HealthCheck: what the master refuses, and why."""

from __future__ import annotations

import pytest

from actors.master.validation import TaskValidator, validate_health_check
from actors.messages import CommandInfo, HealthCheck, HealthCheckType, TaskInfo
from actors.messages.tasks import HTTPCheckInfo, TCPCheckInfo
from actors.resources import Resources

C, H, T = HealthCheckType.COMMAND, HealthCheckType.HTTP, HealthCheckType.TCP


@pytest.mark.parametrize("check, expected", [
    (HealthCheck(type=C, command=CommandInfo(value="true")), None),
    (HealthCheck(type=H, http=HTTPCheckInfo(port=8080, scheme="https", path="/health")), None),
    (HealthCheck(type=T, tcp=TCPCheckInfo(port=1), delay_seconds=0, interval_seconds=0,
                 timeout_seconds=0, grace_period_seconds=0), None),
    (HealthCheck(type=C), "expecting 'command' to be set for COMMAND health check"),
    (HealthCheck(type=C, http=HTTPCheckInfo(port=80)),
     "expecting 'command' to be set for COMMAND health check"),
    (HealthCheck(type=C, command=CommandInfo(value="")),
     "command health check must contain a shell command"),
    (HealthCheck(type=C, command=CommandInfo(value="", shell=False)),
     "command health check must contain an executable path"),
    (HealthCheck(type=H), "expecting 'http' to be set for HTTP health check"),
    (HealthCheck(type=H, http=HTTPCheckInfo(port=80, scheme="ftp")),
     "unsupported HTTP health check scheme: 'ftp'"),
    (HealthCheck(type=H, http=HTTPCheckInfo(port=80, path="health")),
     "the path 'health' of HTTP health check must start with '/'"),
    (HealthCheck(type=H, http=HTTPCheckInfo(port=0)), "HTTP health check port 0 is not in"),
    (HealthCheck(type=T, command=CommandInfo(value="true")),
     "expecting 'tcp' to be set for TCP health check"),
    (HealthCheck(type=T, tcp=TCPCheckInfo(port=70000)), "TCP health check port 70000"),
    (HealthCheck(type=T, tcp=TCPCheckInfo(port=1), delay_seconds=-1),
     "expecting 'delay_seconds' to be non-negative"),
    (HealthCheck(type=T, tcp=TCPCheckInfo(port=1), interval_seconds=-0.5),
     "expecting 'interval_seconds' to be non-negative"),
    (HealthCheck(type=T, tcp=TCPCheckInfo(port=1), timeout_seconds=float("nan")),
     "expecting 'timeout_seconds' to be non-negative"),
    (HealthCheck(type=T, tcp=TCPCheckInfo(port=1), grace_period_seconds=float("inf")),
     "expecting 'grace_period_seconds' to be non-negative"),
    (HealthCheck(type=T, tcp=TCPCheckInfo(port=1), consecutive_failures=0),
     "expecting 'consecutive_failures' to be at least 1"),
])
def test_health_check_rules(check: HealthCheck, expected: str | None) -> None:
    problem = validate_health_check(check)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(expected), problem


def test_a_task_with_an_invalid_health_check_is_refused_and_takes_nothing() -> None:
    validator = TaskValidator("f1", "a1", {"*": Resources.parse("cpus:1;mem:64")}, (), {})
    bad = TaskInfo(name="t", task_id="t1", agent_id="a1", resources=Resources.parse("cpus:1"),
                   command=CommandInfo(value="sleep 1"), health_check=HealthCheck(type=H))
    error, accepted = validator.validate(bad)
    assert accepted is None
    assert error == ("task uses an invalid health check: "
                     "expecting 'http' to be set for HTTP health check")
    good = TaskInfo(name="t", task_id="t2", agent_id="a1", resources=Resources.parse("cpus:1"),
                    command=CommandInfo(value="sleep 1"),
                    health_check=HealthCheck(type=T, tcp=TCPCheckInfo(port=8080)))
    error, accepted = validator.validate(good)  # the cpu the refused task did not take
    assert error is None and accepted is not None
