"""Visits 下访 ("变群众跑为干部跑"): which days a series of visits falls on, which days a topical visit may
take, and what a report must say. Pure: no database, no clock of its own."""
from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime

from services.scheduling.domain.market_days import market_days
from shared.contracts.directory import MarketDayRule
from shared.errors import Conflict, ValidationFailed


def series_days(rule: MarketDayRule, first: date, last: date, days_off: Collection[date]) -> list[date]:
    """The days a periodic or fixed-point series visits: the rule's days in the span, none on a day off
    (cadres go on working days)."""
    return [d for d in market_days(rule, first, last) if d not in days_off]


def check_in_campaign(day: date, first: date, last: date) -> None:
    if not first <= day <= last:
        raise ValidationFailed(f"a topical visit falls inside its campaign ({first} – {last})",
                               [{"field": "day", "message": "outside the campaign"}], code="outside_campaign")


def check_report(*, status: str, starts_at: datetime, now: datetime, members: Iterable[int],
                 went: Collection[int]) -> None:
    """A visit is reported once it has begun, once, and only names its own members as having gone."""
    if status != "planned":
        raise Conflict(f"the visit is {status}", code="visit_closed")
    if now < starts_at:
        raise Conflict("report a visit once it has begun", code="visit_not_started")
    strangers = set(went) - set(members)
    if strangers:
        raise ValidationFailed("only the visit's own cadres can have gone on it",
                               [{"field": "went_staff_ids", "message": f"not on this visit: {sorted(strangers)}"}],
                               code="not_on_visit")
