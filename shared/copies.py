"""Read-model tables that several services keep of the directory, written once: the working-day
calendar and the villages. A service's ORM declares `class CalendarDayCopy(CalendarDayColumns, Base)`
with its own table name; the helpers below read and write any such table."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import UnitOfWork
from shared.working_days import WorkingCalendar


class CalendarDayColumns:
    """A day that is not an ordinary Monday–Friday working day (holiday, local day off, 调休 workday)."""

    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)


class VillageColumns:
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


def working_calendar(uow: UnitOfWork, model: Any) -> WorkingCalendar:
    rows = uow.session.execute(select(model.day, model.kind)).all()
    return WorkingCalendar(days_off=frozenset(d for d, kind in rows if kind != "makeup_workday"),
                           makeup_workdays=frozenset(d for d, kind in rows if kind == "makeup_workday"))


def keep_calendar_day(uow: UnitOfWork, model: Any, payload: dict[str, Any]) -> None:
    """Apply the directory's `calendar_changed` event: a day marked, changed, or back to ordinary."""
    day = date.fromisoformat(payload["day"])
    kind = payload["kind"]
    uow.put(model, (payload["county_code"], day),
            None if kind is None else {"county_code": payload["county_code"], "day": day, "kind": kind})


def keep_village(uow: UnitOfWork, model: Any, payload: dict[str, Any]) -> None:
    uow.keep_newest(model, payload["code"], {k: payload[k] for k in ("code", "township_code", "name", "version")})
