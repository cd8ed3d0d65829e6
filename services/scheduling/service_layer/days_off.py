"""Days off reaching what is already scheduled: the directory's calendar changes a day, and the market-day
sessions and visits on it are called off, held for a decision, offered back or resumed (the rules are in
domain/days_off.py). Each change is announced so that cadres and booked villagers can be told."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from services.scheduling.adapters import orm
from services.scheduling.domain.days_off import CalledOff, Decision, Lifted, is_day_off, when_called_off, when_lifted
from services.scheduling.domain.rosters import Slot
from services.scheduling.service_layer import handlers as h
from services.scheduling.service_layer import visits as v
from shared.clock import today_in_china
from shared.contracts.caller import Caller
from shared.contracts.scheduling import OccasionCalledOff, OccasionDayOffLifted, SessionView, VisitView
from shared.db import UnitOfWork
from shared.divisions import township_range
from shared.errors import Conflict


@dataclass(frozen=True)
class Occasions:
    """How one kind of occasion (market-day sessions, visits) is stored, staffed and announced."""

    name: str
    model: Any
    open_status: str
    slot_column: Any
    staff: Callable[[UnitOfWork, str], list[int]]
    announce: Callable[[UnitOfWork, str, Any, datetime], None]
    cancelled_event: str
    open_event: str


def _rostered(uow: UnitOfWork, session_id: str) -> list[int]:
    return list(uow.session.execute(select(orm.RosterEntry.staff_id).where(orm.RosterEntry.session_id == session_id)
                                    .order_by(orm.RosterEntry.staff_id)).scalars())


def _members(uow: UnitOfWork, visit_id: str) -> list[int]:
    return sorted(m.staff_id for m in v._members(uow, visit_id))


SESSIONS = Occasions("session", orm.Session, "scheduled", orm.SlotRow.session_id, _rostered, h._announce,
                     "session_cancelled", "session_scheduled")
VISITS = Occasions("visit", orm.Visit, "planned", orm.SlotRow.visit_id, _members, v._announce,
                   "visit_cancelled", "visit_planned")


# ---- the calendar changed -------------------------------------------------------------------------------

def follow_calendar_change(uow: UnitOfWork, *, county: str, day: date, kind: str | None, name: str | None,
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


def _in_county(model: type, county: str) -> Any:
    first, last = township_range(county)
    return model.township_code.between(first, last)


def _call_off(uow: UnitOfWork, county: str, day: date, day_off: str, now: datetime) -> None:
    for kind in (SESSIONS, VISITS):
        m = kind.model
        for row in uow.session.execute(select(m).where(m.day == day, _in_county(m, county),
                                                       m.status == kind.open_status,
                                                       m.day_off.is_(None), m.starts_at > now)
                                       .order_by(m.starts_at, m.id)).scalars():
            bookings = _active_bookings(uow, kind, row.id)
            outcome = when_called_off(len(bookings))
            row.day_off, row.restorable, row.updated_at = day_off, False, now
            if outcome is CalledOff.CANCELLED:
                row.status = "cancelled"
                kind.announce(uow, kind.cancelled_event, row, now)
            else:
                row.status = "needs_decision"
            _tell(uow, OccasionCalledOff, kind, row, outcome.value, bookings, now)
        # what a lifted day off offered back is no longer on offer once the day is off again
        uow.session.execute(update(m).where(m.day == day, _in_county(m, county), m.status == "cancelled",
                                            m.restorable.is_(True))
                            .values(restorable=False, day_off=day_off))


def _lift(uow: UnitOfWork, county: str, day: date, now: datetime) -> None:
    for kind in (SESSIONS, VISITS):
        m = kind.model
        for row in uow.session.execute(select(m).where(m.day == day, _in_county(m, county), m.day_off.is_not(None),
                                                       m.starts_at > now)
                                       .order_by(m.starts_at, m.id)).scalars():
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
            _tell(uow, OccasionDayOffLifted, kind, row, lifted.value, _active_bookings(uow, kind, row.id), now,
                  day_off=day_off)


def _active_bookings(uow: UnitOfWork, kind: Occasions, occasion_id: str) -> list[orm.Booking]:
    return list(uow.session.execute(
        select(orm.Booking).join(orm.SlotRow, orm.SlotRow.id == orm.Booking.slot_id)
        .where(kind.slot_column == occasion_id, orm.Booking.status == "booked")
        .order_by(orm.Booking.booked_at, orm.Booking.id)).scalars())


def _tell(uow: UnitOfWork, event: type[OccasionCalledOff] | type[OccasionDayOffLifted], kind: Occasions, row: Any,
          outcome: str, bookings: list[orm.Booking], now: datetime, *, day_off: str | None = None) -> None:
    payload = event(occasion=kind.name, id=row.id, township_code=row.township_code, day=row.day,
                    starts_at=row.starts_at, day_off=day_off or row.day_off, staff_ids=kind.staff(uow, row.id),
                    booking_ids=[b.id for b in bookings], outcome=outcome)
    event_type = "occasion_called_off" if event is OccasionCalledOff else "occasion_day_off_lifted"
    uow.record_event(event_type, payload.model_dump(mode="json"), township_code=row.township_code, now=now)


# ---- planners restore and decide ----------------------------------------------------------------------------

def _restore(uow: UnitOfWork, caller: Caller, kind: Occasions, row: Any, now: datetime) -> None:
    """Put back what a day off cancelled, once the day is no longer off; its cadres must still be free."""
    h.require_manager(caller, row.township_code)
    if row.status != "cancelled" or not row.restorable or row.starts_at <= now:
        raise Conflict(f"only a {kind.name} cancelled by a day off that was lifted since is restored",
                       code="not_restorable")
    for staff_id in kind.staff(uow, row.id):
        h.commit_cadre(uow, staff_id, row.township_code,
                       Slot(ref=row.id, day=row.day, starts_at=row.starts_at, ends_at=row.ends_at))
    row.status, row.day_off, row.restorable, row.updated_at = kind.open_status, None, False, now
    kind.announce(uow, kind.open_event, row, now)
    uow.commit()


def _decide(uow: UnitOfWork, caller: Caller, kind: Occasions, row: Any, decision: Decision, now: datetime) -> None:
    """Cancel a session or visit a day off fell on while villagers had booked (their bookings are cancelled
    and they are told), or hold it on the day off anyway."""
    h.require_manager(caller, row.township_code)
    if row.status != "needs_decision":
        raise Conflict(f"no decision is pending on this {kind.name}", code="no_decision_pending")
    row.updated_at = now
    if decision is Decision.HOLD:
        row.status = kind.open_status  # day_off stays: held on it, and regeneration leaves it
        uow.commit()
        return
    bookings = _active_bookings(uow, kind, row.id)
    for booking in bookings:
        booking.status = "cancelled"
        uow.session.execute(update(orm.SlotRow).where(orm.SlotRow.id == booking.slot_id)
                            .values(booked=orm.SlotRow.booked - 1))
    row.status = "cancelled"
    kind.announce(uow, kind.cancelled_event, row, now)
    _tell(uow, OccasionCalledOff, kind, row, CalledOff.CANCELLED.value, bookings, now)
    uow.commit()


def restore_session(uow: UnitOfWork, *, caller: Caller, session_id: str, now: datetime) -> SessionView:
    session = h._session(uow, caller, session_id)
    _restore(uow, caller, SESSIONS, session, now)
    return h._one(uow, session)


def restore_visit(uow: UnitOfWork, *, caller: Caller, visit_id: str, now: datetime) -> VisitView:
    visit = v._visit(uow, caller, visit_id)
    _restore(uow, caller, VISITS, visit, now)
    return v.visit_view(uow, visit)


def decide_session_day_off(uow: UnitOfWork, *, caller: Caller, session_id: str, decision: str,
                           now: datetime) -> SessionView:
    session = h._session(uow, caller, session_id)
    _decide(uow, caller, SESSIONS, session, Decision(decision), now)
    return h._one(uow, session)


def decide_visit_day_off(uow: UnitOfWork, *, caller: Caller, visit_id: str, decision: str,
                         now: datetime) -> VisitView:
    visit = v._visit(uow, caller, visit_id)
    _decide(uow, caller, VISITS, visit, Decision(decision), now)
    return v.visit_view(uow, visit)
