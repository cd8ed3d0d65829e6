"""Deadline maths in working days, as Chinese administrative practice counts them.

- A limit of N working days starts counting on the working day after receipt: received on Thursday,
  a 1-day limit ends on Friday; an immediate item (N = 0) ends on the day of receipt.
- Working days follow the official calendar: Monday–Friday, minus public holidays and the county's own
  days off, plus 调休 make-up days (a Saturday worked in exchange).
- 补正: the clock stops on the day the supplement is requested and runs again the day after the
  materials arrive; days in between are not counted whether or not they are working days.
- 延期: an approved extension adds working days to the limit.

Pure: calendars and dates are passed in; nothing here reads a clock or a database.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import ceil

MAX_SPAN_DAYS = 3660  # ten years: a limit that needs more is a data error, not a deadline

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkingCalendar:
    """The days that differ from Monday–Friday work: days off on weekdays and make-up working days."""

    days_off: frozenset[date] = field(default_factory=frozenset)  # holidays and local days off
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)  # 调休上班

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5


@dataclass(frozen=True)
class Pause:
    """补正: from the day the supplement was requested to the day it arrived (None while outstanding)."""

    requested_on: date
    received_on: date | None = None

    def covers(self, day: date) -> bool:
        return self.requested_on <= day and (self.received_on is None or day <= self.received_on)


def counts(calendar: WorkingCalendar, day: date, pauses: Iterable[Pause] = ()) -> bool:
    """Whether `day` uses up one day of a limit."""
    return calendar.is_working_day(day) and not any(p.covers(day) for p in pauses)


def deadline(calendar: WorkingCalendar, received_on: date, limit: int, pauses: Iterable[Pause] = ()) -> date | None:
    """The last day of a limit of `limit` working days from receipt; None while the clock is stopped by a
    supplement that has not arrived and the limit would run past its request."""
    if limit < 0:
        raise ValueError("a limit is a number of working days, 0 or more")
    if limit == 0:
        return received_on
    pauses = tuple(pauses)
    open_pause = next((p for p in pauses if p.received_on is None), None)
    day, used = received_on, 0
    for _ in range(MAX_SPAN_DAYS):
        day += ONE_DAY
        if open_pause is not None and day >= open_pause.requested_on:
            return None
        if counts(calendar, day, pauses):
            used += 1
            if used == limit:
                return day
    raise ValueError(f"no deadline within {MAX_SPAN_DAYS} days: check the calendar")


def working_days_used(calendar: WorkingCalendar, received_on: date, today: date,
                      pauses: Iterable[Pause] = ()) -> int:
    """Counted days from the day after receipt up to and including `today`."""
    pauses = tuple(pauses)
    used, day = 0, received_on + ONE_DAY
    while day <= today:
        used += counts(calendar, day, pauses)
        day += ONE_DAY
    return used


def warning_day(calendar: WorkingCalendar, received_on: date, limit: int, share: float,
                pauses: Iterable[Pause] = ()) -> date | None:
    """The first day on which at least `share` of the limit is used (75% of 10 days: the 8th day)."""
    if not 0 < share <= 1:
        raise ValueError("the warning share is above 0 and at most 1")
    if limit == 0:
        return received_on
    return deadline(calendar, received_on, max(1, ceil(limit * share - 1e-9)), pauses)


def working_days_left(calendar: WorkingCalendar, due: date | None, today: date) -> int | None:
    """Working days left to `due` after today (0: due today); once past it, minus the working days late
    (a day past it that is not a working day still makes it one late)."""
    if due is None:
        return None
    if today <= due:
        return working_days_used(calendar, today, due)
    return -max(1, working_days_used(calendar, due, today))


def is_overdue(last_day: date | None, today: date) -> bool:
    """Overdue from the day after the deadline (the whole last day is still in time)."""
    return last_day is not None and today > last_day
