"""The master's maintenance decisions, pure: parsing, Mesos' validation, inverse offers."""

from __future__ import annotations

import json

import pytest

from actors.master import maintenance
from actors.master import maintenance_requests as requests
from actors.master.maintenance import MaintenanceBook
from actors.messages.maintenance import (
    MachineID,
    MachineInfo,
    MachineMode,
    Schedule,
    Unavailability,
    Window,
)

A = MachineID(hostname="a", ip="10.0.0.1")


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def window(*machines: dict[str, str], start: int = 10**18, duration: int | None = None
           ) -> dict[str, object]:
    unavailability: dict[str, object] = {"start": {"nanoseconds": start}}
    if duration is not None:
        unavailability["duration"] = {"nanoseconds": duration}
    return {"machine_ids": list(machines), "unavailability": unavailability}


def test_a_schedule_parses_from_mesos_json_with_hostnames_lower_cased() -> None:
    schedule = requests.parse_schedule(body({"windows": [
        window({"hostname": "Machine1", "ip": "10.0.0.1"}, start=5, duration=7)]}))
    assert schedule == Schedule(windows=(Window(
        machine_ids=(MachineID(hostname="machine1", ip="10.0.0.1"),),
        unavailability=Unavailability(start=5, duration=7)),))
    assert maintenance.schedule_json(MaintenanceBook(schedule=schedule)) == {"windows": [
        window({"hostname": "machine1", "ip": "10.0.0.1"}, start=5, duration=7)]}


@pytest.mark.parametrize(("data", "reason"), [
    (b"{", "JSON"),
    ({"windows": [{"machine_ids": [{"hostname": "a"}]}]}, "unavailability"),
    ({"windows": [{"machine_ids": [{"hostname": "a"}],
                   "unavailability": {"start": {"nanoseconds": "soon"}}}]}, "nanoseconds"),
])
def test_unparsable_schedules_name_the_problem(data: object, reason: str) -> None:
    raw = data if isinstance(data, bytes) else body(data)
    with pytest.raises(ValueError, match=reason):
        requests.parse_schedule(raw)


@pytest.mark.parametrize(("windows", "reason"), [
    ([window()], "window is empty"),
    ([window({"hostname": "a"}, duration=-1)], "'duration' is negative"),
    ([window({})], "Both 'hostname' and 'ip'"),
    ([window({"ip": "10.0.0.300"})], "Invalid IP"),
    ([window({"hostname": "a"}), window({"hostname": "A"})], "more than once"),
])
def test_invalid_schedules_are_refused_with_mesos_reasons(windows: list[object],
                                                          reason: str) -> None:
    schedule = requests.parse_schedule(body({"windows": windows}))
    problem = requests.validate_schedule(schedule, {})
    assert problem is not None and reason in problem


def test_a_down_machine_may_not_be_dropped_from_the_schedule() -> None:
    down = {A: MachineInfo(id=A, mode=MachineMode.DOWN)}
    problem = requests.validate_schedule(Schedule(), down)
    assert problem is not None and "cannot be removed from the schedule" in problem
    kept = Schedule(windows=(Window(machine_ids=(A,), unavailability=Unavailability(start=0)),))
    assert requests.validate_schedule(kept, down) is None


def test_machine_lists_for_down_and_up() -> None:
    book = MaintenanceBook(machines={A: MachineInfo(id=A, mode=MachineMode.DRAINING)})
    other = MachineID(hostname="b")
    assert requests.parse_machine_ids(body([{"hostname": "A", "ip": "10.0.0.1"}])) == (A,)
    with pytest.raises(ValueError, match="list"):
        requests.parse_machine_ids(body({"hostname": "a"}))
    assert "empty" in (requests.validate_down((), book) or "")
    assert "more than once" in (requests.validate_down((A, A), book) or "")
    assert "not part of a maintenance schedule" in (requests.validate_down((other,), book)
                                                    or "")
    assert requests.validate_down((A,), book) is None
    assert "not in DOWN mode" in (requests.validate_up((A,), book) or "")
    book.machines[A] = MachineInfo(id=A, mode=MachineMode.DOWN)
    assert requests.validate_up((A,), book) is None
    assert "not in DRAINING mode" in (requests.validate_down((A,), book) or "")
