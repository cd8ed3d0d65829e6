"""Directory tables. Every tenant-owned row carries its township_code."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UNIT_OF_WORK_INFO
from shared.messaging_tables import UtcDateTime, add_messaging_tables
from shared.receipts import FailedAttemptColumns


class Base(DeclarativeBase):
    pass


Base.metadata.info[UNIT_OF_WORK_INFO] = "services.directory.adapters.repositories:DirectoryUnitOfWork"

add_messaging_tables(Base.metadata)


class VersionedRow:
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class County(VersionedRow, Base):
    __tablename__ = "counties"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)


class Township(VersionedRow, Base):
    __tablename__ = "townships"
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    hotline: Mapped[str | None] = mapped_column(String(20))


class Village(VersionedRow, Base):
    __tablename__ = "villages"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)


class Station(VersionedRow, Base):
    """服务站: the 农事村办 station of one village or community."""

    __tablename__ = "stations"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("villages.code"), nullable=False, index=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))


class Staff(VersionedRow, Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    township_code: Mapped[str | None] = mapped_column(ForeignKey("townships.code"), index=True)
    station_code: Mapped[str | None] = mapped_column(ForeignKey("stations.code"))
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)  # None: the system administrator
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class CatalogueItem(VersionedRow, Base):
    """服务事项: one public service a township offers."""

    __tablename__ = "catalogue_items"
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    handling_level: Mapped[str] = mapped_column(String(20), nullable=False)
    eligible_applicants: Mapped[str] = mapped_column(Text, nullable=False)
    procedure_steps: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    required_materials: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    promised_days: Mapped[int] = mapped_column(Integer, nullable=False)
    fee_yuan: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    fee_legal_basis: Mapped[str | None] = mapped_column(Text)
    supervision_method: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    workflow: Mapped[dict | None] = mapped_column(JSON)  # a WorkflowDefinition; None: the default one

    __table_args__ = (Index("ix_catalogue_township_status", "township_code", "status", "category"),)


class MarketSite(VersionedRow, Base):
    """集市: where villagers gather on market days; the rule says which days."""

    __tablename__ = "market_sites"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("townships.code"), nullable=False, index=True)
    village_code: Mapped[str | None] = mapped_column(ForeignKey("villages.code"))
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    location: Mapped[str] = mapped_column(Text, nullable=False)
    rule: Mapped[dict] = mapped_column(JSON, nullable=False)
    opens_at: Mapped[str] = mapped_column(String(5), nullable=False)
    closes_at: Mapped[str] = mapped_column(String(5), nullable=False)


class CalendarEntry(Base):
    """A day that differs from the weekly default (Mon–Fri work, Sat–Sun off)."""

    __tablename__ = "calendar_days"
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class CalendarYear(Base):
    """A year whose official schedule is complete: loaded whole from the official data, or declared
    complete by a county admin once every day of the State Council's notice is entered (who and when)."""

    __tablename__ = "calendar_years"
    county_code: Mapped[str] = mapped_column(ForeignKey("counties.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    basis: Mapped[str] = mapped_column(String(16), nullable=False)  # official_data | county
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    completed_by: Mapped[str] = mapped_column(String(64), nullable=False)  # a username, or the data's name
    completed_by_staff_id: Mapped[int | None] = mapped_column(Integer)


class LoginFailure(FailedAttemptColumns, Base):
    """Failed sign-ins, per account and per client (sign-in is throttled on both)."""

    __tablename__ = "login_failures"
    subject_column, subject_length = "username", 64
    index_names = ("ix_login_username_at", "ix_login_client_at")


class EndedSession(Base):
    """Tokens signed out before they expire; a row can go once its token has expired anyway."""

    __tablename__ = "ended_sessions"
    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, index=True)


class StationKey(Base):
    """An API key of a station's machine client: only its SHA-256 is kept (the key is 256 random bits,
    so a fast hash is enough; a password needs Argon2 because people choose guessable ones)."""

    __tablename__ = "station_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("stations.code"), nullable=False, index=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), nullable=False)
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(24), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    created_by: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_on: Mapped[date | None] = mapped_column(Date)


class AuditRow(Base):
    """The audit log: append-only (the migration adds triggers that refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    staff_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    township_code: Mapped[str | None] = mapped_column(String(9), index=True)
    station_code: Mapped[str | None] = mapped_column(String(32))
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)  # None: the installation's
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    target: Mapped[str] = mapped_column(String(300), nullable=False)
    outcome: Mapped[int] = mapped_column(Integer, nullable=False)
    client: Mapped[str] = mapped_column(String(64), nullable=False)
    personal_data: Mapped[bool] = mapped_column(Boolean, nullable=False)
