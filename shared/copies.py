"""Read-model tables that several services keep of another's data, written once: the directory's
working-day calendar and villages, scheduling's sessions and visits. A service's ORM declares
`class CalendarDayCopy(CalendarDayColumns, Base)` with its own table name; the helpers below read and
write any such table, and the `Keeps…` mixins give a nameko service the event handlers that fill them."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Boolean, Date, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.contracts.envelope import EventEnvelope
from shared.db import UnitOfWork
from shared.errors import ValidationFailed
from shared.messaging import on_event
from shared.working_days import WorkingCalendar


class CalendarDayColumns:
    """A day that is not an ordinary Monday–Friday working day (holiday, local day off, 调休 workday)."""

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)


class StaffColumns:
    """Who a staff member is, as far as other services need: township, station, role, active."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_code: Mapped[str | None] = mapped_column(String(9))
    station_code: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(24), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class VillageColumns:
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class StationColumns:
    """A station 服务站 and its township, so that a record naming one is checked against the township."""

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class OccasionColumns:
    """Scheduling's market-day sessions and visits, so that what is received at one can name it."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # session | visit
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)


def working_calendar(uow: UnitOfWork, model: Any, county: str, *, after: date | None = None) -> WorkingCalendar:
    """One county's calendar copy as the deadline rules take it (each county keeps its own days off);
    `after` a day, only the days that follow it (all a limit counted from that day needs, and a few rows
    instead of years of them). Kept by the process like a copy's row (UnitOfWork.copy): every filing counts
    its promised deadline on it, and it changes a few times a year."""

    def read() -> WorkingCalendar:
        query = select(model.day, model.kind).where(model.county_code == county)
        if after is not None:
            query = query.where(model.day > after)
        rows = uow.session.execute(query).all()
        return WorkingCalendar(days_off=frozenset(d for d, kind in rows if kind != "makeup_workday"),
                               makeup_workdays=frozenset(d for d, kind in rows if kind == "makeup_workday"))

    return uow.copies.computed(model, ("calendar", county, after), read)


def keep_calendar_day(uow: UnitOfWork, model: Any, payload: dict[str, Any]) -> bool:
    """Apply the directory's `calendar_changed` event: a day marked, changed, or back to ordinary. False
    when the copy had the day so already (the directory announces its calendar again at every start)."""
    day = date.fromisoformat(payload["day"])
    kind = payload["kind"]
    held = uow.session.execute(select(model.kind).where(model.county_code == payload["county_code"],
                                                        model.day == day)).scalar_one_or_none()
    if held == kind:
        return False
    uow.put(model, (payload["county_code"], day),
            None if kind is None else {"county_code": payload["county_code"], "day": day, "kind": kind})
    return True


def keep_staff(uow: UnitOfWork, model: Any, payload: dict[str, Any]) -> None:
    uow.keep_newest(model, payload["id"], {k: payload[k] for k in (
        "id", "township_code", "station_code", "role", "active", "version")})


def keep_village(uow: UnitOfWork, model: Any, payload: dict[str, Any]) -> None:
    uow.keep_newest(model, payload["code"], {k: payload[k] for k in ("code", "township_code", "name", "version")})


def keep_station(uow: UnitOfWork, model: Any, payload: dict[str, Any]) -> None:
    uow.keep_newest(model, payload["code"], {k: payload[k] for k in ("code", "township_code", "version")})


def keep_occasion(uow: UnitOfWork, model: Any, kind: str, payload: dict[str, Any]) -> None:
    """Apply scheduling's `session_scheduled` or `visit_planned` event."""
    occasion_id = payload["session_id"] if kind == "session" else payload["visit_id"]
    uow.put(model, occasion_id, {"id": occasion_id, "kind": kind, "township_code": payload["township_code"],
                                 "day": date.fromisoformat(payload["day"])})


def check_village(uow: UnitOfWork, model: Any, village_code: str, township: str, *,
                  field: str = "village_code") -> None:
    _check_in_township(uow, model, village_code, township, field=field, noun="village")


def check_station(uow: UnitOfWork, model: Any, station_code: str, township: str, *,
                  field: str = "station_code") -> None:
    _check_in_township(uow, model, station_code, township, field=field, noun="station")


def _check_in_township(uow: UnitOfWork, model: Any, code: str, township: str, *, field: str, noun: str) -> None:
    """A place named by a record must be one of the township's; an unknown one answers the same (no leak)."""
    place = uow.copy(model, code)
    if place is None or place.township_code != township:
        raise ValidationFailed(f"the {noun} is not in this township",
                               [{"field": field, "message": f"not a {noun} of your township"}],
                               code=f"{noun}_outside_township")


def check_staff(uow: UnitOfWork, model: Any, staff_ids: list[int], township: str, *,
                field: str = "staff_ids") -> None:
    """Staff named by a record must be the township's; one that does not exist answers the same (no leak)."""
    for staff_id in staff_ids:
        staff = uow.copy(model, staff_id)
        if staff is None or staff.township_code != township:
            raise ValidationFailed(f"no staff member {staff_id} in this township",
                                   [{"field": field, "message": f"no staff member {staff_id} in your township"}],
                                   code="unknown_staff")


def check_occasion(uow: UnitOfWork, model: Any, township: str, *, session_id: str | None,
                   visit_id: str | None) -> None:
    """A market-day session or a visit named by what was received there must be one of the township's."""
    for kind, ref in (("session", session_id), ("visit", visit_id)):
        if ref is None:
            continue
        occasion = uow.copy(model, ref)
        if occasion is None or occasion.kind != kind or occasion.township_code != township:
            raise ValidationFailed(f"no {kind} {ref} in this township",
                                   [{"field": f"{kind}_id", "message": f"unknown {kind}"}], code=f"unknown_{kind}")


# ---- the event handlers that keep the copies, for services to inherit --------------------------------

class KeepsStaff:
    """The directory's staff, into the service's `staff_copy` table."""

    staff_copy: Any

    @on_event("directory", "staff_changed")
    def on_staff_changed(self, envelope: EventEnvelope) -> None:
        keep_staff(self.db, self.staff_copy, envelope.payload)


class KeepsVillages:
    """The directory's villages, into the service's `village_copy` table."""

    village_copy: Any

    @on_event("directory", "village_changed")
    def on_village_changed(self, envelope: EventEnvelope) -> None:
        keep_village(self.db, self.village_copy, envelope.payload)


class KeepsStations:
    """The directory's stations, into the service's `station_copy` table."""

    station_copy: Any

    @on_event("directory", "station_changed")
    def on_station_changed(self, envelope: EventEnvelope) -> None:
        keep_station(self.db, self.station_copy, envelope.payload)


class KeepsCalendar:
    """The directory's working-day calendar, into the service's `calendar_copy` table."""

    calendar_copy: Any

    @on_event("directory", "calendar_changed")
    def on_calendar_changed(self, envelope: EventEnvelope) -> None:
        keep_calendar_day(self.db, self.calendar_copy, envelope.payload)


class KeepsOccasions:
    """Scheduling's sessions and visits, into the service's `occasion_copy` table."""

    occasion_copy: Any

    @on_event("scheduling", "session_scheduled")
    def on_session_scheduled(self, envelope: EventEnvelope) -> None:
        keep_occasion(self.db, self.occasion_copy, "session", envelope.payload)

    @on_event("scheduling", "visit_planned")
    def on_visit_planned(self, envelope: EventEnvelope) -> None:
        keep_occasion(self.db, self.occasion_copy, "visit", envelope.payload)
