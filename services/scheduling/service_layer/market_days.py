"""Market-day use cases: when and where a site's market meets, said as villagers say it, for a township's
staff and for the public, and the directory's market sites kept as scheduling's copy."""
from __future__ import annotations

from typing import Any

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.domain.market_days import market_days
from shared.contracts.caller import Caller
from shared.contracts.directory import MarketDayRule
from shared.contracts.scheduling import DateRange, MarketDays
from shared.errors import NotFound

WEEKDAYS = "一二三四五六日"


def describe(rule: MarketDayRule) -> str:
    """The rule as villagers say it: 逢一四七 (农历), 每月5、15、25日, 每周日 …"""
    if rule.kind == "lunar_days":
        text = f"{rule.pattern}（农历）" if rule.pattern else "农历每月" + "、".join(f"{d}日" for d in rule.days)
        if rule.exceptions.skip_lunar_new_year_days:
            text += f"，正月初一至初{_chinese(rule.exceptions.skip_lunar_new_year_days)}休市"
        return text
    if rule.kind == "solar_days":
        return "每月" + "、".join(f"{d}日" for d in rule.days)
    if rule.kind == "weekly":
        return "每周" + "、".join(WEEKDAYS[d] for d in rule.weekdays)
    return "指定日期"


def _chinese(n: int) -> str:
    digits = "零一二三四五六七八九十"
    return digits[n] if n <= 10 else "十" + digits[n - 10]


def _view(site: orm.MarketSiteCopy, period: DateRange) -> MarketDays:
    rule = MarketDayRule.model_validate(site.rule)
    return MarketDays(site_code=site.code, site_name=site.name, township_code=site.township_code,
                      location=site.location, opens_at=site.opens_at, closes_at=site.closes_at,
                      rule_summary=describe(rule), days=market_days(rule, period.start, period.end))


def site_market_days(uow: SchedulingUnitOfWork, *, caller: Caller, site_code: str, period: DateRange) -> MarketDays:
    site = uow.market_sites.get(site_code)
    if site is None or not caller.sees_township(site.township_code):
        raise NotFound("market site not found", code="market_site_not_found")
    return _view(site, period)


def public_market_calendar(uow: SchedulingUnitOfWork, *, township_code: str, period: DateRange) -> list[MarketDays]:
    """公开: where and when a township's markets meet, for anyone; no personal data."""
    return [_view(site, period) for site in uow.market_sites.of_township(township_code)]


def keep_site(uow: SchedulingUnitOfWork, *, site: dict[str, Any]) -> None:
    uow.keep_newest(orm.MarketSiteCopy, site["code"], {k: site[k] for k in (
        "code", "township_code", "village_code", "name", "location", "rule", "opens_at", "closes_at", "version")})
