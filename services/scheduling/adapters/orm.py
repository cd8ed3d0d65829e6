"""Scheduling tables: the market sites it schedules by (a read model fed by the directory's events)."""
from __future__ import annotations

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.messaging_tables import add_messaging_tables


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
