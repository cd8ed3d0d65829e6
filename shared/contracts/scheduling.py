"""Scheduling contracts: market-day previews and the public market-day calendar."""
from __future__ import annotations

from datetime import date

from pydantic import model_validator

from shared.contracts.base import Contract


class DateRange(Contract):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered_and_bounded(self) -> DateRange:
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days > 800:
            raise ValueError("ask for at most 800 days at a time")
        return self


class MarketDays(Contract):
    site_code: str
    site_name: str
    township_code: str
    location: str
    opens_at: str
    closes_at: str
    rule_summary: str
    days: list[date]
