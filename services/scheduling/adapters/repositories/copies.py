"""What scheduling keeps of the directory: market sites, staff, villages and each county's calendar. Read
here, written by the directory's events (shared/copies.py and the unit of work's upserts)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from services.scheduling.adapters import orm
from shared.db import Repository


class MarketSites(Repository):
    """The market sites 集市 the directory keeps, with their rule of market days and opening hours."""

    def get(self, code: str) -> orm.MarketSiteCopy | None:
        return self.session.get(orm.MarketSiteCopy, code)

    def of_township(self, township_code: str) -> list[orm.MarketSiteCopy]:
        """A township's market sites, by code."""
        site = orm.MarketSiteCopy
        return list(self.session.execute(select(site).where(site.township_code == township_code)
                                          .order_by(site.code)).scalars())


class Staff(Repository):
    """Who the staff are (township, role, active): read fresh in the transaction, not from the process's
    copy cache, since a roster is checked against what the directory says now."""

    def get(self, staff_id: int) -> orm.StaffCopy | None:
        return self.session.get(orm.StaffCopy, staff_id)


class Villages(Repository):
    def get(self, code: str) -> orm.VillageCopy | None:
        return self.session.get(orm.VillageCopy, code)

    def townships(self) -> set[str]:
        """Every township that has a village: the townships a gauge reads 0 for, rather than nothing."""
        return set(self.session.execute(select(orm.VillageCopy.township_code).distinct()).scalars())


class Calendar(Repository):
    """Each county's calendar of days off (holidays, local days off) and 调休 workdays."""

    def days_off(self, county_code: str) -> set[date]:
        """The county's days off: no market-day post opens and no series visit falls on one."""
        day = orm.CalendarDayCopy
        return set(self.session.execute(select(day.day).where(day.county_code == county_code,
                                                              day.kind != "makeup_workday")).scalars())
