"""Which days are market days at a site, from its rule. Lunar rules (逢一四七, 逢二五八, 逢三六九, 逢单,
逢双, or any lunar days) follow the Chinese lunisolar calendar exactly, leap months included, through
the maintained `lunar-python` library. Pure: dates in, dates out."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from lunar_python import Solar

from shared.contracts.directory import MarketDayRule

MAX_RANGE_DAYS = 800  # a preview or a generation run covers at most a little over two years


@dataclass(frozen=True)
class LunarDay:
    month: int  # 1–12
    day: int  # 1–30
    leap: bool  # 闰月


def lunar_day(day: date) -> LunarDay:
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    month = lunar.getMonth()
    return LunarDay(month=abs(month), day=lunar.getDay(), leap=month < 0)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _matches(rule: MarketDayRule, day: date) -> bool:
    if rule.kind == "lunar_days":
        lunar = lunar_day(day)
        if lunar.month == 1 and not lunar.leap and lunar.day <= rule.exceptions.skip_lunar_new_year_days:
            return False  # 春节: no market in the first days of the new year
        return lunar.day in rule.days
    if rule.kind == "solar_days":
        return day.day in rule.days
    if rule.kind == "weekly":
        return day.weekday() in rule.weekdays
    return day in rule.dates


def market_days(rule: MarketDayRule, start: date, end: date) -> list[date]:
    """Every market day from start to end inclusive, after the rule's exceptions."""
    if end < start:
        raise ValueError("the range ends before it starts")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValueError(f"ask for at most {MAX_RANGE_DAYS} days at a time")
    skip = set(rule.exceptions.skip_dates)
    days = {d for d in _days(start, end) if d not in skip and _matches(rule, d)}
    days |= {d for d in rule.exceptions.add_dates if start <= d <= end}
    return sorted(days)
