"""App spec parsing and validation of the service framework (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.messages import HealthCheckType
from frameworks.service.spec import SpecError, config_of, parse_app, parse_apps


def test_defaults_are_marathons() -> None:
    app = parse_app({"id": "/web", "cmd": "sleep 1000"})
    assert app.id == "web"
    assert (app.instances, app.cpus, app.mem, app.disk, app.ports) == (1, 1.0, 128.0, 0.0, 0)
    assert (app.backoff_seconds, app.backoff_factor, app.max_launch_delay_seconds) == (
        1.0, 1.15, 3600.0)
    assert (app.minimum_health_capacity, app.maximum_over_capacity) == (1.0, 1.0)
    assert app.min_healthy() == 1 and app.max_total() == 2


def test_a_full_spec_round_trips_through_its_json() -> None:
    data = {"id": "group/web", "cmd": "serve $PORT0", "instances": 3, "cpus": 0.2, "mem": 64,
            "disk": 10, "ports": [0, 0], "env": {"MODE": "x"},
            "healthChecks": [{"protocol": "TCP", "portIndex": 1, "gracePeriodSeconds": 5,
                              "intervalSeconds": 2, "timeoutSeconds": 1,
                              "maxConsecutiveFailures": 4}],
            "constraints": [["hostname", "UNIQUE"], ["rack", "CLUSTER", "a"],
                            ["zone", "max_per", "2"]],
            "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.2},
            "role": "web", "labels": {"kept": "yes"}}
    app = parse_app(data)
    assert app.ports == 2 and app.constraints[2].operator == "MAX_PER"
    assert app.min_healthy() == 2 and app.max_total() == 3
    assert app.extra == {"labels": {"kept": "yes"}}
    assert parse_app(app.to_json()) == app
    check = app.health_checks[0].to_mesos([31000, 31001])
    assert check.type is HealthCheckType.TCP and check.tcp is not None
    assert (check.tcp.port, check.grace_period_seconds, check.interval_seconds,
            check.timeout_seconds, check.consecutive_failures) == (31001, 5, 2, 1, 4)


def test_http_and_command_health_checks_map_to_meseta_checks() -> None:
    app = parse_app({"id": "a", "cmd": "c", "ports": 1, "healthChecks": [
        {"protocol": "HTTP", "path": "/health"}]})
    check = app.health_checks[0].to_mesos([31005])
    assert check.http is not None and (check.http.port, check.http.path) == (31005, "/health")
    app = parse_app({"id": "a", "cmd": "c", "healthChecks": [
        {"protocol": "COMMAND", "command": {"value": "true"}}]})
    check = app.health_checks[0].to_mesos([])
    assert check.command is not None and check.command.value == "true"


@pytest.mark.parametrize("data, error", [
    ([], "must be a JSON object"),
    ({"cmd": "x"}, "app id None"),
    ({"id": "Bad_Id", "cmd": "x"}, "app id 'Bad_Id'"),
    ({"id": "a"}, "'cmd' must be a non-empty string"),
    ({"id": "a", "cmd": "x", "instances": -1}, "'instances' must be an integer >= 0"),
    ({"id": "a", "cmd": "x", "instances": True}, "'instances'"),
    ({"id": "a", "cmd": "x", "cpus": 0}, "'cpus' must be a number"),
    ({"id": "a", "cmd": "x", "env": {"A": 1}}, "'env' must be an object of strings"),
    ({"id": "a", "cmd": "x", "constraints": [["hostname"]]}, "must be [field, operator]"),
    ({"id": "a", "cmd": "x", "constraints": [["hostname", "NEAR"]]}, "'NEAR' is not one of"),
    ({"id": "a", "cmd": "x", "constraints": [["h", "MAX_PER", "x"]]}, "MAX_PER needs"),
    ({"id": "a", "cmd": "x", "constraints": [["h", "LIKE", "("]]}, "LIKE '('"),
    ({"id": "a", "cmd": "x", "healthChecks": [{"protocol": "UDP"}]}, "'UDP' is not"),
    ({"id": "a", "cmd": "x", "healthChecks": [{"protocol": "HTTP"}]}, "portIndex 0 needs"),
    ({"id": "a", "cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]}, "command.value"),
    ({"id": "a", "cmd": "x", "ports": 1, "healthChecks": [{"protocol": "TCP"}] * 2},
     "at most one health check"),
    ({"id": "a", "cmd": "x", "backoffFactor": 0.5}, "'backoffFactor' must be a number >= 1"),
    ({"id": "a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 2}},
     "between 0 and 1"),
    ({"id": "a", "cmd": "x", "upgradeStrategy": {"maximumOverCapacity": 0}},
     "leaves no room"),
    ({"id": "a", "cmd": "x", "role": "a b"}, "invalid role"),
])
def test_bad_specs_are_refused_with_a_clear_error(data: Any, error: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_app(data)
    assert error in str(caught.value)


def test_a_file_holds_one_app_a_list_or_an_apps_object_with_unique_ids() -> None:
    one = {"id": "a", "cmd": "x"}
    assert [a.id for a in parse_apps(one)] == ["a"]
    assert [a.id for a in parse_apps({"apps": [one, {"id": "b", "cmd": "y"}]})] == ["a", "b"]
    with pytest.raises(SpecError, match="given twice"):
        parse_apps([one, one])


def test_only_a_change_of_config_is_a_new_version() -> None:
    app = parse_app({"id": "a", "cmd": "x", "instances": 1})
    assert config_of(parse_app({"id": "a", "cmd": "x", "instances": 5})) == config_of(app)
    assert config_of(parse_app({"id": "a", "cmd": "y"})) != config_of(app)
    assert config_of(parse_app({"id": "a", "cmd": "x", "mem": 1})) != config_of(app)
