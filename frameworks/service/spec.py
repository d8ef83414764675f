"""App specs: what a service framework keeps running, in Marathon's JSON shape.

An app is parsed from a JSON object (``parse_app``; a file holds one app, a list of
apps, or ``{"apps": [...]}``: ``parse_apps``) into a frozen ``AppSpec``. Field names and
defaults are Marathon's::

    {"id": "web", "cmd": "python3 -m http.server $PORT0", "instances": 2,
     "cpus": 0.1, "mem": 32, "disk": 0, "ports": 1, "env": {"MODE": "demo"},
     "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}],
     "constraints": [["hostname", "UNIQUE"]],
     "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 3600,
     "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}}

``ports`` is the number of host ports wanted (Marathon also takes a list, whose length
counts). Bad specs raise ``SpecError`` naming the app and the field. ``config_of``
is the part of a spec whose change is a new version (everything but ``instances``):
the scheduler rolls instances over to a new version, a scale keeps the version.

Pure: used by the scheduler, its HTTP API and the client commands; no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from actors.messages import (
    CommandInfo,
    HealthCheck,
    HealthCheckType,
    HTTPCheckInfo,
    TCPCheckInfo,
)
from actors.resources.values import validate_role
from transport import MesetaError

__all__ = ["OPERATORS", "AppSpec", "Constraint", "HealthCheckSpec", "SpecError", "config_of",
           "parse_app", "parse_apps"]

OPERATORS = ("UNIQUE", "CLUSTER", "MAX_PER", "LIKE", "UNLIKE")
_ID = re.compile(r"^/?[a-z0-9]([a-z0-9-]*[a-z0-9])?(/[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


class SpecError(MesetaError):
    """An app spec is malformed; the message names the app and field."""


@dataclass(frozen=True)
class Constraint:
    """Marathon's ``[field, operator, value]``: where an app's instances may run."""

    field: str
    """``hostname`` or an agent attribute name."""
    operator: str
    value: str = ""


@dataclass(frozen=True)
class HealthCheckSpec:
    """One Marathon ``healthChecks`` entry (seconds; Marathon's defaults)."""

    protocol: str = "HTTP"
    path: str = "/"
    port_index: int = 0
    command: str = ""
    grace_period_seconds: float = 300.0
    interval_seconds: float = 60.0
    timeout_seconds: float = 20.0
    max_consecutive_failures: int = 3

    def to_mesos(self, ports: list[int]) -> HealthCheck:
        """The Meseta ``HealthCheck`` for a task given the host ports it got."""
        common: dict[str, Any] = dict(
            delay_seconds=0.0, interval_seconds=self.interval_seconds,
            timeout_seconds=self.timeout_seconds,
            consecutive_failures=self.max_consecutive_failures,
            grace_period_seconds=self.grace_period_seconds)
        if self.protocol == "COMMAND":
            return HealthCheck(type=HealthCheckType.COMMAND,
                               command=CommandInfo(value=self.command), **common)
        port = ports[self.port_index]
        if self.protocol == "TCP":
            return HealthCheck(type=HealthCheckType.TCP, tcp=TCPCheckInfo(port=port), **common)
        return HealthCheck(type=HealthCheckType.HTTP,
                           http=HTTPCheckInfo(port=port, path=self.path), **common)


@dataclass(frozen=True)
class AppSpec:
    """A long-running app: ``instances`` copies of ``cmd``; see the module docstring."""

    id: str
    cmd: str
    instances: int = 1
    cpus: float = 1.0
    mem: float = 128.0
    disk: float = 0.0
    ports: int = 0
    env: tuple[tuple[str, str], ...] = ()
    health_checks: tuple[HealthCheckSpec, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    backoff_seconds: float = 1.0
    backoff_factor: float = 1.15
    max_launch_delay_seconds: float = 3600.0
    minimum_health_capacity: float = 1.0
    maximum_over_capacity: float = 1.0
    role: str = ""
    version: str = ""
    """Set by the scheduler: when the config (all but ``instances``) last changed."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Unknown fields, kept so that a GET returns what was PUT."""

    def min_healthy(self) -> int:
        """Instances that must stay ready during an upgrade (Marathon rounds up)."""
        return math.ceil(self.instances * self.minimum_health_capacity)

    def max_total(self) -> int:
        """Instances (old and new) allowed at once during an upgrade."""
        return self.instances + math.floor(self.instances * self.maximum_over_capacity)

    def to_json(self) -> dict[str, Any]:
        """Marathon's JSON shape (``parse_app`` reads it back)."""
        out: dict[str, Any] = dict(self.extra)
        out.update({
            "id": self.id, "cmd": self.cmd, "instances": self.instances, "cpus": self.cpus,
            "mem": self.mem, "disk": self.disk, "ports": self.ports, "env": dict(self.env),
            "healthChecks": [_health_json(h) for h in self.health_checks],
            "constraints": [[c.field, c.operator] + ([c.value] if c.value else [])
                            for c in self.constraints],
            "backoffSeconds": self.backoff_seconds, "backoffFactor": self.backoff_factor,
            "maxLaunchDelaySeconds": self.max_launch_delay_seconds,
            "upgradeStrategy": {"minimumHealthCapacity": self.minimum_health_capacity,
                                "maximumOverCapacity": self.maximum_over_capacity},
            "version": self.version})
        if self.role:
            out["role"] = self.role
        return out


def config_of(app: AppSpec) -> AppSpec:
    """The spec without what a scale changes: equal configs mean the same version."""
    return replace(app, instances=0, version="", extra={})


_HEALTH_FIELDS = {"protocol": "protocol", "path": "path", "portIndex": "port_index",
                  "gracePeriodSeconds": "grace_period_seconds",
                  "intervalSeconds": "interval_seconds", "timeoutSeconds": "timeout_seconds",
                  "maxConsecutiveFailures": "max_consecutive_failures"}
_FIELDS = {"id", "cmd", "instances", "cpus", "mem", "disk", "ports", "env", "healthChecks",
           "constraints", "backoffSeconds", "backoffFactor", "maxLaunchDelaySeconds",
           "upgradeStrategy", "role", "version"}
_READ_ONLY = {"tasksRunning", "tasksStaged", "tasksHealthy", "tasksUpToDate", "tasksReady",
              "tasks", "deployments"}
"""What GET adds to an app: dropped when a spec comes back in a PUT."""


def _health_json(h: HealthCheckSpec) -> dict[str, Any]:
    data = {key: getattr(h, attr) for key, attr in _HEALTH_FIELDS.items()}
    if h.protocol == "COMMAND":
        data["command"] = {"value": h.command}
    return data


def parse_apps(data: Any) -> list[AppSpec]:
    """A list of apps, ``{"apps": [...]}`` or one app; ids must be unique."""
    if isinstance(data, dict) and "apps" in data:
        data = data["apps"]
    items = data if isinstance(data, list) else [data]
    apps = [parse_app(item) for item in items]
    seen: set[str] = set()
    for app in apps:
        if app.id in seen:
            raise SpecError(f"app {app.id!r} is given twice")
        seen.add(app.id)
    return apps


def parse_app(data: Any) -> AppSpec:
    """One app from its JSON object; ``SpecError`` says what is wrong."""
    if not isinstance(data, dict):
        raise SpecError(f"an app must be a JSON object, not {type(data).__name__}")
    raw_id = data.get("id")
    if not isinstance(raw_id, str) or not _ID.match(raw_id):
        raise SpecError(f"app id {raw_id!r}: expected lowercase letters, digits and dashes "
                        "(path segments separated by '/')")
    app_id = raw_id.strip("/")
    where = f"app {app_id!r}"
    cmd = data.get("cmd")
    if not isinstance(cmd, str) or not cmd.strip():
        raise SpecError(f"{where}: 'cmd' must be a non-empty string")
    ports = data.get("ports", 0)
    if isinstance(ports, list):
        ports = len(ports)
    upgrade = data.get("upgradeStrategy", {})
    if not isinstance(upgrade, dict):
        raise SpecError(f"{where}: 'upgradeStrategy' must be an object")
    app = AppSpec(
        id=app_id, cmd=cmd,
        instances=_int(where, "instances", data.get("instances", 1), 0),
        cpus=_num(where, "cpus", data.get("cpus", 1.0), 0.001),
        mem=_num(where, "mem", data.get("mem", 128.0), 0.0),
        disk=_num(where, "disk", data.get("disk", 0.0), 0.0),
        ports=_int(where, "ports", ports, 0),
        env=_env(where, data.get("env", {})),
        health_checks=tuple(_health(where, i, h)
                            for i, h in enumerate(_list(where, "healthChecks", data))),
        constraints=tuple(_constraint(where, c) for c in _list(where, "constraints", data)),
        backoff_seconds=_num(where, "backoffSeconds", data.get("backoffSeconds", 1.0), 0.0),
        backoff_factor=_num(where, "backoffFactor", data.get("backoffFactor", 1.15), 1.0),
        max_launch_delay_seconds=_num(where, "maxLaunchDelaySeconds",
                                      data.get("maxLaunchDelaySeconds", 3600.0), 0.0),
        minimum_health_capacity=_fraction(where, "minimumHealthCapacity",
                                          upgrade.get("minimumHealthCapacity", 1.0)),
        maximum_over_capacity=_fraction(where, "maximumOverCapacity",
                                        upgrade.get("maximumOverCapacity", 1.0)),
        role=_role(where, data.get("role", "")),
        version=str(data.get("version", "")),
        extra={k: v for k, v in data.items() if k not in _FIELDS | _READ_ONLY})
    if len(app.health_checks) > 1:
        raise SpecError(f"{where}: at most one health check (a task carries one)")
    for h in app.health_checks:
        if h.protocol != "COMMAND" and h.port_index >= app.ports:
            raise SpecError(f"{where}: health check portIndex {h.port_index} needs "
                            f"'ports' > {h.port_index} (the app asks for {app.ports})")
    if app.minimum_health_capacity == 1.0 and app.maximum_over_capacity == 0.0:
        raise SpecError(f"{where}: upgradeStrategy minimumHealthCapacity 1 with "
                        "maximumOverCapacity 0 leaves no room to replace an instance")
    return app


def _bad(where: str, name: str, value: Any, want: str) -> SpecError:
    return SpecError(f"{where}: {name!r} must be {want}, not {value!r}")


def _num(where: str, name: str, value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum \
            or not math.isfinite(value):
        raise _bad(where, name, value, f"a number >= {minimum:g}")
    return float(value)


def _int(where: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(where, name, value, f"an integer >= {minimum}")
    return value


def _fraction(where: str, name: str, value: Any) -> float:
    number = _num(where, f"upgradeStrategy.{name}", value, 0.0)
    if number > 1.0:
        raise _bad(where, f"upgradeStrategy.{name}", value, "between 0 and 1")
    return number


def _list(where: str, name: str, data: dict[str, Any]) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise _bad(where, name, value, "a list")
    return value


def _env(where: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _bad(where, "env", value, "an object of strings")
    return tuple(sorted((str(k), v) for k, v in value.items()))


def _role(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _bad(where, "role", value, "a string")
    if value:
        try:
            validate_role(value)
        except ValueError as exc:
            raise SpecError(f"{where}: {exc}") from exc
    return value


def _health(where: str, index: int, data: Any) -> HealthCheckSpec:
    here = f"{where} healthChecks[{index}]"
    if not isinstance(data, dict):
        raise SpecError(f"{here}: must be an object")
    protocol = str(data.get("protocol", "HTTP")).upper()
    if protocol == "MESOS_HTTP":
        protocol = "HTTP"
    if protocol not in ("COMMAND", "HTTP", "TCP"):
        raise SpecError(f"{here}: protocol {protocol!r} is not COMMAND, HTTP or TCP")
    command = data.get("command", {})
    value = command.get("value", "") if isinstance(command, dict) else command
    if protocol == "COMMAND" and (not isinstance(value, str) or not value):
        raise SpecError(f"{here}: a COMMAND check needs command.value")
    path = data.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _bad(here, "path", path, "a path starting with '/'")
    return HealthCheckSpec(
        protocol=protocol, path=path, command=str(value),
        port_index=_int(here, "portIndex", data.get("portIndex", 0), 0),
        grace_period_seconds=_num(here, "gracePeriodSeconds",
                                  data.get("gracePeriodSeconds", 300.0), 0.0),
        interval_seconds=_num(here, "intervalSeconds", data.get("intervalSeconds", 60.0), 0.001),
        timeout_seconds=_num(here, "timeoutSeconds", data.get("timeoutSeconds", 20.0), 0.001),
        max_consecutive_failures=_int(here, "maxConsecutiveFailures",
                                      data.get("maxConsecutiveFailures", 3), 0))


def _constraint(where: str, data: Any) -> Constraint:
    if (not isinstance(data, list) or not 2 <= len(data) <= 3
            or not all(isinstance(x, str) for x in data)):
        raise SpecError(f"{where}: constraint {data!r} must be [field, operator] or "
                        "[field, operator, value] strings")
    name, operator, value = data[0], data[1].upper(), data[2] if len(data) == 3 else ""
    if operator not in OPERATORS:
        raise SpecError(f"{where}: constraint operator {operator!r} is not one of "
                        f"{', '.join(OPERATORS)}")
    if operator == "MAX_PER" and (not value.isdigit() or int(value) < 1):
        raise SpecError(f"{where}: MAX_PER needs a positive integer value, not {value!r}")
    if operator in ("LIKE", "UNLIKE"):
        if not value:
            raise SpecError(f"{where}: {operator} needs a regular expression")
        try:
            re.compile(value)
        except re.error as exc:
            raise SpecError(f"{where}: {operator} {value!r}: {exc}") from exc
    return Constraint(field=name, operator=operator, value=value)

