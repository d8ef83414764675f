"""Job definitions: Chronos' JSON fields, parsed and validated (pure; no clock, no I/O).

A job is a JSON object::

    {"name": "nightly", "command": "make report", "cpus": 0.5, "mem": 128, "disk": 0,
     "retries": 2, "schedule": "R/2026-12-01T02:00:00Z/P1D", "epsilon": "PT60S",
     "env": {"MODE": "full"}, "owner": "ops@example.com", "disabled": false,
     "concurrent": false}

or, for a job that runs after others, ``"parents": ["extract", "load"]`` instead of a
``schedule``. ``name`` and ``command`` are required; names are ids (letters, digits,
``_``, ``-`` and ``.``). Defaults are Chronos': ``retries`` 2, ``epsilon`` PT60S, ``cpus``
0.1, ``mem`` 32, not concurrent. ``schedule`` is an ISO 8601 repeating interval or a cron
expression (``frameworks.batch.schedules``). A job with neither ``schedule`` nor
``parents`` runs once when it is submitted. Unknown fields are rejected, so a typo does
not pass silently.

``parse_job(data)`` checks one object; ``check_graph(jobs)`` checks that every parent
exists and that the parents form no cycle. Both raise ``JobError`` with a message meant
for the person who wrote the JSON; the HTTP API answers it as a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from frameworks.batch.schedules import ScheduleError, parse_duration, parse_schedule

__all__ = ["DEFAULT_EPSILON", "DEFAULT_RETRIES", "Job", "JobError", "check_graph",
           "parse_job", "parse_jobs"]

DEFAULT_RETRIES = 2
DEFAULT_EPSILON = "PT60S"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_FIELDS = {"name", "command", "cpus", "mem", "disk", "retries", "parents", "schedule", "env",
           "epsilon", "disabled", "owner", "concurrent", "description"}


class JobError(ValueError):
    """A job (or a set of jobs) that cannot be accepted; the message says why."""


@dataclass(frozen=True, slots=True)
class Job:
    """One job, as submitted (see the module docstring for the fields)."""

    name: str
    command: str
    cpus: float = 0.1
    mem: float = 32.0
    disk: float = 0.0
    retries: int = DEFAULT_RETRIES
    parents: tuple[str, ...] = ()
    schedule: str = ""
    epsilon: str = DEFAULT_EPSILON
    env: Mapping[str, str] = field(default_factory=dict)
    disabled: bool = False
    owner: str = ""
    concurrent: bool = False
    description: str = ""

    @property
    def epsilon_seconds(self) -> float:
        return parse_duration(self.epsilon).seconds

    @property
    def resources(self) -> str:
        """In ``Resources.parse`` syntax."""
        text = f"cpus:{self.cpus:g};mem:{self.mem:g}"
        return text + (f";disk:{self.disk:g}" if self.disk else "")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["parents"], data["env"] = list(self.parents), dict(self.env)
        return data


def _number(data: Mapping[str, Any], key: str, default: float, positive: bool) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JobError(f"job {data.get('name')!r}: {key} must be a number, not {value!r}")
    if value < 0 or (positive and value == 0):
        raise JobError(f"job {data.get('name')!r}: {key} must be "
                       f"{'more than zero' if positive else 'zero or more'}")
    return float(value)


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise JobError(f"job {data.get('name')!r}: {key} must be true or false")
    return value


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise JobError(f"job {data.get('name')!r}: {key} must be a string, not {value!r}")
    return value


def parse_job(data: Any) -> Job:
    """One job from its JSON object; raises ``JobError``."""
    if not isinstance(data, Mapping):
        raise JobError(f"a job is a JSON object, not {type(data).__name__}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise JobError(f"bad job name {name!r}: letters, digits, '_', '-' and '.', "
                       "starting with a letter or digit")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise JobError(f"job {name!r}: unknown field(s) {', '.join(unknown)}")
    command = _text(data, "command")
    if not command.strip():
        raise JobError(f"job {name!r}: command is required")
    retries = data.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise JobError(f"job {name!r}: retries must be a whole number, zero or more")
    parents = data.get("parents", [])
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise JobError(f"job {name!r}: parents must be a list of job names")
    if name in parents:
        raise JobError(f"job {name!r} cannot be its own parent")
    env = data.get("env", {})
    if not isinstance(env, Mapping) or not all(isinstance(k, str) for k in env):
        raise JobError(f"job {name!r}: env must be an object of variable names to values")
    schedule, epsilon = _text(data, "schedule"), _text(data, "epsilon") or DEFAULT_EPSILON
    if schedule and parents:
        raise JobError(f"job {name!r}: give a schedule or parents, not both")
    try:
        if schedule:
            parse_schedule(schedule, 0.0)
        if parse_duration(epsilon).months:
            raise JobError(f"job {name!r}: epsilon must not be in months or years")
    except ScheduleError as exc:
        raise JobError(f"job {name!r}: {exc}") from None
    return Job(name=name, command=command, cpus=_number(data, "cpus", 0.1, True),
               mem=_number(data, "mem", 32.0, True), disk=_number(data, "disk", 0.0, False),
               retries=retries, parents=tuple(dict.fromkeys(parents)), schedule=schedule,
               epsilon=epsilon,
               env={str(k): v if isinstance(v, str) else str(v) for k, v in env.items()},
               disabled=_flag(data, "disabled"), owner=_text(data, "owner"),
               concurrent=_flag(data, "concurrent"), description=_text(data, "description"))


def parse_jobs(data: Any) -> list[Job]:
    """A JSON list of jobs (or one job object); names must not repeat."""
    items = data if isinstance(data, list) else [data]
    jobs = [parse_job(item) for item in items]
    seen: set[str] = set()
    for job in jobs:
        if job.name in seen:
            raise JobError(f"job {job.name!r} is given twice")
        seen.add(job.name)
    return jobs


def check_graph(jobs: Mapping[str, Job]) -> None:
    """Every parent is a known job and no job depends on itself through others."""
    for job in jobs.values():
        missing = [p for p in job.parents if p not in jobs]
        if missing:
            raise JobError(f"job {job.name!r}: unknown parent(s) {', '.join(missing)}")
    done: set[str] = set()
    for start in jobs:
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:  # iterative depth-first search over parents, so deep chains are fine
            name, i = stack.pop()
            if i == 0:
                if name in done:
                    continue
                if name in on_path:
                    cycle = [*path[path.index(name):], name]
                    raise JobError("jobs form a cycle: " + " -> ".join(reversed(cycle)))
                path.append(name)
                on_path.add(name)
            parents = jobs[name].parents
            if i < len(parents):
                stack.append((name, i + 1))
                stack.append((parents[i], 0))
            else:
                path.pop()
                on_path.discard(name)
                done.add(name)
