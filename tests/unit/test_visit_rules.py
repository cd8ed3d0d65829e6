"""Visits: a series falls on its rule's days and never on a day off; topical visits stay inside their
campaign; a report names only the visit's own cadres, once, after it has begun; each kind of plan
carries what it needs."""
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduling.domain.market_days import market_days
from services.scheduling.domain.visits import check_in_campaign, check_report, series_days
from shared.contracts.base import parse
from shared.contracts.directory import MarketDayRule
from shared.contracts.scheduling import VisitPlan, VisitSeriesCreate
from shared.errors import Conflict, ValidationFailed

RULES = st.one_of(
    st.builds(lambda w: MarketDayRule(kind="weekly", weekdays=w), st.lists(st.integers(0, 6), min_size=1, max_size=3)),
    st.builds(lambda d: MarketDayRule(kind="solar_days", days=d), st.lists(st.integers(1, 31), min_size=1, max_size=4)),
    st.sampled_from([MarketDayRule(kind="lunar_days", pattern=p) for p in ("逢一四七", "逢三六九", "逢单")]))


@settings(max_examples=80, deadline=None)  # lunar months are computed, not looked up
@given(rule=RULES, first=st.dates(date(2026, 1, 1), date(2030, 12, 31)), span=st.integers(0, 120),
       off=st.sets(st.dates(date(2026, 1, 1), date(2031, 6, 1)), max_size=40))
def test_a_series_falls_on_its_rules_days_inside_its_span_and_never_on_a_day_off(rule, first, span, off):
    last = first + timedelta(days=span)
    days = series_days(rule, first, last, off)
    assert days == sorted(set(days))
    assert all(first <= d <= last and d not in off for d in days)
    assert set(days) == set(market_days(rule, first, last)) - off


def test_a_topical_visit_stays_inside_its_campaign():
    check_in_campaign(date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 31))
    with pytest.raises(ValidationFailed) as err:
        check_in_campaign(date(2027, 1, 1), date(2026, 12, 1), date(2026, 12, 31))
    assert err.value.code == "outside_campaign"


START = datetime(2026, 12, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(("status", "now", "went", "code"), [
    ("planned", START - timedelta(minutes=1), [3], "visit_not_started"),
    ("reported", START + timedelta(hours=1), [3], "visit_closed"),
    ("cancelled", START + timedelta(hours=1), [3], "visit_closed"),
    ("planned", START + timedelta(hours=1), [3, 9], "not_on_visit"),
])
def test_a_report_is_refused_when_it_cannot_be_true(status, now, went, code):
    with pytest.raises((Conflict, ValidationFailed)) as err:
        check_report(status=status, starts_at=START, now=now, members=[3, 4], went=went)
    assert err.value.code == code


def test_a_report_may_say_nobody_went():
    check_report(status="planned", starts_at=START, now=START, members=[3, 4], went=[])


BASE = {"title": "下访", "village_code": "431099101001", "place": "村委会", "day": "2026-12-10"}


@pytest.mark.parametrize("plan", [
    {"kind": "joint", "departments": [{"department": "司法所", "staff_ids": [3]}]},  # one department
    {"kind": "joint", "departments": [{"department": "司法所", "staff_ids": [3]},
                                      {"department": "司法所", "staff_ids": [4]}]},  # the same one twice
    {"kind": "joint", "departments": [{"department": "司法所", "staff_ids": [3]},
                                      {"department": "农技站", "staff_ids": [3]}]},  # one cadre in two
    {"kind": "joint", "staff_ids": [3], "departments": [{"department": "司法所", "staff_ids": [4]},
                                                        {"department": "农技站", "staff_ids": [5]}]},
    {"kind": "appointment", "staff_ids": []},
    {"kind": "appointment", "staff_ids": [3, 3]},
    {"kind": "appointment", "staff_ids": [3], "campaign_id": 1},
    {"kind": "topical", "staff_ids": [3]},
    {"kind": "appointment", "staff_ids": [3], "starts": "12:00", "ends": "09:00"},
    {"kind": "periodic", "staff_ids": [3]},  # series kinds are not planned one at a time
])
def test_each_kind_of_plan_carries_what_it_needs(plan):
    with pytest.raises(ValidationFailed):
        parse(VisitPlan, {**BASE, **plan})


def test_a_series_is_bounded_and_a_fixed_point_names_its_place():
    series = {"kind": "periodic", "title": "走访", "village_code": "431099101001", "staff_ids": [3],
              "rule": {"kind": "weekly", "weekdays": [1]}, "first_day": "2026-12-01", "last_day": "2026-12-31"}
    assert parse(VisitSeriesCreate, series).place is None
    for bad in ({"last_day": "2028-12-31"}, {"last_day": "2026-11-01"}, {"kind": "fixed_point"},
                {"staff_ids": [3, 3]}, {"staff_ids": []}):
        with pytest.raises(ValidationFailed):
            parse(VisitSeriesCreate, {**series, **bad})
