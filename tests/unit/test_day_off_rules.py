"""What a calendar change does to a session or visit already on that day (domain/days_off.py)."""
from services.scheduling.domain.days_off import CalledOff, Lifted, is_day_off, when_called_off, when_lifted


def test_holidays_and_county_days_off_are_off_make_up_days_and_cleared_days_are_not():
    assert is_day_off("holiday") and is_day_off("local_day_off")
    assert not is_day_off("makeup_workday") and not is_day_off(None)


def test_a_day_off_cancels_outright_unless_villagers_have_booked():
    assert when_called_off(0) is CalledOff.CANCELLED
    assert when_called_off(1) is CalledOff.NEEDS_DECISION


def test_lifting_a_day_off_offers_back_the_cancelled_and_resumes_the_undecided():
    assert when_lifted("cancelled") is Lifted.RESTORABLE
    assert when_lifted("needs_decision") is Lifted.RESUMED
    assert when_lifted("scheduled") is None and when_lifted("planned") is None  # held on the day off
