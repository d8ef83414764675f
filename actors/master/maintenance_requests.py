"""Maintenance requests: Mesos' JSON parsed, and Mesos' checks on it (pure).

``maintenance_handlers`` calls these on the body of ``/maintenance/schedule``,
``/machine/down`` and ``/machine/up`` before anything is written (after Mesos'
``maintenance::validation`` in ``src/master/maintenance.cpp``):

- ``parse_schedule`` / ``parse_machine_ids``: ``ValueError`` with the reason; hostnames are
  lower-cased (Mesos: "the hostname is not case-sensitive");
- ``validate_schedule``: each window has machines and no negative duration, a machine has a
  hostname or a valid IPv4 ip and appears once in the schedule, a DOWN machine stays in it;
- ``validate_machines`` / ``validate_down`` / ``validate_up``: a list is not empty and lists
  a machine once; only scheduled DRAINING machines go down, only DOWN ones come up.

The ``validate_*`` functions return the reason, or ``None`` when the request is valid.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from actors.messages.maintenance import (
    MachineID,
    MachineInfo,
    MachineMode,
    Schedule,
    Unavailability,
    Window,
)
from actors.messages.v1json import from_v1
from transport.http import parse_json

if TYPE_CHECKING:
    from actors.master.maintenance import MaintenanceBook

__all__ = [
    "parse_machine_ids",
    "parse_schedule",
    "validate_down",
    "validate_machines",
    "validate_schedule",
    "validate_up",
]

def _normal(machine_id: MachineID) -> MachineID:
    return replace(machine_id, hostname=machine_id.hostname.lower())


def _json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except ValueError as exc:
        raise ValueError(f"Failed to parse the request body as JSON: {exc}") from None


def parse_schedule(body: bytes) -> Schedule:
    """A ``maintenance::Schedule`` from Mesos' JSON (hostnames lower-cased)."""
    data = _json(body)
    try:
        schedule = from_v1(Schedule, data)
    except ValueError as exc:
        raise ValueError(f"Failed to convert JSON into a Schedule: {exc}") from None
    return Schedule(windows=tuple(
        Window(machine_ids=tuple(_normal(m) for m in w.machine_ids),
               unavailability=w.unavailability) for w in schedule.windows))


def parse_machine_ids(body: bytes) -> tuple[MachineID, ...]:
    """A JSON list of ``MachineID`` (hostnames lower-cased)."""
    data = _json(body)
    if not isinstance(data, list):
        raise ValueError("Expecting a JSON list of machines")
    try:
        return tuple(_normal(from_v1(MachineID, m)) for m in data)
    except ValueError as exc:
        raise ValueError(f"Failed to convert JSON into a MachineID: {exc}") from None


def _machine_problem(machine_id: MachineID) -> str | None:
    if not machine_id.hostname and not machine_id.ip:
        return "Both 'hostname' and 'ip' for a machine are empty"
    if machine_id.ip:
        try:
            ipaddress.IPv4Address(machine_id.ip)
        except ValueError:
            return f"Invalid IP address '{machine_id.ip}' of machine '{machine_id}'"
    return None


def _unavailability_problem(unavailability: Unavailability) -> str | None:
    if unavailability.duration is not None and unavailability.duration < 0:
        return "Unavailability 'duration' is negative"
    return None


def validate_schedule(schedule: Schedule, machines: dict[MachineID, MachineInfo]) -> str | None:
    """Why Mesos would refuse ``schedule`` given the current machines; ``None``: valid."""
    seen: set[MachineID] = set()
    for window in schedule.windows:
        if not window.machine_ids:
            return "List of machines in the maintenance window is empty"
        problem = _unavailability_problem(window.unavailability)
        if problem is not None:
            return problem
        for machine_id in window.machine_ids:
            problem = _machine_problem(machine_id)
            if problem is not None:
                return problem
            if machine_id in seen:
                return f"Machine '{machine_id}' appears more than once in the schedule"
            seen.add(machine_id)
    for machine_id, info in machines.items():
        if info.mode is MachineMode.DOWN and machine_id not in seen:
            return f"Machine '{machine_id}' is deactivated and cannot be removed from the schedule"
    return None


def validate_machines(ids: tuple[MachineID, ...]) -> str | None:
    """A list of machines for ``/machine/down`` or ``/machine/up``: not empty, each valid
    and listed once."""
    if not ids:
        return "List of machines is empty"
    seen: set[MachineID] = set()
    for machine_id in ids:
        problem = _machine_problem(machine_id)
        if problem is not None:
            return problem
        if machine_id in seen:
            return f"Machine '{machine_id}' appears more than once in the list"
        seen.add(machine_id)
    return None


def validate_down(ids: tuple[MachineID, ...], book: MaintenanceBook) -> str | None:
    return _validate_move(ids, book, MachineMode.DRAINING, "down")


def validate_up(ids: tuple[MachineID, ...], book: MaintenanceBook) -> str | None:
    return _validate_move(ids, book, MachineMode.DOWN, "up")


def _validate_move(ids: tuple[MachineID, ...], book: MaintenanceBook, mode: MachineMode,
                   direction: str) -> str | None:
    """Why the scheduled machines ``ids``, all in ``mode``, cannot be brought ``direction``."""
    problem = validate_machines(ids)
    if problem is not None:
        return problem
    for machine_id in ids:
        if machine_id not in book.machines:
            return f"Machine '{machine_id}' is not part of a maintenance schedule"
        if book.mode(machine_id) is not mode:
            return (f"Machine '{machine_id}' is not in {mode.name} mode and cannot be "
                    f"brought {direction}")
    return None
