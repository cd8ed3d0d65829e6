"""Deadline maths in working days: hand-worked cases across the 2026 Spring Festival, and properties
that must hold for every calendar, limit and pause."""
from datetime import date, timedelta

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from shared.working_days import (
    Pause,
    WorkingCalendar,
    counts,
    deadline,
    is_overdue,
    warning_day,
    working_days_used,
)

# 2026 春节 as the State Council set it: off 15–23 February, 调休 Saturdays 14 and 28 February.
SPRING_2026 = WorkingCalendar(
    days_off=frozenset(date(2026, 2, d) for d in range(15, 24)),
    makeup_workdays=frozenset({date(2026, 2, 14), date(2026, 2, 28)}))


def test_counting_starts_the_working_day_after_receipt():
    plain = WorkingCalendar()
    assert deadline(plain, date(2026, 11, 26), 1) == date(2026, 11, 27)  # Thu → Fri
    assert deadline(plain, date(2026, 11, 27), 1) == date(2026, 11, 30)  # Fri → Mon
    assert deadline(plain, date(2026, 11, 28), 1) == date(2026, 11, 30)  # received on a Saturday
    assert deadline(plain, date(2026, 11, 27), 0) == date(2026, 11, 27)  # immediate item: same day


def test_ten_days_across_the_spring_festival_by_hand():
    # Received Thu 12 Feb. Counted: Fri 13 (1), Sat 14 调休 (2), [15–23 off], Tue 24 (3), Wed 25 (4),
    # Thu 26 (5), Fri 27 (6), Sat 28 调休 (7), [Sun 1 Mar off], Mon 2 (8), Tue 3 (9), Wed 4 (10).
    assert deadline(SPRING_2026, date(2026, 2, 12), 10) == date(2026, 3, 4)


def test_a_supplement_pause_across_the_spring_festival_by_hand():
    # 补正 requested Wed 25 Feb, materials arrive Fri 27 Feb: 25, 26 and 27 are not counted.
    # Counted: 13 (1), 14 调休 (2), 24 (3), Sat 28 调休 (4), Mon 2 Mar (5), 3 (6), 4 (7), 5 (8),
    # Fri 6 (9), [7–8 weekend], Mon 9 Mar (10).
    pause = Pause(requested_on=date(2026, 2, 25), received_on=date(2026, 2, 27))
    assert deadline(SPRING_2026, date(2026, 2, 12), 10, [pause]) == date(2026, 3, 9)
    assert working_days_used(SPRING_2026, date(2026, 2, 12), date(2026, 2, 27), [pause]) == 3
    # 75% of 10 days is reached on the 8th counted day: Thu 5 March
    assert warning_day(SPRING_2026, date(2026, 2, 12), 10, 0.75, [pause]) == date(2026, 3, 5)


def test_an_outstanding_supplement_stops_the_clock():
    pause = Pause(requested_on=date(2026, 2, 25))
    assert deadline(SPRING_2026, date(2026, 2, 12), 10, [pause]) is None
    assert deadline(SPRING_2026, date(2026, 2, 12), 3, [pause]) == date(2026, 2, 24)  # ran out before the pause


def test_overdue_from_the_day_after_the_deadline():
    assert not is_overdue(date(2026, 3, 4), date(2026, 3, 4))
    assert is_overdue(date(2026, 3, 4), date(2026, 3, 5))
    assert not is_overdue(None, date(2030, 1, 1))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        deadline(WorkingCalendar(), date(2026, 1, 1), -1)
    with pytest.raises(ValueError):
        warning_day(WorkingCalendar(), date(2026, 1, 1), 5, 0)
    everything_off = WorkingCalendar(days_off=frozenset(date(2026, 1, 1) + timedelta(d) for d in range(4000)))
    with pytest.raises(ValueError):
        deadline(everything_off, date(2026, 1, 1), 1)


START = date(2026, 1, 1)
days_in_window = st.integers(0, 500).map(lambda n: START + timedelta(days=n))
calendars = st.builds(
    lambda off, makeup: WorkingCalendar(frozenset(off), frozenset(d for d in makeup if d.weekday() >= 5)),
    st.sets(days_in_window, max_size=60), st.sets(days_in_window, max_size=20))
pauses = st.lists(st.tuples(st.integers(1, 200), st.integers(0, 15)).map(
    lambda t: Pause(START + timedelta(t[0]), START + timedelta(t[0] + t[1]))), max_size=3)
received_days = st.integers(0, 120).map(lambda n: START + timedelta(days=n))
limits = st.integers(1, 60)


@given(calendars, received_days, limits, pauses)
def test_adding_then_counting_working_days_round_trips(calendar, received, limit, pause_list):
    last = deadline(calendar, received, limit, pause_list)
    assert working_days_used(calendar, received, last, pause_list) == limit
    assert working_days_used(calendar, received, last - timedelta(days=1), pause_list) == limit - 1


@given(calendars, received_days, limits, pauses)
def test_a_deadline_never_lands_on_a_day_off_or_in_a_pause(calendar, received, limit, pause_list):
    last = deadline(calendar, received, limit, pause_list)
    assert calendar.is_working_day(last)
    assert counts(calendar, last, pause_list)


@given(calendars, received_days, limits, pauses)
def test_pauses_never_shorten_a_deadline(calendar, received, limit, pause_list):
    assert deadline(calendar, received, limit, pause_list) >= deadline(calendar, received, limit)


@given(calendars, received_days, limits)
def test_one_more_day_of_limit_is_a_later_deadline(calendar, received, limit):
    assert deadline(calendar, received, limit + 1) > deadline(calendar, received, limit)


@given(calendars, received_days, limits, st.sets(days_in_window, max_size=10))
def test_an_extra_day_off_never_brings_a_deadline_forward(calendar, received, limit, extra):
    more_off = WorkingCalendar(calendar.days_off | extra, calendar.makeup_workdays - extra)
    assert deadline(more_off, received, limit) >= deadline(calendar, received, limit)


@given(calendars, received_days, limits, st.floats(0.05, 1.0))
# found by a random run: 0.05000000000000001 × 60 is 3.0000000000000004 in floating point, and the
# warning rightly comes on the 3rd working day (a share is a count of days, not a float to beat)
@example(WorkingCalendar(), date(2026, 3, 2), 60, 0.05000000000000001)
def test_the_warning_comes_no_later_than_the_deadline(calendar, received, limit, share):
    warn = warning_day(calendar, received, limit, share)
    assert received < warn <= deadline(calendar, received, limit)
    assume(share < 1)
    assert working_days_used(calendar, received, warn) >= share * limit - 1e-9
