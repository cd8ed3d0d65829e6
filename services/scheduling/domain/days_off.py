"""What a change of the working-day calendar does to a market-day session or a visit already on that day.
Pure: the caller says what the day has become and what the occasion holds.

- A day that becomes a day off (a holiday or a county day off) calls off what was going to happen on it:
  cancelled outright, or, when villagers have booked places, held for a planner's decision (cancel, and
  the villagers are told; or hold the post anyway).
- When the day is no longer off, what it cancelled may be restored by a planner (never silently: the
  cadres may have made other plans), and what was waiting for a decision simply goes ahead.
- Only what has not begun is touched; a decision once taken (held on a day off) stands.
"""
from __future__ import annotations

from enum import StrEnum


class CalledOff(StrEnum):
    CANCELLED = "cancelled"
    NEEDS_DECISION = "needs_decision"


class Lifted(StrEnum):
    RESTORABLE = "restorable"  # it was cancelled: a planner may restore it
    RESUMED = "resumed"  # it was waiting for a decision: it goes ahead as planned


class Decision(StrEnum):
    CANCEL = "cancel"
    HOLD = "hold"


def is_day_off(kind: str | None) -> bool:
    """A calendar entry's kind: holidays and county days off are off; 调休 make-up days and cleared days are
    not (an ordinary weekday again)."""
    return kind is not None and kind != "makeup_workday"


def when_called_off(active_bookings: int) -> CalledOff:
    """Villagers who booked a place are not stood up by a rule: a person decides, and tells them."""
    return CalledOff.NEEDS_DECISION if active_bookings else CalledOff.CANCELLED


def when_lifted(status: str) -> Lifted | None:
    """What lifting the day off means for an occasion the day off reached (its status now)."""
    if status == "cancelled":
        return Lifted.RESTORABLE
    if status == "needs_decision":
        return Lifted.RESUMED
    return None  # held on the day off: it was going ahead anyway
