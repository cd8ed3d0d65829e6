"""Approvals tables: cases, their append-only audit trail, deadline rows swept by the timer, the staff
inbox, supervision notices and accountability records, and the directory read model."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.copies import CalendarDayColumns, StaffColumns
from shared.db import UNIT_OF_WORK_INFO
from shared.idempotency import IdempotencyKeyColumns
from shared.messaging_tables import UtcDateTime, add_messaging_tables


class Base(DeclarativeBase):
    pass


Base.metadata.info[UNIT_OF_WORK_INFO] = "services.approvals.adapters.repositories:ApprovalsUnitOfWork"
add_messaging_tables(Base.metadata)


class CaseRow(Base):
    __tablename__ = "cases"
    application_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))
    item_code: Mapped[str] = mapped_column(String(32), nullable=False)
    village_code: Mapped[str | None] = mapped_column(String(12))  # the applicant's (kept since 0006)
    accountable_staff_id: Mapped[int] = mapped_column(Integer, nullable=False)
    workflow: Mapped[dict] = mapped_column(JSON, nullable=False)  # the definition as it was at filing
    promised_days: Mapped[int] = mapped_column(Integer, nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    step_index: Mapped[int] = mapped_column(Integer, nullable=False)
    step_entered_on: Mapped[date | None] = mapped_column(Date)
    assignee_staff_id: Mapped[int | None] = mapped_column(Integer)
    resume_status: Mapped[str | None] = mapped_column(String(24))
    outcome: Mapped[str | None] = mapped_column(String(16))
    extension_days: Mapped[int] = mapped_column(Integer, nullable=False)
    pauses: Mapped[list] = mapped_column(JSON, nullable=False)  # [[requested_on, received_on | null], …]
    awaiting_materials: Mapped[list | None] = mapped_column(JSON)  # what an outstanding 补正 asks for
    clock_seq: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")  # application_clock_changed
    overall_due: Mapped[date | None] = mapped_column(Date)
    step_due: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    __table_args__ = (Index("ix_cases_township_status", "township_code", "status"),)


class AuditRow(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("cases.application_id"), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(24), nullable=False)
    actor_staff_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str] = mapped_column(String(24), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(24), nullable=False)
    to_status: Mapped[str] = mapped_column(String(24), nullable=False)
    step_days_used: Mapped[int] = mapped_column(Integer, nullable=False)
    overall_days_used: Mapped[int] = mapped_column(Integer, nullable=False)
    details: Mapped[dict] = mapped_column(JSON, nullable=False)


class IdempotencyKey(IdempotencyKeyColumns, Base):
    """The Idempotency-Key of an action, kept with it: a retry of an action already taken (or the broker's
    redelivery of it after a crash) gets the case back instead of 409 `illegal_action`."""

    __tablename__ = "idempotency_keys"
    record_column, record_references = "application_id", "cases.application_id"


class DeadlineRow(Base):
    """One running limit of a case. The sweep reads only rows whose warning or due day has come."""

    __tablename__ = "deadlines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("cases.application_id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # overall | step
    step_name: Mapped[str | None] = mapped_column(String(32))
    started_on: Mapped[date] = mapped_column(Date, nullable=False)  # receipt, or the day the step was entered
    warn_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_deadlines_to_warn", "warned_at", "warn_on"),
                      Index("ix_deadlines_to_notice", "overdue_at", "due_on"))


class WaitingRow(Base):
    """The staff inbox: who may act on a case now (one row per role), and by when."""

    __tablename__ = "waiting"
    application_id: Mapped[str] = mapped_column(ForeignKey("cases.application_id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(24), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))  # set when only that station's staff may act
    due_on: Mapped[date | None] = mapped_column(Date)
    warn_on: Mapped[date | None] = mapped_column(Date)  # the warning day of that limit (since 0006)
    # the case's, for the inbox's filters and order (since 0006)
    item_code: Mapped[str | None] = mapped_column(String(32))
    village_code: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str | None] = mapped_column(String(24))
    filed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_waiting_inbox", "role", "township_code", "due_on"),)


class NoticeRow(Base):
    """督办 supervision notices and 责任追究 accountability records."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # supervision | accountability
    application_id: Mapped[str] = mapped_column(ForeignKey("cases.application_id"), nullable=False)
    receipt_no: Mapped[str] = mapped_column(String(32), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id"), nullable=False)
    deadline_kind: Mapped[str] = mapped_column(String(8), nullable=False)
    step_name: Mapped[str | None] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    responsible_staff_id: Mapped[int | None] = mapped_column(Integer)  # always named since 0005 (see basis)
    responsible_basis: Mapped[str | None] = mapped_column(String(16))  # claimed | supervisor | first_contact
    accountable_staff_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # 督办 only: when its limit stopped running (the step done, the case closed); None while open (since 0007)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_notices_township_kind", "township_code", "kind", "recorded_at"),
                      Index("uq_notice_per_deadline", "deadline_id", "kind", unique=True))


class CalendarDayCopy(CalendarDayColumns, Base):
    __tablename__ = "rm_calendar_days"


class StaffCopy(StaffColumns, Base):
    """The directory's staff, for who answers for a late step nobody claimed (the township's supervisor)."""

    __tablename__ = "rm_staff"
    __table_args__ = (Index("ix_rm_staff_township_role", "township_code", "role", "id"),)


class CatalogueWorkflowCopy(Base):
    __tablename__ = "rm_catalogue_workflows"
    township_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    workflow: Mapped[dict] = mapped_column(JSON, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class CalendarState(Base):
    """Bumped on every calendar change; the sweep re-derives open deadlines when it moved."""

    __tablename__ = "calendar_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changed: Mapped[int] = mapped_column(Integer, nullable=False)
    applied: Mapped[int] = mapped_column(Integer, nullable=False)
