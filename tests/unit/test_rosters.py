"""Rosters: the hard constraints hold for every generated plan, and rotation is fair."""
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scheduling.domain.rosters import Leave, Slot, check_assignable, rotate
from shared.errors import Conflict


def session(ref: str, day: date, start_hour: int = 0, hours: int = 4) -> Slot:
    starts = datetime(day.year, day.month, day.day, start_hour, tzinfo=UTC)
    return Slot(ref=ref, day=day, starts_at=starts, ends_at=starts + timedelta(hours=hours))


D = date(2026, 12, 9)


def test_one_cadre_is_never_in_two_places_at_once():
    morning = session("A", D, 0)
    with pytest.raises(Conflict) as err:
        check_assignable(7, session("B", D, 2), [morning], [])
    assert err.value.code == "double_booked"
    check_assignable(7, session("C", D, 5), [morning], [])  # the afternoon is free
    check_assignable(7, morning, [morning], [])  # already there: not a clash with itself


def test_leave_is_respected():
    with pytest.raises(Conflict) as err:
        check_assignable(7, session("A", D), [], [Leave(7, D, D + timedelta(days=2))])
    assert err.value.code == "on_leave"
    check_assignable(8, session("A", D), [], [Leave(7, D, D)])


def test_rotation_spreads_sessions_evenly():
    sessions = [session(f"S{i}", D + timedelta(days=3 * i)) for i in range(10)]
    plan = rotate(sessions, [1, 2, 3, 4], per_session=2, max_per_cadre=10, existing={}, leave=[])
    counts = Counter(c for cadres in plan.values() for c in cadres)
    assert sorted(counts.values()) == [5, 5, 5, 5]
    assert all(len(cadres) == 2 for cadres in plan.values())


sessions_strategy = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 20), st.integers(1, 6)), min_size=1,
                             max_size=25, unique_by=lambda t: t[:2])


@given(sessions_strategy, st.integers(1, 6), st.integers(1, 3), st.integers(1, 12),
       st.lists(st.tuples(st.integers(1, 6), st.integers(0, 30), st.integers(0, 5)), max_size=4))
def test_generated_rosters_never_break_a_hard_constraint(raw_sessions, n_cadres, per_session, max_per_cadre, raw_leave):
    sessions = [session(f"S{d}-{h}", D + timedelta(days=d), h, length) for d, h, length in raw_sessions]
    cadres = list(range(1, n_cadres + 1))
    leave = [Leave(c, D + timedelta(days=d), D + timedelta(days=d + n)) for c, d, n in raw_leave]
    plan = rotate(sessions, cadres, per_session=per_session, max_per_cadre=max_per_cadre, existing={}, leave=leave)
    by_ref = {s.ref: s for s in sessions}
    for cadre in cadres:
        mine = [by_ref[ref] for ref, staff in plan.items() if cadre in staff]
        assert len(mine) <= max_per_cadre
        for i, a in enumerate(mine):
            assert not any(a.overlaps(b) for b in mine[i + 1:])
            assert not any(away.staff_id == cadre and away.covers(a.day) for away in leave)
    assert all(len(staff) <= per_session and len(set(staff)) == len(staff) for staff in plan.values())


@given(st.integers(1, 40), st.integers(2, 8), st.integers(1, 3))
def test_without_constraints_nobody_goes_more_than_once_more_than_anyone_else(n_sessions, n_cadres, per_session):
    per_session = min(per_session, n_cadres)
    sessions = [session(f"S{i}", D + timedelta(days=i)) for i in range(n_sessions)]
    plan = rotate(sessions, list(range(n_cadres)), per_session=per_session, max_per_cadre=10**6, existing={}, leave=[])
    counts = Counter({c: 0 for c in range(n_cadres)}) + Counter(c for s in plan.values() for c in s)
    counts.update({c: 0 for c in range(n_cadres)})
    assert max(counts.values()) - min(counts.values()) <= 1
