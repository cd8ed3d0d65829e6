"""The working-day calendar: weekends off, official holidays off, 调休 make-up days on, and a county's
own days off. Pure: callers pass the days that differ from the weekly default."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from shared.errors import ValidationFailed


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # official public holiday 法定节假日 (may fall on a weekend)
    MAKEUP_WORKDAY = "makeup_workday"  # 调休上班: a weekend day worked in exchange
    LOCAL_DAY_OFF = "local_day_off"  # a county's own day off


class Source(StrEnum):
    OFFICIAL = "official"
    LOCAL = "local"


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: DayKind
    name: str
    source: Source


def is_working_day(day: date, special_days: Mapping[date, DayKind]) -> bool:
    kind = special_days.get(day)
    if kind is DayKind.MAKEUP_WORKDAY:
        return True
    if kind in (DayKind.HOLIDAY, DayKind.LOCAL_DAY_OFF):
        return False
    return day.weekday() < 5


OFFICIAL_KINDS = frozenset({DayKind.HOLIDAY, DayKind.MAKEUP_WORKDAY})  # the State Council's schedule
MAX_RANGE_DAYS = 31  # 春节 and 国庆 take 7 to 9 days; a month is the most a notice puts in one stretch


def check_entry(day: date, kind: DayKind) -> None:
    """调休上班 makes a weekend day a working day, so it falls on a Saturday or a Sunday; a holiday may fall
    on any day (元旦 on a Saturday is still 元旦), and so may a county's own day off."""
    if kind is DayKind.MAKEUP_WORKDAY and day.weekday() < 5:
        raise ValidationFailed(f"{day.isoformat()} is a weekday: a makeup working day (调休上班) is a Saturday "
                               "or a Sunday worked in exchange for a holiday",
                               [{"field": "day", "message": "must be a Saturday or a Sunday", "day": day.isoformat()}],
                               code="makeup_day_not_weekend")


def days_from_to(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included: in one year, at most MAX_RANGE_DAYS days."""
    if last < first:
        raise ValidationFailed("to_day is before from_day",
                               [{"field": "to_day", "message": "must not be before from_day"}],
                               code="calendar_range_invalid")
    if last.year != first.year:
        raise ValidationFailed("a range of days stays within one year: enter each year's days separately",
                               [{"field": "to_day", "message": "must be in the same year as from_day"}],
                               code="calendar_range_invalid")
    count = (last - first).days + 1
    if count > MAX_RANGE_DAYS:
        raise ValidationFailed(f"a range is at most {MAX_RANGE_DAYS} days, this one has {count}",
                               [{"field": "to_day", "message": f"at most {MAX_RANGE_DAYS} days from from_day"}],
                               code="calendar_range_invalid")
    return [first + timedelta(days=n) for n in range(count)]


PUBLISHED_FROM_MONTH = 11  # the State Council's holiday notice for next year usually comes out in November


def next_year_missing(today: date, loaded_years: Iterable[int]) -> bool:
    """True when next year's official calendar is not loaded: from then on deadlines would silently
    treat holidays as working days, so ops and admins must be told. A year is loaded when it came whole
    from the official data, or when the county said its schedule is complete: a few hand-entered days
    (元旦 alone, without 春节) are not a year."""
    return today.year + 1 not in set(loaded_years)


def this_year_missing(today: date, loaded_years: Iterable[int]) -> bool:
    """True when the year already under way is not loaded (nobody completed it in time): deadlines are
    counting its holidays as working days now."""
    return today.year not in set(loaded_years)


def days_until_next_year(today: date) -> int:
    """Days left before next year's first day (1 on 31 December)."""
    return (date(today.year + 1, 1, 1) - today).days


def next_year_due(today: date) -> bool:
    """Whether next year's calendar is expected by now: from November, when the State Council usually
    publishes it, to New Year. Before then a missing next year is normal and nobody is warned."""
    return today.month >= PUBLISHED_FROM_MONTH


def official_days_from_library(years: Iterable[int] | None = None) -> list[CalendarDay]:
    """The State Council's holidays and make-up days as packaged by `chinesecalendar`."""
    import chinese_calendar
    from chinese_calendar.constants import Holiday

    chinese_name = {h.value: h.chinese for h in Holiday}
    wanted = set(years) if years is not None else None
    days = [
        CalendarDay(d, DayKind.HOLIDAY, chinese_name.get(name, name), Source.OFFICIAL)
        for d, name in chinese_calendar.holidays.items()
    ] + [
        CalendarDay(d, DayKind.MAKEUP_WORKDAY, f"{chinese_name.get(name, name)}调休", Source.OFFICIAL)
        for d, name in chinese_calendar.workdays.items()
    ]
    return sorted((d for d in days if wanted is None or d.day.year in wanted), key=lambda d: d.day)
