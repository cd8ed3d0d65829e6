"""Market days from lunar and solar rules, checked by hand on known dates and against a second,
independent lunar calendar library (lunardate) over many years, leap months included."""
from dataclasses import astuple
from datetime import date, timedelta

import lunardate
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduling.domain.market_days import LunarDay, lunar_day, market_days
from shared.contracts.directory import LUNAR_PATTERNS, MarketDayRule


def rule(**fields) -> MarketDayRule:
    return MarketDayRule.model_validate(fields)


def test_yi_si_qi_in_december_2026_by_hand():
    # 2026-12-09 is 十一月初一 (lunar month 11 begins): 逢一四七 → 初一, 初四, 初七, 十一, 十四, 十七, 廿一, 廿四, 廿七
    days = market_days(rule(kind="lunar_days", pattern="逢一四七"), date(2026, 12, 9), date(2027, 1, 7))
    assert lunar_day(date(2026, 12, 9)) == LunarDay(month=11, day=1, leap=False)
    assert days == [date(2026, 12, 9), date(2026, 12, 12), date(2026, 12, 15), date(2026, 12, 19),
                    date(2026, 12, 22), date(2026, 12, 25), date(2026, 12, 29), date(2027, 1, 1), date(2027, 1, 4)]


def test_the_leap_second_month_of_2023_has_its_own_market_days():
    # 闰二月 2023 began on 22 March 2023
    assert lunar_day(date(2023, 3, 22)).leap and lunar_day(date(2023, 3, 22)).month == 2
    days = market_days(rule(kind="lunar_days", pattern="逢三六九"), date(2023, 3, 22), date(2023, 4, 19))
    assert [lunar_day(d).day for d in days] == [3, 6, 9, 13, 16, 19, 23, 26, 29]
    assert all(lunar_day(d).leap for d in days)


def test_spring_festival_days_can_be_skipped():
    # 2026 lunar new year's day is 17 February; 逢单 would meet on 初一, 初三, 初五, 初七, 初九 …
    plain = market_days(rule(kind="lunar_days", pattern="逢单"), date(2026, 2, 17), date(2026, 2, 27))
    skipping = market_days(rule(kind="lunar_days", pattern="逢单", exceptions={"skip_lunar_new_year_days": 7}),
                           date(2026, 2, 17), date(2026, 2, 27))
    assert plain[:4] == [date(2026, 2, 17), date(2026, 2, 19), date(2026, 2, 21), date(2026, 2, 23)]
    assert skipping == [date(2026, 2, 25), date(2026, 2, 27)]  # 初九, 十一


def test_solar_weekly_and_explicit_rules_with_added_and_skipped_dates():
    assert market_days(rule(kind="solar_days", days=[5, 15, 25]), date(2026, 11, 1), date(2026, 11, 30)) == \
        [date(2026, 11, 5), date(2026, 11, 15), date(2026, 11, 25)]
    sundays = market_days(rule(kind="weekly", weekdays=[6], exceptions={
        "skip_dates": ["2026-11-29"], "add_dates": ["2026-11-28"]}), date(2026, 11, 1), date(2026, 11, 30))
    assert sundays == [date(2026, 11, 1), date(2026, 11, 8), date(2026, 11, 15), date(2026, 11, 22),
                       date(2026, 11, 28)]
    assert market_days(rule(kind="dates", dates=["2026-12-24", "2027-01-05"]), date(2026, 12, 1),
                       date(2026, 12, 31)) == [date(2026, 12, 24)]


def test_ranges_are_bounded():
    with pytest.raises(ValueError):
        market_days(rule(kind="weekly", weekdays=[0]), date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValueError):
        market_days(rule(kind="weekly", weekdays=[0]), date(2026, 1, 1), date(2030, 1, 1))


def _independent(day: date) -> tuple[int, int, bool]:
    other = lunardate.LunarDate.from_solar_date(day.year, day.month, day.day)
    return other.month, other.day, bool(other.isLeapMonth)


def _month_starts() -> list[date]:
    """The first day of every lunar month 1901–2099, according to the second library."""
    starts = []
    for year in range(1901, 2100):
        for month in range(1, 13):
            for leap in (False, True):
                try:
                    starts.append(lunardate.LunarDate(year, month, 1, leap).to_solar_date())
                except ValueError:  # no such leap month that year
                    continue
    return sorted(starts)


# Where the two libraries place a month's first day a day apart (the new moon falls within minutes of
# midnight, Beijing time): four months in two centuries, found by comparing every day 1901–2099. We
# follow lunar-python; 2057 is the one in the future, worth checking against the Purple Mountain
# Observatory's table before it matters.
DISAGREEING_BOUNDARY_DAYS = [date(1933, 7, 22), date(1933, 8, 20), date(1954, 11, 25), date(1954, 11, 26),
                             date(1954, 12, 24), date(1978, 9, 2), date(1978, 10, 1), date(2057, 9, 28),
                             date(2057, 10, 27)]


def test_every_lunar_month_1901_to_2099_agrees_with_a_second_library_but_four():
    """Both sides of every month boundary (the last day of a month and the first of the next): where they
    agree on every boundary, they agree on every day between, so this covers all 72,000 days."""
    starts = _month_starts()
    assert len(starts) == 2461
    boundary_days = sorted({d for s in starts for d in (s - timedelta(days=1), s) if d >= date(1901, 2, 19)})
    disagreeing = [d for d in boundary_days if astuple(lunar_day(d)) != _independent(d)]
    assert disagreeing == DISAGREEING_BOUNDARY_DAYS


@settings(max_examples=30, deadline=None)
@given(start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), span=st.integers(0, 120),
       pattern=st.sampled_from(sorted(LUNAR_PATTERNS)))
def test_a_lunar_rule_picks_exactly_the_days_whose_lunar_day_it_names(start, span, pattern):
    end = start + timedelta(days=span)
    chosen = set(market_days(rule(kind="lunar_days", pattern=pattern), start, end))
    for offset in range(span + 1):
        day = start + timedelta(days=offset)
        assert (day in chosen) == (lunar_day(day).day in LUNAR_PATTERNS[pattern])  # checked against lunardate above
