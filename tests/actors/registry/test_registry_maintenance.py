"""The machine-mode state machine and the maintenance registry operations (pure)."""

from __future__ import annotations

import pytest

from actors.messages.maintenance import (
    MachineID,
    MachineInfo,
    MachineMode,
    Schedule,
    Unavailability,
    Window,
)
from actors.registry import (
    OperationRefused,
    Registry,
    StartMaintenance,
    StopMaintenance,
    UpdateSchedule,
    decode_registry,
    encode_registry,
)
from actors.registry.maintenance import machines_down, machines_up, schedule_machines

A = MachineID(hostname="a", ip="10.0.0.1")
B = MachineID(hostname="b", ip="10.0.0.2")
SOON = Unavailability(start=1_000 * 10**9, duration=3600 * 10**9)
LATER = Unavailability(start=2_000 * 10**9)


def schedule(*windows: tuple[tuple[MachineID, ...], Unavailability]) -> Schedule:
    return Schedule(windows=tuple(Window(machine_ids=ids, unavailability=u)
                                  for ids, u in windows))


def test_scheduled_machines_are_draining_with_their_windows_unavailability() -> None:
    machines = schedule_machines({}, schedule(((A,), SOON), ((B,), LATER)))
    assert machines == {A: MachineInfo(id=A, mode=MachineMode.DRAINING, unavailability=SOON),
                        B: MachineInfo(id=B, mode=MachineMode.DRAINING, unavailability=LATER)}


def test_a_new_schedule_keeps_down_machines_down_and_forgets_the_unlisted() -> None:
    machines = machines_down(schedule_machines({}, schedule(((A, B), SOON))), [A])
    after = schedule_machines(machines, schedule(((A,), LATER)))
    assert after == {A: MachineInfo(id=A, mode=MachineMode.DOWN, unavailability=LATER)}


def test_a_down_machine_cannot_leave_the_schedule() -> None:
    machines = machines_down(schedule_machines({}, schedule(((A,), SOON))), [A])
    with pytest.raises(OperationRefused, match="DOWN to UP"):
        schedule_machines(machines, Schedule())


def test_only_draining_machines_go_down_and_only_down_ones_come_up() -> None:
    machines = schedule_machines({}, schedule(((A,), SOON)))
    with pytest.raises(OperationRefused):
        machines_down(machines, [B])  # UP
    with pytest.raises(OperationRefused, match="DRAINING to UP"):
        machines_up(machines, Schedule(), [A])  # DRAINING -> UP is not /machine/up's


def test_up_takes_the_machine_out_of_the_schedule_and_drops_empty_windows() -> None:
    plan = schedule(((A, B), SOON))
    machines = machines_down(schedule_machines({}, plan), [A, B])
    after, left = machines_up(machines, plan, [A])
    assert set(after) == {B}
    assert left == schedule(((B,), SOON))
    after, left = machines_up(after, left, [B])
    assert after == {} and left == Schedule()


def test_operations_walk_a_machine_through_draining_down_up_and_survive_encoding() -> None:
    plan = schedule(((A,), SOON))
    registry, changed = UpdateSchedule(plan).apply(Registry())
    assert changed and registry.schedule == plan
    assert UpdateSchedule(plan).apply(registry) == (registry, False)
    registry, _ = StartMaintenance((A,)).apply(registry)
    assert registry.machines == (MachineInfo(id=A, mode=MachineMode.DOWN, unavailability=SOON),)
    assert decode_registry(encode_registry(registry)) == registry
    with pytest.raises(OperationRefused):
        StartMaintenance((A,)).apply(registry)  # already DOWN
    registry, _ = StopMaintenance((A,)).apply(registry)
    assert registry.machines == () and registry.schedule == Schedule()
