"""The one place the platform reads the wall clock; domain code is handed `now` instead."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_in_china(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(CHINA).date()
