"""The working-day calendar of each county: the official holidays and 调休 days, loaded from the official
data or entered by a county admin from the State Council's notice, the county's own days off, and the years
confirmed complete that running deadlines count on."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from services.directory.adapters import orm
from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.domain import calendar as cal
from services.directory.domain.rules import Record, require_manage, require_staff
from services.directory.service_layer.common import get_record, publish, snapshot
from services.directory.service_layer.tree import county_acted_on
from shared.contracts import directory as c
from shared.contracts.caller import Caller
from shared.errors import Conflict


def _day_public(row: orm.CalendarEntry) -> c.CalendarDayPublic:
    kind = cal.DayKind(row.kind)
    return c.CalendarDayPublic(day=row.day, kind=c.CalendarDayKind(row.kind), name=row.name, source=row.source,
                               working=cal.is_working_day(row.day, {row.day: kind}))


def calendar_event(uow: DirectoryUnitOfWork, county_code: str, day: date, row: orm.CalendarEntry | None,
                   now: datetime) -> None:
    """Announce a day as it is now (None: back to the weekly default)."""
    event = c.CalendarChanged(county_code=county_code, day=day, kind=row.kind if row else None,
                              name=row.name if row else None, source=row.source if row else None)
    publish(uow, "calendar_changed", event, None, now)


def seed_official_calendar(uow: DirectoryUnitOfWork, *, county_code: str, days: Sequence[cal.CalendarDay],
                           now: datetime) -> int:
    """Load the library's official days that the county does not have yet; never overwrite an edit."""
    county = get_record(uow.counties, county_code, Record.COUNTY)
    have = uow.calendar.days_of(county.code)
    added = 0
    for day in days:
        if day.day in have:
            continue
        row = orm.CalendarEntry(county_code=county.code, day=day.day, kind=day.kind.value, name=day.name,
                                source=day.source.value, updated_at=now)
        uow.calendar.enter(row)
        calendar_event(uow, county.code, day.day, row, now)
        added += 1
    for year in sorted({d.day.year for d in days}):  # the official data carries whole years
        _complete_year(uow, county.code, year, basis="official_data", by="chinesecalendar", staff_id=None, now=now)
    uow.commit()
    return added


def _confirmed_if_complete(uow: DirectoryUnitOfWork, county_code: str, year: int, changes_official: bool,
                           confirmed: bool) -> None:
    """A year confirmed complete is the schedule running deadlines count on: changing its official days
    (a holiday or 调休 set, replaced or cleared) moves them, so it is done only when asked for on purpose.
    A county's own day off is its own decision and never part of what was confirmed."""
    if confirmed or not changes_official:
        return
    if uow.calendar_years.get((county_code, year)) is not None:
        raise Conflict(f"{year}'s calendar is confirmed complete and changing it moves the deadlines of running "
                       "cases: send confirm_complete_year=true to change it anyway",
                       {"year": year}, code="calendar_year_complete")


def _official(kind: str | None) -> bool:
    return kind is not None and cal.DayKind(kind) in cal.OFFICIAL_KINDS


def _set_day(uow: DirectoryUnitOfWork, county_code: str, day: date, cmd: c.CalendarDayChange,
             now: datetime) -> orm.CalendarEntry:
    row = uow.calendar.get((county_code, day))
    if row is None:
        row = orm.CalendarEntry(county_code=county_code, day=day)
        uow.calendar.enter(row)
    row.kind, row.name, row.source, row.updated_at = cmd.kind.value, cmd.name, cmd.source, now
    calendar_event(uow, county_code, day, row, now)
    return row


def set_calendar_day(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.CalendarDaySet, now: datetime,
                     county_code: str | None = None) -> c.CalendarDayPublic:
    return set_calendar_days(uow, caller=caller, days=[cmd.day], cmd=cmd, now=now, county_code=county_code)[0]


def set_calendar_range(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.CalendarRangeSet, now: datetime,
                       county_code: str | None = None) -> list[c.CalendarDayPublic]:
    """Every day from `from_day` to `to_day` (春节's week) entered alike, in one transaction."""
    require_manage(caller, Record.CALENDAR, None)
    return set_calendar_days(uow, caller=caller, days=cal.days_from_to(cmd.from_day, cmd.to_day), cmd=cmd, now=now,
                             county_code=county_code)


def set_calendar_days(uow: DirectoryUnitOfWork, *, caller: Caller, days: list[date], cmd: c.CalendarDayChange,
                      now: datetime, county_code: str | None = None) -> list[c.CalendarDayPublic]:
    """Enter `days` (of one year) as `cmd` says: each must make sense for its kind (调休 on a weekend), and
    changing a year confirmed complete must be confirmed. All of them or none."""
    require_manage(caller, Record.CALENDAR, None)
    county = county_acted_on(uow, caller, county_code)
    kind = cal.DayKind(cmd.kind.value)
    for day in days:
        cal.check_entry(day, kind)
    before = uow.calendar.entered(county.code, days)
    changes_official = kind in cal.OFFICIAL_KINDS or any(_official(row.kind) for row in before.values())
    _confirmed_if_complete(uow, county.code, days[0].year, changes_official, cmd.confirm_complete_year)
    rows = [_set_day(uow, county.code, day, cmd, now) for day in days]
    uow.commit()
    return [_day_public(row) for row in rows]


