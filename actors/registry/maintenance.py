"""Maintenance in the registry: the machine-mode state machine and its three operations.

After Mesos' ``src/master/maintenance.cpp``: ``UpdateSchedule`` replaces the schedule
(every machine in it is DRAINING unless it already was DRAINING or DOWN, machines left
out are forgotten: UP), ``StartMaintenance`` takes DRAINING machines DOWN, and
``StopMaintenance`` brings DOWN machines UP (out of the schedule and out of the machine
list). The transitions are the pure functions below, used by the operations here and by
the master for its books (``actors.master.maintenance``), so both always agree. The
master validates a request before asking (a refused operation is a bug or a race).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from actors.messages.maintenance import MachineID, MachineInfo, MachineMode, Schedule, Window
from actors.registry.model import Registry
from actors.registry.storage import OperationRefused

__all__ = [
    "TRANSITIONS",
    "StartMaintenance",
    "StopMaintenance",
    "UpdateSchedule",
    "machines_down",
    "machines_up",
    "schedule_machines",
]

TRANSITIONS: frozenset[tuple[MachineMode, MachineMode]] = frozenset({
    (MachineMode.UP, MachineMode.DRAINING),     # scheduled
    (MachineMode.DRAINING, MachineMode.UP),     # taken out of the schedule
    (MachineMode.DRAINING, MachineMode.DOWN),   # /machine/down
    (MachineMode.DOWN, MachineMode.UP),         # /machine/up
})
"""The legal moves of a machine's mode; a machine not listed anywhere is UP."""

Machines = Mapping[MachineID, MachineInfo]


def _mode(machines: Machines, machine_id: MachineID) -> MachineMode:
    info = machines.get(machine_id)
    return MachineMode.UP if info is None else info.mode


def _check(old: MachineMode, new: MachineMode, machine_id: MachineID,
           *, only_from: MachineMode | None = None) -> None:
    """Refuse an illegal move, or one this operation does not make (``only_from``)."""
    legal = old == new or (old, new) in TRANSITIONS
    if not legal or (only_from is not None and old is not only_from):
        raise OperationRefused(f"machine {machine_id} cannot go from {old.name} to {new.name}"
                               + ("" if only_from is None else " here"))


def schedule_machines(machines: Machines, schedule: Schedule) -> dict[MachineID, MachineInfo]:
    """The machines after ``schedule`` replaces the old one: each scheduled machine keeps
    its mode (an UP one becomes DRAINING) and takes its window's unavailability; the
    others are UP (no entry). ``OperationRefused`` if a DOWN machine would be dropped."""
    out: dict[MachineID, MachineInfo] = {}
    for window in schedule.windows:
        for machine_id in window.machine_ids:
            old = _mode(machines, machine_id)
            new = MachineMode.DRAINING if old is MachineMode.UP else old
            _check(old, new, machine_id)
            out[machine_id] = MachineInfo(id=machine_id, mode=new,
                                          unavailability=window.unavailability)
    for machine_id, info in machines.items():
        if machine_id not in out:
            _check(info.mode, MachineMode.UP, machine_id, only_from=MachineMode.DRAINING)
    return out


def machines_down(machines: Machines, ids: Iterable[MachineID]) -> dict[MachineID, MachineInfo]:
    """The machines after ``ids`` (DRAINING) go DOWN."""
    out = dict(machines)
    for machine_id in ids:
        _check(_mode(machines, machine_id), MachineMode.DOWN, machine_id,
               only_from=MachineMode.DRAINING)
        out[machine_id] = dataclasses.replace(out[machine_id], mode=MachineMode.DOWN)
    return out


def machines_up(machines: Machines, schedule: Schedule, ids: Iterable[MachineID]
                ) -> tuple[dict[MachineID, MachineInfo], Schedule]:
    """The machines and schedule after ``ids`` (DOWN) come UP: out of both (a window left
    with no machine is dropped)."""
    gone = set(ids)
    for machine_id in gone:
        _check(_mode(machines, machine_id), MachineMode.UP, machine_id,
               only_from=MachineMode.DOWN)
    windows = []
    for window in schedule.windows:
        kept = tuple(m for m in window.machine_ids if m not in gone)
        if kept:
            windows.append(Window(machine_ids=kept, unavailability=window.unavailability))
    return ({m: info for m, info in machines.items() if m not in gone},
            Schedule(windows=tuple(windows)))


def _machines(registry: Registry) -> dict[MachineID, MachineInfo]:
    return {info.id: info for info in registry.machines}


@dataclasses.dataclass(frozen=True, slots=True)
class UpdateSchedule:
    """Replace the maintenance schedule (``/maintenance/schedule``)."""

    schedule: Schedule

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        machines = schedule_machines(_machines(registry), self.schedule)
        new = dataclasses.replace(registry, schedule=self.schedule,
                                  machines=tuple(machines.values()))
        return new, new != registry


@dataclasses.dataclass(frozen=True, slots=True)
class StartMaintenance:
    """DRAINING machines go DOWN (``/machine/down``)."""

    machine_ids: tuple[MachineID, ...]

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        machines = machines_down(_machines(registry), self.machine_ids)
        return dataclasses.replace(registry, machines=tuple(machines.values())), True


@dataclasses.dataclass(frozen=True, slots=True)
class StopMaintenance:
    """DOWN machines come UP, out of the schedule (``/machine/up``)."""

    machine_ids: tuple[MachineID, ...]

    def apply(self, registry: Registry) -> tuple[Registry, bool]:
        machines, schedule = machines_up(_machines(registry), registry.schedule,
                                         self.machine_ids)
        return dataclasses.replace(registry, machines=tuple(machines.values()),
                                   schedule=schedule), True
