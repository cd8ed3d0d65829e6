"""Days off reaching what is already scheduled: the directory's calendar changes a day, and the market-day
sessions and visits on it are called off, held for a decision, offered back or resumed (the rules are in
domain/days_off.py). Each change is announced so that cadres and booked villagers can be told."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.scheduling.adapters import orm, repositories
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.domain.days_off import CalledOff, Decision, Lifted, is_day_off, when_called_off, when_lifted
from services.scheduling.domain.rosters import Slot
from services.scheduling.service_layer import sessions, visit_planning
from services.scheduling.service_layer.rosters import commit_cadre
from services.scheduling.service_layer.sessions import require_manager
from shared.clock import today_in_china
from shared.contracts.caller import Caller
from shared.contracts.scheduling import OccasionCalledOff, OccasionDayOffLifted, SessionView, VisitView
from shared.errors import Conflict


@dataclass(frozen=True)
class Occasions:
    """How one kind of occasion (market-day sessions, visits) is found, booked, staffed and announced."""

    name: str
    rows: Callable[[SchedulingUnitOfWork], repositories.Occasions]
    open_status: str
    bookings: Callable[[SchedulingUnitOfWork, str], list[orm.Booking]]
    staff: Callable[[SchedulingUnitOfWork, str], list[int]]
    announce: Callable[[SchedulingUnitOfWork, str, Any, datetime], None]
    cancelled_event: str
    open_event: str


def _rostered(uow: SchedulingUnitOfWork, session_id: str) -> list[int]:
    return uow.roster.staff_of(session_id)


def _members(uow: SchedulingUnitOfWork, visit_id: str) -> list[int]:
    return sorted(m.staff_id for m in uow.visit_members.of_visit(visit_id))


SESSIONS = Occasions("session", lambda uow: uow.sessions, "scheduled",
                     lambda uow, session_id: uow.bookings.active_at(session_id=session_id), _rostered,
                     sessions.announce, "session_cancelled", "session_scheduled")
VISITS = Occasions("visit", lambda uow: uow.visits, "planned",
                   lambda uow, visit_id: uow.bookings.active_at(visit_id=visit_id), _members,
                   visit_planning.announce, "visit_cancelled", "visit_planned")


# ---- the calendar changed -------------------------------------------------------------------------------

def follow_calendar_change(uow: SchedulingUnitOfWork, *, county: str, day: date, kind: str | None, name: str | None,
                           now: datetime) -> None:
    """Apply the directory's `calendar_changed` (the county, the day, and its kind and name now; kind None
    once cleared) to what that county has scheduled that day, in the event's transaction (no commit here).
    Idempotent: what a day off already reached is not reached again."""
    if day < today_in_china(now):
        return  # past occasions stay as they happened
    if is_day_off(kind):
        _call_off(uow, county, day, name or str(kind), now)
    else:
        _lift(uow, county, day, now)


def _call_off(uow: SchedulingUnitOfWork, county: str, day: date, day_off: str, now: datetime) -> None:
    for kind in (SESSIONS, VISITS):
        for row in kind.rows(uow).to_call_off(county, day, now):
            bookings = kind.bookings(uow, row.id)
            outcome = when_called_off(len(bookings))
            row.day_off, row.restorable, row.updated_at = day_off, False, now
            if outcome is CalledOff.CANCELLED:
                row.status = "cancelled"
                kind.announce(uow, kind.cancelled_event, row, now)
            else:
                row.status = "needs_decision"
            _tell(uow, OccasionCalledOff, kind, row, outcome.value, bookings, now)
        # what a lifted day off offered back is no longer on offer once the day is off again
        kind.rows(uow).withdraw_offers(county, day, day_off)


def _lift(uow: SchedulingUnitOfWork, county: str, day: date, now: datetime) -> None:
    for kind in (SESSIONS, VISITS):
        for row in kind.rows(uow).reached_by_day_off(county, day, now):
            lifted = when_lifted(row.status)
            if lifted is None:  # held on the day off: simply an ordinary day again
                row.day_off = None
                continue
            if lifted is Lifted.RESTORABLE and row.restorable:
                continue  # offered back already
            day_off = row.day_off
            if lifted is Lifted.RESTORABLE:
                row.restorable = True
            else:
                row.status, row.day_off = kind.open_status, None
            row.updated_at = now
            _tell(uow, OccasionDayOffLifted, kind, row, lifted.value, kind.bookings(uow, row.id), now,
                  day_off=day_off)


def _tell(uow: SchedulingUnitOfWork, event: type[OccasionCalledOff] | type[OccasionDayOffLifted], kind: Occasions,
          row: Any, outcome: str, bookings: list[orm.Booking], now: datetime, *, day_off: str | None = None) -> None:
    payload = event(occasion=kind.name, id=row.id, township_code=row.township_code, day=row.day,
                    starts_at=row.starts_at, day_off=day_off or row.day_off, staff_ids=kind.staff(uow, row.id),
                    booking_ids=[b.id for b in bookings], outcome=outcome)
    event_type = "occasion_called_off" if event is OccasionCalledOff else "occasion_day_off_lifted"
    uow.record_event(event_type, payload.model_dump(mode="json"), township_code=row.township_code, now=now)


# ---- planners restore and decide ----------------------------------------------------------------------------

def _restore(uow: SchedulingUnitOfWork, caller: Caller, kind: Occasions, row: Any, now: datetime) -> None:
    """Put back what a day off cancelled, once the day is no longer off; its cadres must still be free."""
    require_manager(caller, row.township_code)
    if row.status != "cancelled" or not row.restorable or row.starts_at <= now:
        raise Conflict(f"only a {kind.name} cancelled by a day off that was lifted since is restored",
                       code="not_restorable")
    for staff_id in kind.staff(uow, row.id):
        commit_cadre(uow, staff_id, row.township_code,
                     Slot(ref=row.id, day=row.day, starts_at=row.starts_at, ends_at=row.ends_at))
    row.status, row.day_off, row.restorable, row.updated_at = kind.open_status, None, False, now
    kind.announce(uow, kind.open_event, row, now)
    uow.commit()


def _decide(uow: SchedulingUnitOfWork, caller: Caller, kind: Occasions, row: Any, decision: Decision,
            now: datetime) -> None:
    """Cancel a session or visit a day off fell on while villagers had booked (their bookings are cancelled
    and they are told), or hold it on the day off anyway."""
    require_manager(caller, row.township_code)
    if row.status != "needs_decision":
        raise Conflict(f"no decision is pending on this {kind.name}", code="no_decision_pending")
    row.updated_at = now
    if decision is Decision.HOLD:
        row.status = kind.open_status  # day_off stays: held on it, and regeneration leaves it
        uow.commit()
        return
    bookings = kind.bookings(uow, row.id)
    for booking in bookings:
        booking.status = "cancelled"
        uow.slots.give_back_place(booking.slot_id)
    row.status = "cancelled"
    kind.announce(uow, kind.cancelled_event, row, now)
    _tell(uow, OccasionCalledOff, kind, row, CalledOff.CANCELLED.value, bookings, now)
    uow.commit()


def restore_session(uow: SchedulingUnitOfWork, *, caller: Caller, session_id: str, now: datetime) -> SessionView:
    session = sessions.find_session(uow, caller, session_id)
    _restore(uow, caller, SESSIONS, session, now)
    return sessions.session_view(uow, session)


def restore_visit(uow: SchedulingUnitOfWork, *, caller: Caller, visit_id: str, now: datetime) -> VisitView:
    visit = visit_planning.find_visit(uow, caller, visit_id)
    _restore(uow, caller, VISITS, visit, now)
    return visit_planning.visit_view(uow, visit)


def decide_session_day_off(uow: SchedulingUnitOfWork, *, caller: Caller, session_id: str, decision: str,
                           now: datetime) -> SessionView:
    session = sessions.find_session(uow, caller, session_id)
    _decide(uow, caller, SESSIONS, session, Decision(decision), now)
    return sessions.session_view(uow, session)


def decide_visit_day_off(uow: SchedulingUnitOfWork, *, caller: Caller, visit_id: str, decision: str,
                         now: datetime) -> VisitView:
    visit = visit_planning.find_visit(uow, caller, visit_id)
    _decide(uow, caller, VISITS, visit, Decision(decision), now)
    return visit_planning.visit_view(uow, visit)
