"""Evaluation tables: the log of every event it counted (replayed to rebuild), the applications it is
following, the facts (one per record and metric), the daily totals per unit that figures are summed
from, and the directory's townships and calendar."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.copies import CalendarDayColumns
from shared.db import UNIT_OF_WORK_INFO
from shared.messaging_tables import UtcDateTime, add_messaging_tables
from shared.receipts import FailedAttemptColumns


class Base(DeclarativeBase):
    pass


Base.metadata.info[UNIT_OF_WORK_INFO] = "services.evaluation.adapters.repositories:EvaluationUnitOfWork"

add_messaging_tables(Base.metadata)


class EventLogRow(Base):
    """Every event evaluation counted, as it came: the history a rebuild replays."""

    __tablename__ = "event_log"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)


class ApplicationRow(Base):
    __tablename__ = "applications"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), nullable=False)
    township_code: Mapped[str | None] = mapped_column(String(9))
    station_code: Mapped[str | None] = mapped_column(String(32))
    village_code: Mapped[str | None] = mapped_column(String(12))
    staff_id: Mapped[int | None] = mapped_column(Integer)
    filed_on: Mapped[date | None] = mapped_column(Date)
    promised_deadline: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    overdue_on: Mapped[date | None] = mapped_column(Date)


class FactRow(Base):
    """One record counted under one metric: what every figure drills down to."""

    __tablename__ = "facts"
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    ref: Mapped[str] = mapped_column(String(80), primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))
    village_code: Mapped[str | None] = mapped_column(String(12))
    staff_id: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    __table_args__ = (Index("ix_facts_township_metric_day", "township_code", "metric", "day"),
                      Index("ix_facts_staff_metric_day", "staff_id", "metric", "day"),
                      Index("ix_facts_station_metric_day", "station_code", "metric", "day"),
                      Index("ix_facts_village_metric_day", "village_code", "metric", "day"),
                      Index("ix_facts_metric_day", "metric", "day"))


class DailyTotal(Base):
    """The sum and number of facts per unit, metric and day: a year's figures read 365 rows, not the
    records."""

    __tablename__ = "daily_totals"
    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    unit: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[float] = mapped_column(Float, nullable=False)
    records: Mapped[int] = mapped_column(Integer, nullable=False)


class UnitTownship(Base):
    """Which township a staff member, station or village counted under (for scope checks and rankings)."""

    __tablename__ = "unit_townships"
    level: Mapped[str] = mapped_column(String(10), primary_key=True)
    unit: Mapped[str] = mapped_column(String(32), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)


class RateableRow(Base):
    """An application or complaint a villager may rate: who it counts for, the keyed check of what the
    villager types with its receipt number, and from when it may be rated (completed, replied)."""

    __tablename__ = "rateables"
    receipt_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # application | complaint
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))
    village_code: Mapped[str | None] = mapped_column(String(12))
    staff_id: Mapped[int | None] = mapped_column(Integer)
    contact_check: Mapped[str | None] = mapped_column(String(64))
    ready_on: Mapped[date | None] = mapped_column(Date)
    invited_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_rateables_to_invite", "invited_at", "ready_on"),)


class RatingRow(Base):
    """好差评: one per item, never changed."""

    __tablename__ = "ratings"
    receipt_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(String(500))
    efficiency: Mapped[int | None] = mapped_column(Integer)
    attitude: Mapped[int | None] = mapped_column(Integer)
    clarity: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    rated_on: Mapped[date] = mapped_column(Date, nullable=False)
    rated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    recorded_by: Mapped[int | None] = mapped_column(Integer)
    follow_up_due: Mapped[date | None] = mapped_column(Date)  # a bad rating's call-back is due by then
    followed_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    follow_up_note: Mapped[str | None] = mapped_column(String(2000))
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # its 督办 was issued
    __table_args__ = (Index("ix_ratings_follow_up", "followed_up_at", "overdue_at", "follow_up_due"),)


class LookupFailure(FailedAttemptColumns, Base):
    __tablename__ = "lookup_failures"


class ScoreSettingsRow(Base):
    __tablename__ = "score_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1: the installation's; each county's its own row
    county_code: Mapped[str | None] = mapped_column(String(6))  # None: the installation's default
    settings: Mapped[dict] = mapped_column(JSON, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    __table_args__ = (UniqueConstraint("county_code", name="uq_score_settings_county_code"),)


class TownshipCopy(Base):
    """The directory's townships, for the names in reports."""

    __tablename__ = "rm_townships"
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class CalendarDayCopy(CalendarDayColumns, Base):
    __tablename__ = "rm_calendar_days"