def clear_calendar_day(uow: DirectoryUnitOfWork, *, caller: Caller, day: date, confirm_complete_year: bool = False,
                       now: datetime, county_code: str | None = None) -> None:
    require_manage(caller, Record.CALENDAR, None)
    county = county_acted_on(uow, caller, county_code)
    row = get_record(uow.calendar, (county.code, day), Record.CALENDAR)
    _confirmed_if_complete(uow, county.code, day.year, _official(row.kind), confirm_complete_year)
    uow.calendar.remove(row)
    calendar_event(uow, county.code, day, None, now)
    uow.commit()


def calendar_year(uow: DirectoryUnitOfWork, *, caller: Caller, year: int,
                  county_code: str | None = None) -> list[c.CalendarDayPublic]:
    require_staff(caller)
    county = county_acted_on(uow, caller, county_code)
    return [_day_public(r) for r in uow.calendar.of_year(county.code, year)]


def _year_public(row: orm.CalendarYear) -> c.CalendarYearPublic:
    return snapshot(c.CalendarYearPublic, row)


def _complete_year(uow: DirectoryUnitOfWork, county_code: str, year: int, *, basis: str, by: str,
                   staff_id: int | None, now: datetime) -> orm.CalendarYear:
    """Record a year as complete once, and announce it; a year already complete keeps its first record."""
    row = uow.calendar_years.get((county_code, year))
    if row is None:
        row = orm.CalendarYear(county_code=county_code, year=year, basis=basis, completed_at=now, completed_by=by,
                               completed_by_staff_id=staff_id)
        uow.calendar_years.add(row)
        publish(uow, "calendar_year_completed", c.CalendarYearCompleted(**_year_public(row).model_dump()), None,
                now)
    return row


def complete_calendar_year(uow: DirectoryUnitOfWork, *, caller: Caller, year: int, now: datetime,
                           county_code: str | None = None) -> c.CalendarYearPublic:
    """A county admin declares a year's official schedule complete (every holiday and 调休 day of the State
    Council's notice entered): only then does the year count as loaded. Repeating it changes nothing."""
    require_manage(caller, Record.CALENDAR, None)
    county = county_acted_on(uow, caller, county_code)
    if not uow.calendar.has_official_holiday(county.code, year):
        raise Conflict(f"no official holiday of {year} is entered: enter the State Council's notice first",
                       code="calendar_year_empty")
    row = _complete_year(uow, county.code, year, basis="county", by=caller.username or f"staff {caller.staff_id}",
                         staff_id=caller.staff_id, now=now)
    uow.commit()
    return _year_public(row)


def calendar_years(uow: DirectoryUnitOfWork, *, caller: Caller,
                   county_code: str | None = None) -> list[c.CalendarYearPublic]:
    """The loaded years, each with how it was loaded, who said so and when."""
    require_staff(caller)
    county = county_acted_on(uow, caller, county_code)
    return [_year_public(r) for r in uow.calendar_years.of_county(county.code)]


def calendar_status(uow: DirectoryUnitOfWork, *, county_code: str, today: date) -> c.CalendarStatus:
    county = get_record(uow.counties, county_code, Record.COUNTY)
    years = sorted({d.year for d in uow.calendar.official_days(county.code)})
    loaded = uow.calendar_years.years_of(county.code)
    next_year = today.year + 1
    missing, this_missing = cal.next_year_missing(today, loaded), cal.this_year_missing(today, loaded)
    days_left = cal.days_until_next_year(today)
    if this_missing:
        warning = (f"no complete official working-day calendar for {today.year}, which has begun: deadlines count "
                   f"its holidays as working days. {_how_to_load(today.year)}")
    elif missing and cal.next_year_due(today):
        warning = (f"no complete official working-day calendar for {next_year}, which starts in {days_left} "
                   f"day{'s' if days_left != 1 else ''}. {_how_to_load(next_year)}")
    else:
        warning = None
    return c.CalendarStatus(county_code=county.code, today=today, official_years=years, loaded_years=loaded,
                            next_year=next_year, next_year_missing=missing, days_until_next_year=days_left,
                            this_year_missing=this_missing, warning=warning)


def _how_to_load(year: int) -> str:
    return (f"Enter the State Council's holiday notice (PUT /calendar/days/...), then mark the year complete "
            f"(PUT /calendar/years/{year}/complete)")
