"""Scheduling tables: market-day sessions, rosters and attendance, leave, visits 下访 (series, campaigns,
members, reports), appointment slots and bookings (personal data encrypted), the records handled at a
session or raised on a visit, and read models of the directory's market sites, villages, staff and
calendar."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.copies import CalendarDayColumns, StaffColumns, VillageColumns
from shared.db import UNIT_OF_WORK_INFO
from shared.messaging_tables import UtcDateTime, add_messaging_tables


class Base(DeclarativeBase):
    pass


Base.metadata.info[UNIT_OF_WORK_INFO] = "services.scheduling.adapters.repositories:SchedulingUnitOfWork"

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
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # scheduled | cancelled | needs_decision
    services: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    # the day off that reached this session (its name): cancelled by it, waiting for a decision, or held on it
    day_off: Mapped[str | None] = mapped_column(String(100))
    restorable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # its day off was lifted
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
    """预约: an appointment slot at a session or at an appointment visit; `booked` never exceeds
    `capacity`."""

    __tablename__ = "slots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id"), index=True)
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visits.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    booked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    __table_args__ = (CheckConstraint("(session_id IS NULL) <> (visit_id IS NULL)", name="ck_slot_one_occasion"),
                      CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_within_capacity"))


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


class Campaign(Base):
    """专题: a themed campaign over a period; its visits are the topical visits."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False, index=True)
    theme: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    first_day: Mapped[date] = mapped_column(Date, nullable=False)
    last_day: Mapped[date] = mapped_column(Date, nullable=False)
    created_by: Mapped[int | None] = mapped_column(Integer)


class VisitSeries(Base):
    """定期 / 定点: the rule that periodic and fixed-point visits are generated from."""

    __tablename__ = "visit_series"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False, index=True)
    village_code: Mapped[str] = mapped_column(String(12), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    place: Mapped[str] = mapped_column(Text, nullable=False)
    rule: Mapped[dict] = mapped_column(JSON, nullable=False)
    starts: Mapped[str] = mapped_column(String(5), nullable=False)
    ends: Mapped[str] = mapped_column(String(5), nullable=False)
    first_day: Mapped[date] = mapped_column(Date, nullable=False)
    last_day: Mapped[date] = mapped_column(Date, nullable=False)
    staff_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[int | None] = mapped_column(Integer)


class Visit(Base):
    """下访: cadres going to a village on a day, and afterwards what happened there."""

    __tablename__ = "visits"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    village_code: Mapped[str] = mapped_column(String(12), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    place: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str | None] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # planned | cancelled | reported | needs_decision
    day_off: Mapped[str | None] = mapped_column(String(100))  # as Session.day_off
    restorable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("visit_series.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    summary: Mapped[str | None] = mapped_column(Text)
    raised: Mapped[list[str] | None] = mapped_column(JSON)
    people_met: Mapped[int | None] = mapped_column(Integer)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reported_by: Mapped[int | None] = mapped_column(Integer)
    reminded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    __table_args__ = (UniqueConstraint("series_id", "day", name="uq_visit_series_day"),
                      Index("ix_visits_township_day", "township_code", "day"),
                      Index("ix_visits_to_remind", "reminded", "starts_at"))


class VisitMember(Base):
    """A cadre on a visit (with their department on a joint visit); `went` once the visit is reported."""

    __tablename__ = "visit_members"
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str | None] = mapped_column(String(50))
    day: Mapped[date] = mapped_column(Date, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    went: Mapped[bool | None] = mapped_column(Boolean)
    __table_args__ = (Index("ix_visit_members_staff_day", "staff_id", "day"),)


class LinkedRecordRow(Base):
    """What was handled at a session or raised on a visit: applications, consultations (and complaints),
    learnt from the events of the services that keep them."""

    __tablename__ = "linked_records"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # application | consultation | complaint
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str | None] = mapped_column(String(32), index=True)
    visit_id: Mapped[str | None] = mapped_column(String(32), index=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class VillageCopy(VillageColumns, Base):
    __tablename__ = "rm_villages"


class StaffCopy(StaffColumns, Base):
    __tablename__ = "rm_staff"


class CalendarDayCopy(CalendarDayColumns, Base):
    __tablename__ = "rm_calendar_days"
