"""Notifications tables: each county's sending settings and templates, every message (one row per event,
recipient and notice: its unique send key is what makes a redelivered event or a restarted sender send
once), the staff's console notices, numbers that opted out, what the embedded `log` provider "sent", and
the applications it is following (what their messages say: item, station, promised deadline).

No phone number is kept: the sender asks the owning service for it at send time. A message keeps only
the number's keyed hash (daily caps, 退订) and its masked form (logs and the console)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.copies import StaffColumns, VillageColumns
from shared.db import UNIT_OF_WORK_INFO
from shared.messaging_tables import UtcDateTime, add_messaging_tables


class Base(DeclarativeBase):
    pass


Base.metadata.info[UNIT_OF_WORK_INFO] = "services.notifications.adapters.repositories:NotificationsUnitOfWork"
add_messaging_tables(Base.metadata)

BIG = BigInteger().with_variant(Integer, "sqlite")


class CountySettingsRow(Base):
    """How a county sends: its provider (and that provider's settings, secrets encrypted with the vault),
    its SMS signature 签名, quiet hours, daily cap per phone, the notices it marks urgent, staff SMS on/off."""

    __tablename__ = "county_settings"
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    provider_settings: Mapped[dict] = mapped_column(JSON, nullable=False)
    signature: Mapped[str] = mapped_column(String(12), nullable=False)
    quiet_start: Mapped[str] = mapped_column(String(5), nullable=False)  # "21:00", China time
    quiet_end: Mapped[str] = mapped_column(String(5), nullable=False)
    daily_cap: Mapped[int] = mapped_column(Integer, nullable=False)
    urgent: Mapped[list] = mapped_column(JSON, nullable=False)
    staff_sms: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class TemplateRow(Base):
    """A county's own text for one notice (the notice's starting text serves until one is saved), and the
    template id the county registered with its provider (Alibaba Cloud and Tencent Cloud send by id)."""

    __tablename__ = "templates"
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    provider_template: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)


class MessageRow(Base):
    """One SMS: made when its event arrives (status waiting), claimed and marked `sending` in its own
    commit before the provider is called, then sent / failed / withheld, and later delivered or not."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    send_key: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    event_id: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    audience: Mapped[str] = mapped_column(String(12), nullable=False)
    recipient: Mapped[str] = mapped_column(String(64), nullable=False)  # "application:<id>", "staff:<id>", …
    county_code: Mapped[str] = mapped_column(String(6), nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    values: Mapped[dict] = mapped_column(JSON, nullable=False)  # the template's variables, as the event gave them
    text: Mapped[str | None] = mapped_column(Text)  # as sent (rendered at send time, from the county's template)
    segments: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    withheld: Mapped[str | None] = mapped_column(String(12))
    send_after: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_messages_status_send_after", "status", "send_after"),
                      Index("ix_messages_phone_sent", "phone_hash", "sent_at"),
                      Index("ix_messages_provider_id", "provider", "provider_message_id"),
                      Index("ix_messages_township_id", "township_code", "id"))


class StaffNoticeRow(Base):
    """A notice in a staff member's console inbox (one per event, staff member and notice)."""

    __tablename__ = "staff_notices"
    id: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    send_key: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    staff_id: Mapped[int] = mapped_column(Integer, nullable=False)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    __table_args__ = (Index("ix_staff_notices_staff_id", "staff_id", "id"),
                      Index("ix_staff_notices_unread", "staff_id", "read_at"))


class OptOutRow(Base):
    """A number that replied TD (退订), by its keyed hash: never texted again except what the law requires."""

    __tablename__ = "opt_outs"
    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), nullable=False)
    opted_out_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # the provider whose uplink said so


class LoggedSmsRow(Base):
    """The embedded `log` provider's "sent" messages: what a county without a provider sees in the console
    and `cunban notifications list`. Keyed by the send key, as a real provider keeps our idempotency key."""

    __tablename__ = "sms_log"
    send_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    phone_masked: Mapped[str] = mapped_column(String(16), nullable=False)
    county_code: Mapped[str] = mapped_column(String(6), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class ApplicationRow(Base):
    """An application whose applicant it tells things: what the messages name."""

    __tablename__ = "applications"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    station_code: Mapped[str | None] = mapped_column(String(32))
    item_name: Mapped[str] = mapped_column(String(200), nullable=False)


class StationRow(Base):
    """The directory's stations by name: where an applicant brings materials and collects a result."""

    __tablename__ = "stations"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class ComplaintRow(Base):
    """A complaint whose complainant may be told things (never an anonymous one: its phone is not kept)."""

    __tablename__ = "complaints"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)


class StaffCopy(StaffColumns, Base):
    __tablename__ = "staff_copy"


class VillageCopy(VillageColumns, Base):
    __tablename__ = "village_copy"


class MarketSiteRow(Base):
    """The directory's market sites by name: where a market-day post is."""

    __tablename__ = "market_sites"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class BookingRow(Base):
    """A villager's booked place: confirmed when booked, reminded the day before, told if called off."""

    __tablename__ = "bookings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(9), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    place: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    reminded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    __table_args__ = (Index("ix_bookings_remind", "reminded", "starts_at"),)
