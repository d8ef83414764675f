"""The batch framework's schedules: ISO 8601 repeating intervals and cron, pure."""

from __future__ import annotations

import pytest

from frameworks.batch.schedules import (
    CronSchedule,
    IsoSchedule,
    Period,
    ScheduleError,
    format_time,
    parse_duration,
    parse_schedule,
    parse_time,
)

T0 = parse_time("2026-12-01T10:00:00Z")


def test_iso_durations_in_seconds_and_calendar_months() -> None:
    assert parse_duration("PT10S") == Period(0, 10)
    assert parse_duration("PT1H30M") == Period(0, 5400)
    assert parse_duration("P1DT2S") == Period(0, 86402)
    assert parse_duration("P2W") == Period(0, 14 * 86400)
    assert parse_duration("P1Y2M") == Period(14, 0)
    assert parse_duration("PT0.5S") == Period(0, 0.5)
    for bad in ("", "P", "PT", "10S", "PT10", "P1DT", "PT-1S"):
        with pytest.raises(ScheduleError):
            parse_duration(bad)


def test_iso_schedule_has_n_slots_one_period_apart() -> None:
    s = parse_schedule("R3/2026-12-01T10:00:00Z/PT10S", now=0)
    assert s == IsoSchedule(3, T0, Period(0, 10))
    assert s.slot_at_or_after(0) == T0
    assert s.slot_at_or_after(T0) == T0
    assert s.slot_after(T0) == T0 + 10
    assert s.slot_at_or_after(T0 + 10.5) == T0 + 20
    assert s.slot_after(T0 + 20) is None  # the third slot was the last


def test_iso_schedule_forever_and_with_an_empty_start() -> None:
    forever = parse_schedule("R/2026-12-01T10:00:00Z/PT1H", now=0)
    assert forever.slot_at_or_after(T0 + 1_000_000 * 3600 + 1) == T0 + 1_000_001 * 3600
    now_start = parse_schedule("R2//PT2S", now=T0 + 5)
    assert now_start.slot_at_or_after(0) == T0 + 5
    assert now_start.slot_after(T0 + 5) == T0 + 7
    assert now_start.slot_after(T0 + 7) is None
    assert parse_schedule("R0/2026-12-01T10:00:00Z/PT1S", 0).slot_at_or_after(0) is None


def test_iso_monthly_period_clamps_to_the_end_of_the_month() -> None:
    s = parse_schedule("R/2026-01-31T00:00:00Z/P1M", now=0)
    first = parse_time("2026-01-31T00:00:00Z")
    assert format_time(s.slot_after(first)) == "2026-02-28T00:00:00.000Z"
    assert format_time(s.slot_at_or_after(parse_time("2026-03-01T00:00:00Z"))) == \
        "2026-03-31T00:00:00.000Z"


@pytest.mark.parametrize("text", [
    "R5/2026-12-01T10:00:00Z", "X5/2026-12-01T10:00:00Z/PT1S", "Rx/2026-12-01T10:00:00Z/PT1S",
    "R5/yesterday/PT1S", "R5/2026-12-01T10:00:00Z/PT0S", "R5/2026-12-01T10:00:00Z/1S"])
def test_bad_iso_schedules_say_why(text: str) -> None:
    with pytest.raises(ScheduleError, match=r"schedule|time|duration|count|period"):
        parse_schedule(text, 0)


def test_cron_steps_ranges_and_lists() -> None:
    s = parse_schedule("*/15 9-17 * * 1-5", now=0)
    assert isinstance(s, CronSchedule)
    assert s.minutes == {0, 15, 30, 45} and s.hours == set(range(9, 18))
    # 2026-12-01 is a Tuesday.
    assert format_time(s.slot_at_or_after(T0 + 1)) == "2026-12-01T10:15:00.000Z"
    assert format_time(s.slot_after(parse_time("2026-12-01T17:45:00Z"))) == \
        "2026-12-02T09:00:00.000Z"
    weekend = parse_time("2026-12-04T18:00:00Z")  # Friday evening -> Monday morning
    assert format_time(s.slot_at_or_after(weekend)) == "2026-12-07T09:00:00.000Z"
    listed = parse_schedule("5,10-20/5 0 1 1,7 *", now=0)
    assert format_time(listed.slot_at_or_after(T0)) == "2027-01-01T00:05:00.000Z"
    assert format_time(listed.slot_after(parse_time("2027-01-01T00:20:00Z"))) == \
        "2027-07-01T00:05:00.000Z"


def test_cron_slots_are_whole_minutes_after_the_given_time() -> None:
    s = parse_schedule("* * * * *", now=0)
    assert s.slot_at_or_after(T0) == T0
    assert s.slot_at_or_after(T0 + 0.1) == T0 + 60
    assert s.slot_after(T0) == T0 + 60
    assert s.slot_after(T0 + 59.9) == T0 + 60


def test_cron_day_fields_match_either_when_both_are_restricted() -> None:
    s = parse_schedule("0 0 15 * 0", now=0)  # the 15th, or any Sunday
    assert format_time(s.slot_at_or_after(T0)) == "2026-12-06T00:00:00.000Z"  # a Sunday
    assert format_time(s.slot_after(parse_time("2026-12-13T00:00:00Z"))) == \
        "2026-12-15T00:00:00.000Z"
    sunday7 = parse_schedule("0 0 * * 7", now=0)
    assert format_time(sunday7.slot_at_or_after(T0)) == "2026-12-06T00:00:00.000Z"


def test_cron_that_never_matches_has_no_slot() -> None:
    assert parse_schedule("0 0 31 2 *", now=0).slot_at_or_after(T0) is None


@pytest.mark.parametrize("text", ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *",
                                  "5-1 * * * *", "a * * * *", "* * 0 * *", "* * * 13 *"])
def test_bad_cron_expressions_say_why(text: str) -> None:
    with pytest.raises(ScheduleError, match="cron"):
        parse_schedule(text, 0)
