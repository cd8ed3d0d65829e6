"""The working-day calendar: weekends, official holidays, 调休 make-up days and local days off."""
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.directory.domain.calendar import (
    DayKind,
    Source,
    days_until_next_year,
    is_working_day,
    next_year_due,
    next_year_missing,
    official_days_from_library,
)


def test_weekdays_work_and_weekends_rest_by_default():
    assert is_working_day(date(2026, 11, 27), {})  # Friday
    assert not is_working_day(date(2026, 11, 28), {})  # Saturday
    assert not is_working_day(date(2026, 11, 29), {})  # Sunday


def test_national_day_is_off_and_its_makeup_saturday_is_worked():
    days = {d.day: d.kind for d in official_days_from_library([2026])}
    assert not is_working_day(date(2026, 10, 1), days)  # Thursday, 国庆节
    assert not is_working_day(date(2026, 10, 7), days)  # Wednesday, still the holiday
    assert is_working_day(date(2026, 10, 10), days)  # Saturday, 调休上班
    assert is_working_day(date(2026, 10, 9), days)


def test_spring_festival_2026_is_off_with_makeup_days():
    days = {d.day: d.kind for d in official_days_from_library([2026])}
    assert days[date(2026, 2, 17)] is DayKind.HOLIDAY  # 春节 (lunar new year's day)
    assert days[date(2026, 2, 14)] is DayKind.MAKEUP_WORKDAY
    assert days[date(2026, 2, 28)] is DayKind.MAKEUP_WORKDAY


def test_library_days_carry_chinese_names_and_official_source():
    days = official_days_from_library([2026])
    national = next(d for d in days if d.day == date(2026, 10, 1))
    assert national.name == "国庆节"
    assert national.source is Source.OFFICIAL
    makeup = next(d for d in days if d.day == date(2026, 10, 10))
    assert makeup.name == "国庆节调休"


def test_a_county_day_off_stops_work_on_a_weekday():
    assert not is_working_day(date(2026, 11, 26), {date(2026, 11, 26): DayKind.LOCAL_DAY_OFF})


def test_next_year_missing_warns_until_the_calendar_is_loaded():
    assert next_year_missing(date(2026, 11, 28), [2025, 2026])
    assert not next_year_missing(date(2026, 11, 28), [2026, 2027])


def test_next_year_is_due_from_november_when_the_state_council_usually_publishes():
    assert not next_year_due(date(2026, 1, 5))
    assert not next_year_due(date(2026, 10, 31))
    assert next_year_due(date(2026, 11, 1))
    assert next_year_due(date(2026, 12, 31))


def test_days_until_next_year_count_down_to_new_year():
    assert days_until_next_year(date(2026, 11, 1)) == 61
    assert days_until_next_year(date(2026, 11, 28)) == 34
    assert days_until_next_year(date(2026, 12, 31)) == 1


def test_library_data_ends_with_2026_so_2027_must_be_entered_by_hand():
    years = {d.day.year for d in official_days_from_library()}
    assert 2026 in years
    assert 2027 not in years


@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_library_calendar_matches_chinesecalendar_for_every_day(day):
    import chinese_calendar

    days = {d.day: d.kind for d in official_days_from_library([day.year])}
    assert is_working_day(day, days) == chinese_calendar.is_workday(day)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_without_special_days_exactly_five_days_a_week_are_worked(day):
    monday = day - timedelta(days=day.weekday())
    week = [monday + timedelta(days=i) for i in range(7)]
    assert sum(is_working_day(d, {}) for d in week) == 5
