"""Complaints tables: the complaint with its running stage (one clock at a time, swept by index), the
append-only history, 督办 notices, county-set stage limits and warning rule, early-warning counters and
alerts, receipt counters and look-up failures, and read models of the directory (staff, villages,
calendar) and of scheduling (sessions, visits). The complainant's name and phone are encrypted."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.copies import CalendarDayColumns, OccasionColumns, StaffColumns, StationColumns, VillageColumns
from shared.db import UNIT_OF_WORK_INFO
from shared.idempotency import IdempotencyKeyColumns
from shared.messaging_tables import UtcDateTime, add_messaging_tables
from shared.receipts import FailedAttemptColumns, ReceiptCounterColumns


class Base(DeclarativeBase):
    pass


Base.metadata.info[UNIT_OF_WORK_INFO] = "services.complaints.adapters.repositories:ComplaintsUnitOfWork"
add_messaging_tables(Base.metadata)


class ComplaintRow(Base):
    __tablename__ = "complaints"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    network: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    village_code: Mapped[str] = mapped_column(String(12), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(32))
    visit_id: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, nullable=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, nullable=False)
    complainant_name_enc: Mapped[str | None] = mapped_column(Text)
    complainant_phone_enc: Mapped[str | None] = mapped_column(Text)
    lookup_code_hash: Mapped[str | None] = mapped_column(String(64))  # anonymous: keyed hash of the code
    accused_staff_id: Mapped[int | None] = mapped_column(Integer)
    accused_unit: Mapped[str | None] = mapped_column(String(48))
    handler_staff_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    stage: Mapped[str | None] = mapped_column(String(12))  # the stage whose clock runs; None once closed
    stage_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # one more per new clock
    stage_started_on: Mapped[date | None] = mapped_column(Date)
    stage_limit_days: Mapped[int | None] = mapped_column(Integer)  # incl. extensions
    stage_warn_on: Mapped[date | None] = mapped_column(Date)
    stage_due_on: Mapped[date | None] = mapped_column(Date)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finding: Mapped[str | None] = mapped_column(String(20))
    reply: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    registered_by: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_complaints_township_status", "township_code", "status", "stage_due_on"),
                      Index("ix_complaints_handler_status", "handler_staff_id", "status", "stage_due_on"),
                      Index("ix_complaints_township_registered", "township_code", "registered_at"),
                      Index("ix_complaints_village_category", "village_code", "category", "registered_at"),
                      Index("ix_complaints_to_warn", "warned_at", "stage_warn_on"),
                      Index("ix_complaints_to_notice", "overdue_at", "stage_due_on"))


class HistoryRow(Base):
    """Every action on a complaint, never updated or deleted."""

    __tablename__ = "complaint_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_staff_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str] = mapped_column(String(24), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, nullable=False)


class NoticeRow(Base):
    """督办: a stage passed its limit; one per stage clock."""

    __tablename__ = "complaint_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), nullable=False)
    stage_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    stage: Mapped[str] = mapped_column(String(12), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    handler_staff_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("uq_complaint_notice_per_clock", "complaint_id", "stage_seq", unique=True),
                      Index("ix_complaint_notices_township", "township_code", "recorded_at"))


class StageLimitRow(Base):
    """The county's own working-day limits for one kind of complaint (defaults apply otherwise)."""

    __tablename__ = "stage_limits"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    limits: Mapped[dict] = mapped_column(JSON, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class WarningRuleRow(Base):
    __tablename__ = "warning_rule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: one rule for the county
    rule: Mapped[dict] = mapped_column(JSON, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class DailyCount(Base):
    """Complaints per village, category and day: what early warning reads instead of history."""

    __tablename__ = "complaint_daily_counts"
    village_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class AlertRow(Base):
    """苗头性问题: an early-warning alert for one village and category."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    village_code: Mapped[str] = mapped_column(String(12), nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    rule: Mapped[str] = mapped_column(String(8), nullable=False)  # burst | rise
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    window_days: Mapped[int] = mapped_column(Integer, nullable=False)
    raised_on: Mapped[date] = mapped_column(Date, nullable=False)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # open | acknowledged
    acknowledged_by: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_alerts_village_category", "village_code", "category", "raised_on"),
                      Index("ix_alerts_township_status", "township_code", "status"))


class AlertComplaint(Base):
    __tablename__ = "alert_complaints"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaints.id"), primary_key=True)


class ReceiptCounter(ReceiptCounterColumns, Base):
    __tablename__ = "receipt_counters"


class IdempotencyKey(IdempotencyKeyColumns, Base):
    """Registrations by key: a retry gets the first complaint (and, anonymous, its look-up code, kept
    encrypted for that one purpose)."""

    __tablename__ = "idempotency_keys"
    record_column, record_references = "complaint_id", "complaints.id"
    lookup_code_enc: Mapped[str | None] = mapped_column(Text)


class LookupFailure(FailedAttemptColumns, Base):
    __tablename__ = "lookup_failures"


class StaffCopy(StaffColumns, Base):
    __tablename__ = "rm_staff"


class VillageCopy(VillageColumns, Base):
    __tablename__ = "rm_villages"


class StationCopy(StationColumns, Base):
    __tablename__ = "rm_stations"


class CalendarDayCopy(CalendarDayColumns, Base):
    __tablename__ = "rm_calendar_days"


class OccasionCopy(OccasionColumns, Base):
    __tablename__ = "rm_occasions"
