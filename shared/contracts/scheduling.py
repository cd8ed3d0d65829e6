"""Scheduling contracts: market-day previews and the public market-day calendar."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from shared.contracts.base import Contract
from shared.contracts.directory import Category
from shared.pii import is_mobile


class DateRange(Contract):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered_and_bounded(self) -> DateRange:
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days > 800:
            raise ValueError("ask for at most 800 days at a time")
        return self


class MarketDays(Contract):
    site_code: str
    site_name: str
    township_code: str
    location: str
    opens_at: str
    closes_at: str
    rule_summary: str
    days: list[date]


# ---- sessions 便民服务岗, rosters, attendance, appointments ---------------------------------------

class SessionGenerate(Contract):
    site_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]
    start: date
    end: date
    services: list[Category] = Field(default_factory=lambda: list(Category), max_length=6)

    @model_validator(mode="after")
    def _bounded(self) -> SessionGenerate:
        if self.end < self.start or (self.end - self.start).days > 400:
            raise ValueError("generate for a period of at most 400 days, end after start")
        return self


class RosterEntryView(Contract):
    staff_id: int
    reason: str | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    attendance: str | None


class SessionView(Contract):
    id: str
    site_code: str
    township_code: str
    day: date
    starts_at: datetime
    ends_at: datetime
    status: str
    services: list[str]
    roster: list[RosterEntryView] = Field(default_factory=list)


class SessionQuery(Contract):
    site_code: str | None = None
    start: date
    end: date
    limit: int = Field(default=100, ge=1, le=500)


class RosterAssign(Contract):
    staff_id: int = Field(ge=1)
    reason: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)] | None = None


class RosterSwap(Contract):
    from_staff_id: int = Field(ge=1)
    to_staff_id: int = Field(ge=1)
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class RosterGenerate(Contract):
    start: date
    end: date
    site_code: str | None = None  # None: every site of the township
    cadre_ids: list[int] = Field(min_length=1, max_length=200)
    per_session: int = Field(default=2, ge=1, le=20)
    max_per_cadre: int = Field(default=31, ge=1, le=400)


class LeaveCreate(Contract):
    staff_id: int = Field(ge=1)
    first_day: date
    last_day: date
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]

    @model_validator(mode="after")
    def _ordered(self) -> LeaveCreate:
        if self.last_day < self.first_day:
            raise ValueError("leave ends before it starts")
        return self


class SlotsCreate(Contract):
    minutes: int = Field(default=30, ge=10, le=240)
    capacity: int = Field(default=5, ge=1, le=500)


class SlotView(Contract):
    id: int
    session_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int


class BookingCreate(Contract):
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True)]
    phone: str
    topic: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)] | None = None

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str) -> str:
        if not is_mobile(value.strip()):
            raise ValueError("not a mainland mobile number (11 digits starting 13–19)")
        return value.strip()


class BookingView(Contract):
    id: str
    slot_id: int
    starts_at: datetime
    status: str
    name: str  # masked unless staff
    phone: str
    topic: str | None


class AttendanceRecorded(Contract):
    """Event when a session ends: one per rostered cadre, attended or no-show (evaluation counts it)."""

    session_id: str
    site_code: str
    township_code: str
    day: date
    staff_id: int
    attendance: Literal["attended", "no_show"]


class SessionReminder(Contract):
    session_id: str
    site_code: str
    township_code: str
    starts_at: datetime
    staff_ids: list[int]
