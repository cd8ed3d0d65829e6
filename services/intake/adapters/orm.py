"""Intake tables: applications (personal data encrypted), their stages and handlers, receipt counters,
idempotency keys, look-up failures, light records, and the directory read model (with its working-day
calendar, which the promised deadline on the receipt is counted with)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.copies import CalendarDayColumns, OccasionColumns, StaffColumns, VillageColumns
from shared.db import UNIT_OF_WORK_INFO
from shared.idempotency import IdempotencyKeyColumns
from shared.messaging_tables import UtcDateTime, add_messaging_tables
from shared.receipts import FailedAttemptColumns, ReceiptCounterColumns


class Base(DeclarativeBase):
    pass


add_messaging_tables(Base.metadata)
Base.metadata.info[UNIT_OF_WORK_INFO] = "services.intake.adapters.repositories:IntakeUnitOfWork"


class Application(Base):
    __tablename__ = "applications"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))
    village_code: Mapped[str] = mapped_column(String(12), nullable=False)
    item_code: Mapped[str] = mapped_column(String(32), nullable=False)
    item_name: Mapped[str] = mapped_column(String(100), nullable=False)
    item_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    handling_level: Mapped[str] = mapped_column(String(16), nullable=False)
    promised_days: Mapped[int] = mapped_column(Integer, nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    session_id: Mapped[str | None] = mapped_column(String(64))
    visit_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    outcome: Mapped[str | None] = mapped_column(String(16))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    promised_deadline: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # approvals' clock (application_clock_changed), the newest by its seq: the pause and the lateness at 办结
    clock_seq: Mapped[int | None] = mapped_column(Integer)
    paused_on: Mapped[date | None] = mapped_column(Date)
    awaiting_materials: Mapped[list[str] | None] = mapped_column(JSON)
    days_late: Mapped[int | None] = mapped_column(Integer)
    accountable_staff_id: Mapped[int] = mapped_column(Integer, nullable=False)  # 首问负责制, never changes
    materials_provided: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    result_note: Mapped[str | None] = mapped_column(Text)
    # personal data: AES-GCM ciphertext ("key_id:…"), and a keyed hash of the ID number for search
    applicant_name_enc: Mapped[str] = mapped_column(Text, nullable=False)
    applicant_phone_enc: Mapped[str] = mapped_column(Text, nullable=False)
    applicant_id_card_enc: Mapped[str] = mapped_column(Text, nullable=False)
    applicant_address_enc: Mapped[str | None] = mapped_column(Text)
    applicant_id_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)

    __table_args__ = (
        # every staff list is "newest first" within a township, optionally narrowed; keyset paging on (filed_at, id)
        Index("ix_app_township_filed", "township_code", "filed_at", "id"),
        Index("ix_app_station_filed", "station_code", "filed_at", "id"),
        Index("ix_app_township_status_filed", "township_code", "status", "filed_at", "id"),
        Index("ix_app_accountable_filed", "accountable_staff_id", "filed_at", "id"),
        Index("ix_app_township_deadline", "township_code", "promised_deadline"),
    )


class ApplicationStage(Base):
    __tablename__ = "application_stages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    actor_staff_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class ApplicationHandler(Base):
    """Staff who worked on an application besides its accountable first receiver."""

    __tablename__ = "application_handlers"
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class ReceiptCounter(ReceiptCounterColumns, Base):
    __tablename__ = "receipt_counters"


class IdempotencyKey(IdempotencyKeyColumns, Base):
    __tablename__ = "idempotency_keys"
    record_column, record_references = "application_id", "applications.id"


class LookupFailure(FailedAttemptColumns, Base):
    __tablename__ = "lookup_failures"


class ActivityRecord(Base):
    """Consultations, service activities and practical deeds: light records evaluation counts."""

    __tablename__ = "activity_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))
    village_code: Mapped[str | None] = mapped_column(String(12))
    staff_id: Mapped[int] = mapped_column(Integer, nullable=False)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    details: Mapped[dict] = mapped_column(JSON, nullable=False)
    __table_args__ = (Index("ix_activity_township_kind_on", "township_code", "kind", "occurred_on", "id"),)


# ---- the directory, as intake needs it (fed by the directory's events) -----------------------------

class CatalogueItemCopy(Base):
    __tablename__ = "rm_catalogue_items"
    township_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    handling_level: Mapped[str] = mapped_column(String(16), nullable=False)
    promised_days: Mapped[int] = mapped_column(Integer, nullable=False)
    required_materials: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class VillageCopy(VillageColumns, Base):
    __tablename__ = "rm_villages"


class StaffCopy(StaffColumns, Base):
    """The directory's staff: who a service activity names must be the township's."""

    __tablename__ = "rm_staff"


class StationCopy(Base):
    __tablename__ = "rm_stations"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    village_code: Mapped[str] = mapped_column(String(12), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class CalendarDayCopy(CalendarDayColumns, Base):
    """The directory's working-day calendar: the promised deadline is on the receipt from filing."""

    __tablename__ = "rm_calendar_days"


class OccasionCopy(OccasionColumns, Base):
    __tablename__ = "rm_occasions"
