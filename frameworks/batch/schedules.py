"""Job schedules, parsed and evaluated by pure code (no clock: times are passed in).

Two notations, both in UTC, with times as seconds since the epoch:

- Chronos' ISO 8601 repeating interval ``R[n]/<start>/<period>``, e.g.
  ``R5/2026-12-01T10:00:00Z/PT10S``: ``n`` runs (``R`` or ``R-1`` alone: forever), the
  first at ``start``, then one every ``period``. ``start`` may be empty
  (``R3//PT2S``): the time the job is submitted. Periods are ISO 8601 durations
  ``P[nY][nM][nW][nD][T[nH][nM][nS]]``; years and months are calendar steps.
- A 5-field cron expression ``minute hour day-of-month month day-of-week`` with ``*``,
  ranges (``1-5``), lists (``1,15``) and steps (``*/5``, ``10-30/10``); day of week 0-7
  (0 and 7 are Sunday). As in cron, when both day fields are restricted a day matching
  either one matches.

``parse_schedule(text, now)`` gives a ``Schedule``; ``schedule.slot_at_or_after(t)`` is
the first due time at or after ``t`` (``None`` when the schedule has ended) and
``schedule.slot_after(t)`` the first one strictly after. ``frameworks.batch.core`` uses
them to decide when a job is due; nothing here knows about jobs.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["CronSchedule", "IsoSchedule", "Period", "Schedule", "ScheduleError",
           "format_time", "parse_duration", "parse_schedule", "parse_time"]


class ScheduleError(ValueError):
    """A schedule, duration or time that cannot be parsed; the message says why."""


class Schedule(Protocol):
    """When a job is due."""

    def slot_at_or_after(self, t: float) -> float | None: ...

    def slot_after(self, t: float) -> float | None: ...


# --- ISO 8601 ---------------------------------------------------------------------------

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


@dataclass(frozen=True, slots=True)
class Period:
    """An ISO 8601 duration: whole calendar months plus seconds."""

    months: int = 0
    seconds: float = 0.0

    def times(self, k: int) -> Period:
        return Period(self.months * k, self.seconds * k)

    def add_to(self, t: float) -> float:
        if not self.months:
            return t + self.seconds
        d = datetime.fromtimestamp(t, UTC)
        month = d.month - 1 + self.months
        year, month = d.year + month // 12, month % 12 + 1
        day = min(d.day, calendar.monthrange(year, month)[1])
        return d.replace(year=year, month=month, day=day).timestamp() + self.seconds


def parse_duration(text: str) -> Period:
    """``PT10S``, ``PT1H30M``, ``P1D``, ``P1M``...; raises ``ScheduleError``."""
    m = _DURATION.match(text.strip())
    if m is None or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ScheduleError(f"bad ISO 8601 duration {text!r} (e.g. PT10S, PT1H, P1D)")
    y, mo, w, d, h, mi, s = m.groups()
    months = int(y or 0) * 12 + int(mo or 0)
    seconds = (int(w or 0) * 7 * 86400 + int(d or 0) * 86400 + int(h or 0) * 3600
               + int(mi or 0) * 60 + float(s or 0))
    return Period(months, seconds)


def parse_time(text: str) -> float:
    """An ISO 8601 date-time (``2026-12-01T10:00:00Z``; no zone means UTC)."""
    try:
        d = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ScheduleError(f"bad ISO 8601 time {text!r} (e.g. 2026-12-01T10:00:00Z)") from None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def format_time(t: float | None) -> str | None:
    """``t`` as ``2026-12-01T10:00:00.000Z`` (Chronos' style), or ``None``."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True, slots=True)
class IsoSchedule:
    """``R[n]/start/period``: ``repeats`` slots (``None``: forever) from ``start``."""

    repeats: int | None
    start: float
    period: Period

    def _slot(self, k: int) -> float:
        return self.period.times(k).add_to(self.start)

    def slot_at_or_after(self, t: float) -> float | None:
        k = 0
        if t > self.start and not self.period.months:
            k = max(0, math.ceil((t - self.start) / self.period.seconds) - 1)
        while self.repeats is None or k < self.repeats:
            slot = self._slot(k)
            if slot >= t:
                return slot
            k += 1
        return None

    def slot_after(self, t: float) -> float | None:
        slot = self.slot_at_or_after(t)
        if slot is not None and slot <= t:
            return self.slot_at_or_after(math.nextafter(t, math.inf))
        return slot


def _parse_iso(text: str, now: float) -> IsoSchedule:
    parts = text.split("/")
    if len(parts) != 3 or not parts[0].startswith("R"):
        raise ScheduleError(f"bad schedule {text!r}: expected R[n]/<start>/<period>, "
                            "e.g. R5/2026-12-01T10:00:00Z/PT10S")
    count = parts[0][1:]
    if count in ("", "-1"):
        repeats = None
    elif count.isdigit():
        repeats = int(count)
    else:
        raise ScheduleError(f"bad repetition count {parts[0]!r} in {text!r} (R, R-1 or Rn)")
    period = parse_duration(parts[2])
    if period.months <= 0 and period.seconds <= 0:
        raise ScheduleError(f"schedule {text!r}: the period must be longer than zero")
    start = parse_time(parts[1]) if parts[1].strip() else now
    return IsoSchedule(repeats, start, period)


# --- cron ---------------------------------------------------------------------------------

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))
_HORIZON_DAYS = 366 * 5
"""Slots further away than this count as none (e.g. ``0 0 31 2 *``)."""


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                first, last = low, high
            elif "-" in base:
                a, b = base.split("-", 1)
                first, last = int(a), int(b)
            else:
                first = int(base)
                last = high if step_text else first
        except ValueError:
            raise ScheduleError(f"bad cron {name} field {text!r}") from None
        if step < 1 or not low <= first <= last <= high:
            raise ScheduleError(f"cron {name} field {text!r}: values must be within "
                                f"{low}-{high}, ranges low-high, steps at least 1")
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A 5-field cron expression, in UTC, to the minute."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 is Sunday (7 is folded into 0)."""
    any_day: bool
    any_weekday: bool

    def _day_matches(self, d: datetime) -> bool:
        in_days, in_weekdays = d.day in self.days, (d.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_days and in_weekdays
        return in_days or in_weekdays

    def slot_at_or_after(self, t: float) -> float | None:
        d = datetime.fromtimestamp(math.ceil(t / 60) * 60, UTC)
        end = d + timedelta(days=_HORIZON_DAYS)
        while d < end:
            if d.month not in self.months:
                d = (d.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(d):
                d = d.replace(hour=0, minute=0) + timedelta(days=1)
            elif d.hour not in self.hours:
                d = d.replace(minute=0) + timedelta(hours=1)
            elif d.minute not in self.minutes:
                d += timedelta(minutes=1)
            else:
                return d.timestamp()
        return None

    def slot_after(self, t: float) -> float | None:
        return self.slot_at_or_after(math.floor(t / 60) * 60 + 60)


def _parse_cron(text: str) -> CronSchedule:
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"bad cron expression {text!r}: expected 5 fields "
                            "(minute hour day-of-month month day-of-week)")
    parsed = [_parse_field(f, name, lo, hi)
              for f, (name, lo, hi) in zip(fields, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in parsed[4])
    return CronSchedule(parsed[0], parsed[1], parsed[2], parsed[3], weekdays,
                        any_day=fields[2] == "*", any_weekday=fields[4] == "*")


def parse_schedule(text: str, now: float) -> Schedule:
    """``R.../...`` (ISO 8601; any text without spaces) or a 5-field cron expression;
    ``now`` fills an empty start."""
    text = text.strip()
    iso = text.startswith("R") or not any(c.isspace() for c in text)
    schedule: Schedule = _parse_iso(text, now) if iso else _parse_cron(text)
    return schedule
