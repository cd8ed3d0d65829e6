"""What notifications keeps of other services to name things in its messages and to know whom to tell:
the applications, complaints and bookings it follows, the directory's stations, market sites, staff and
villages. Kept from their events (a later version, or the last writer, wins)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.notifications.adapters import orm
from shared.contracts.caller import Role
from shared.db import Repository


class Applications(Repository):
    """Applications whose applicants are told things: item, receipt number, station."""

    def get(self, application_id: str) -> orm.ApplicationRow | None:
        return self.session.get(orm.ApplicationRow, application_id)

    def by_receipt_no(self, receipt_no: str) -> orm.ApplicationRow | None:
        a = orm.ApplicationRow
        return self.session.execute(select(a).where(a.receipt_no == receipt_no)).scalar_one_or_none()

    def keep(self, application_id: str, values: dict[str, Any]) -> None:
        self.uow.put(orm.ApplicationRow, application_id, values)


class Complaints(Repository):
    """Complaints whose complainants may be told things."""

    def by_receipt_no(self, receipt_no: str) -> orm.ComplaintRow | None:
        r = orm.ComplaintRow
        return self.session.execute(select(r).where(r.receipt_no == receipt_no)).scalar_one_or_none()

    def keep(self, complaint_id: str, values: dict[str, Any]) -> None:
        self.uow.put(orm.ComplaintRow, complaint_id, values)


class Bookings(Repository):
    """Villagers' booked places: confirmed, reminded the day before, told if called off."""

    def get(self, booking_id: str) -> orm.BookingRow | None:
        return self.session.get(orm.BookingRow, booking_id)

    def keep(self, booking_id: str, values: dict[str, Any]) -> None:
        self.uow.put(orm.BookingRow, booking_id, values)

    def to_remind(self, start: datetime, end: datetime, limit: int) -> list[orm.BookingRow]:
        """Places still booked from `start` until before `end` whose villager was not reminded yet, soonest
        first, at most `limit`."""
        b = orm.BookingRow
        return list(self.session.execute(select(b).where(b.reminded.is_(False), b.status == "booked",
                                                         b.starts_at >= start, b.starts_at < end)
                                         .order_by(b.starts_at).limit(limit)).scalars())


class Stations(Repository):
    """The directory's stations by name."""

    def get(self, code: str) -> orm.StationRow | None:
        return self.session.get(orm.StationRow, code)

    def keep(self, code: str, values: dict[str, Any]) -> None:
        self.uow.keep_newest(orm.StationRow, code, values)


class MarketSites(Repository):
    """The directory's market sites by name."""

    def get(self, code: str) -> orm.MarketSiteRow | None:
        return self.session.get(orm.MarketSiteRow, code)

    def keep(self, code: str, values: dict[str, Any]) -> None:
        self.uow.keep_newest(orm.MarketSiteRow, code, values)


class Staff(Repository):
    """The directory's staff as copied here: who may act where."""

    def holding(self, township_code: str, roles: list[str], *, step_level: str,
                station_code: str | None = None) -> list[int]:
        """The active staff, by id, holding one of `roles` at a review step of the township: at a village
        step only those of the application's station, at a county step the county's own staff too."""
        s = orm.StaffCopy
        where = s.township_code == township_code
        if step_level == "village":
            where = where & (s.station_code == station_code)
        elif step_level == "county":
            where = where | s.township_code.is_(None)
        return list(self.session.execute(select(s.id).where(where, s.role.in_(roles), s.active.is_(True))
                                         .order_by(s.id)).scalars())

    def supervisors_of(self, township_code: str) -> list[int]:
        """The township's active supervisors, by id."""
        s = orm.StaffCopy
        return list(self.session.execute(select(s.id).where(s.township_code == township_code,
                                                            s.role == Role.SUPERVISOR.value, s.active.is_(True))
                                         .order_by(s.id)).scalars())


class Villages(Repository):
    """The directory's villages by name."""

    def get(self, code: str) -> orm.VillageCopy | None:
        return self.session.get(orm.VillageCopy, code)
