"""Each county's working-day calendar: the days that differ from the weekly default, and the years whose
official schedule is complete."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select

from services.directory.adapters import orm
from services.directory.adapters.repositories.records import Records
from services.directory.domain.calendar import DayKind, Source


def _in_year(year: int) -> list:
    return [orm.CalendarEntry.day >= date(year, 1, 1), orm.CalendarEntry.day <= date(year, 12, 31)]


class CalendarDays(Records[orm.CalendarEntry]):
    """The marked days, by county and day."""

    model = orm.CalendarEntry

    def enter(self, row: orm.CalendarEntry) -> None:
        """A newly marked day, written with the rest of the transaction (a whole year's official days are
        entered at once)."""
        self.session.add(row)

    def remove(self, row: orm.CalendarEntry) -> None:
        """The day goes back to the weekly default."""
        self.session.delete(row)

    def days_of(self, county_code: str) -> set[date]:
        """Every day a county has marked."""
        query = select(orm.CalendarEntry.day).where(orm.CalendarEntry.county_code == county_code)
        return set(self.session.execute(query).scalars())

    def entered(self, county_code: str, days: Collection[date]) -> dict[date, orm.CalendarEntry]:
        """Those of `days` a county has marked, by day."""
        query = select(orm.CalendarEntry).where(orm.CalendarEntry.county_code == county_code,
                                                orm.CalendarEntry.day.in_(days))
        return {row.day: row for row in self.session.execute(query).scalars()}

    def of_year(self, county_code: str, year: int) -> list[orm.CalendarEntry]:
        """A county's marked days of one year, in order."""
        query = select(orm.CalendarEntry).where(orm.CalendarEntry.county_code == county_code, *_in_year(year))
        return list(self.session.execute(query.order_by(orm.CalendarEntry.day)).scalars())

    def has_official_holiday(self, county_code: str, year: int) -> bool:
        """Whether any official holiday of the year is entered (a State Council notice, or part of one)."""
        query = select(orm.CalendarEntry.day).where(orm.CalendarEntry.county_code == county_code,
                                                    orm.CalendarEntry.source == Source.OFFICIAL.value,
                                                    orm.CalendarEntry.kind == DayKind.HOLIDAY.value, *_in_year(year))
        return self.session.execute(query).first() is not None

    def official_days(self, county_code: str) -> list[date]:
        """Every official day (holiday or 调休) a county has, in no particular order."""
        query = select(orm.CalendarEntry.day).where(orm.CalendarEntry.county_code == county_code,
                                                    orm.CalendarEntry.source == Source.OFFICIAL.value)
        return list(self.session.execute(query).scalars())

    def every_day(self) -> list[orm.CalendarEntry]:
        """Every county's marked days, county by county, in order."""
        query = select(orm.CalendarEntry).order_by(orm.CalendarEntry.county_code, orm.CalendarEntry.day)
        return list(self.session.execute(query).scalars())


class CalendarYears(Records[orm.CalendarYear]):
    """The years whose official schedule is complete, by county and year."""

    model = orm.CalendarYear

    def of_county(self, county_code: str) -> list[orm.CalendarYear]:
        """A county's complete years, in order."""
        query = select(orm.CalendarYear).where(orm.CalendarYear.county_code == county_code)
        return list(self.session.execute(query.order_by(orm.CalendarYear.year)).scalars())

    def years_of(self, county_code: str) -> list[int]:
        """A county's complete years, in order."""
        query = select(orm.CalendarYear.year).where(orm.CalendarYear.county_code == county_code)
        return sorted(self.session.execute(query).scalars())
