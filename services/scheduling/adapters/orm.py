"""Scheduling tables: market-day sessions, rosters and attendance, leave, appointment slots and bookings
(personal data encrypted), and read models of the directory's market sites, staff and calendar."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.messaging_tables import UtcDateTime, add_messaging_tables


class Base(DeclarativeBase):
    pass


add_messaging_tables(Base.metadata)


class MarketSiteCopy(Base):
    __tablename__ = "rm_market_sites"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    village_code: Mapped[str | None] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    location: Mapped[str] = mapped_column(Text, nullable=False)
    rule: Mapped[dict] = mapped_column(JSON, nullable=False)
    opens_at: Mapped[str] = mapped_column(String(5), nullable=False)
    closes_at: Mapped[str] = mapped_column(String(5), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (Index("ix_rm_sites_township", "township_code"),)


class Session(Base):
    """便民服务岗: one market day at one site, with the services offered there."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(32), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # scheduled | cancelled
    services: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    attendance_closed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reminded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    __table_args__ = (UniqueConstraint("site_code", "day", name="uq_session_site_day"),
                      Index("ix_sessions_township_day", "township_code", "day"),
                      Index("ix_sessions_to_close", "attendance_closed", "ends_at"),
                      Index("ix_sessions_to_remind", "reminded", "starts_at"))


class RosterEntry(Base):
    __tablename__ = "roster"
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    assigned_by: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attendance: Mapped[str | None] = mapped_column(String(12))  # attended | no_show, once the session ended
    __table_args__ = (Index("ix_roster_staff_day", "staff_id", "day"),)


class StaffDay(Base):
    """A row per cadre and day, locked while assigning them, so two assignments cannot race past the
    double-booking check."""

    __tablename__ = "staff_days"
    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class LeaveRow(Base):
    __tablename__ = "leave"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    first_day: Mapped[date] = mapped_column(Date, nullable=False)
    last_day: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)


class SlotRow(Base):
    """预约: an appointment slot at a session; `booked` never exceeds `capacity`."""

    __tablename__ = "slots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), nullable=False, index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    booked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Booking(Base):
    __tablename__ = "bookings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), nullable=False, index=True)
    name_enc: Mapped[str] = mapped_column(Text, nullable=False)
    phone_enc: Mapped[str] = mapped_column(Text, nullable=False)
    topic: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # booked | cancelled | served | no_show
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    booked_by: Mapped[int | None] = mapped_column(Integer)  # a station booking for a villager


class StaffCopy(Base):
    __tablename__ = "rm_staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_code: Mapped[str | None] = mapped_column(String(9))
    role: Mapped[str] = mapped_column(String(24), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class CalendarDayCopy(Base):
    __tablename__ = "rm_calendar_days"
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
