"""Market days, market-day sessions 便民服务岗 with their rosters and check-in, and appointments 预约."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from gateway.audit import PERSONAL_DATA
from gateway.auth import CurrentStaff, PublicCaller
from gateway.routes import Calls, TownshipChoice
from shared.clock import today_in_china
from shared.contracts.scheduling import (
    BookingCreate,
    BookingView,
    DayOffDecision,
    LeaveCreate,
    MarketDays,
    RosterAssign,
    RosterGenerate,
    RosterSwap,
    SessionGenerate,
    SessionView,
    SlotsCreate,
    SlotView,
)

router = APIRouter(tags=["market days"])
Start = Annotated[date | None, Query(description="first day (default: today, China time)")]
End = Annotated[date | None, Query(
    description="last day (default: 30 days after start): on or after start, at most 800 days after it")]


def period(start: date | None, end: date | None) -> tuple[str, str]:
    first = start or today_in_china()
    return first.isoformat(), (end or first + timedelta(days=30)).isoformat()


@router.get("/market-sites/{code}/market-days", operation_id="site_market_days", response_model=MarketDays)
async def site_market_days(code: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")],
                           caller: CurrentStaff, calls: Calls, start: Start = None, end: End = None) -> dict:
    """Preview a site's market days: "show me the market days of this site next month"."""
    first, last = period(start, end)
    return await calls.call("scheduling", "site_market_days", caller=caller, site_code=code, start=first, end=last)


@router.get("/public/townships/{code}/market-days", operation_id="public_market_calendar",
            response_model=list[MarketDays])
async def public_market_calendar(code: Annotated[str, Path(pattern=r"^\d{9}$")], public: PublicCaller,
                                 calls: Calls, start: Start = None, end: End = None) -> list:
    """Where and when a township's markets meet: the days its market-day service posts can be found."""
    first, last = period(start, end)
    return await calls.call("scheduling", "public_market_calendar", caller=public, township_code=code,
                            start=first, end=last)


# ---- sessions 便民服务岗, rosters, attendance ---------------------------------------------------------

SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.post("/sessions/generate", tags=["sessions"], operation_id="generate_sessions",
             response_model=list[SessionView])
async def generate_sessions(plan: SessionGenerate, caller: CurrentStaff, calls: Calls) -> list:
    """Create the market-day sessions of a site for a period (idempotent; only future days change)."""
    return await calls.call("scheduling", "generate_sessions", caller=caller, plan=plan.model_dump(mode="json"))


@router.get("/sessions", tags=["sessions"], operation_id="list_sessions", response_model=list[SessionView])
async def list_sessions(caller: CurrentStaff, calls: Calls, start: Start = None, end: End = None,
                        site_code: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")] = None,
                        township_code: TownshipChoice = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list:
    """The sessions of a period by day and site, with their rosters and attendance."""
    first, last = period(start, end)
    return await calls.call("scheduling", "list_sessions", caller=caller, query={
        "site_code": site_code, "township_code": township_code, "start": first, "end": last, "limit": limit})


@router.post("/sessions/{session_id}/roster", tags=["sessions"], operation_id="assign_cadre",
             response_model=SessionView)
async def assign_cadre(session_id: SessionId, body: RosterAssign, caller: CurrentStaff, calls: Calls) -> dict:
    """Roster a cadre; refused (409 `double_booked`, `on_leave`) if they are elsewhere or away."""
    return await calls.call("scheduling", "assign", caller=caller, session_id=session_id,
                            assignment=body.model_dump(mode="json"))


@router.post("/sessions/{session_id}/swap", tags=["sessions"], operation_id="swap_cadres", response_model=SessionView)
async def swap_cadres(session_id: SessionId, body: RosterSwap, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("scheduling", "swap", caller=caller, session_id=session_id,
                            swap=body.model_dump(mode="json"))


@router.post("/sessions/{session_id}/restore", tags=["sessions"], operation_id="restore_session",
             response_model=SessionView)
async def restore_session(session_id: SessionId, caller: CurrentStaff, calls: Calls) -> dict:
    """Put back a session a day off cancelled, once that day is no longer off (`restorable`); 409
    `not_restorable` otherwise, or if a rostered cadre is no longer free."""
    return await calls.call("scheduling", "restore_session", caller=caller, session_id=session_id)


@router.post("/sessions/{session_id}/day-off-decision", tags=["sessions"], operation_id="decide_session_day_off",
             response_model=SessionView)
async def decide_session_day_off(session_id: SessionId, body: DayOffDecision, caller: CurrentStaff,
                                 calls: Calls) -> dict:
    """A day off fell on a session villagers had booked (`needs_decision`): `cancel` it (the bookings are
    cancelled and the villagers told) or `hold` it anyway."""
    return await calls.call("scheduling", "decide_session_day_off", caller=caller, session_id=session_id,
                            decision=body.model_dump(mode="json"))


@router.post("/rosters/generate", tags=["sessions"], operation_id="generate_roster", response_model=list[SessionView])
async def generate_roster(plan: RosterGenerate, caller: CurrentStaff, calls: Calls) -> list:
    """Fill upcoming sessions by fair rotation: fewest sessions so far first, never double-booked,
    never on leave, never past each cadre's maximum."""
    return await calls.call("scheduling", "generate_roster", caller=caller, plan=plan.model_dump(mode="json"))


@router.post("/leave", tags=["sessions"], operation_id="record_leave", status_code=201)
async def record_leave(body: LeaveCreate, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("scheduling", "record_leave", caller=caller, leave=body.model_dump(mode="json"))


@router.post("/sessions/{session_id}/check-in/{staff_id}", tags=["sessions"], operation_id="check_in",
             response_model=SessionView)
async def check_in(session_id: SessionId, staff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], caller: CurrentStaff,
                   calls: Calls) -> dict:
    """A rostered cadre arrives (themselves, or recorded by the station's staff)."""
    return await calls.call("scheduling", "check", caller=caller, session_id=session_id, staff_id=staff_id, out=False)


@router.post("/sessions/{session_id}/check-out/{staff_id}", tags=["sessions"], operation_id="check_out",
             response_model=SessionView)
async def check_out(session_id: SessionId, staff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], caller: CurrentStaff,
                    calls: Calls) -> dict:
    return await calls.call("scheduling", "check", caller=caller, session_id=session_id, staff_id=staff_id, out=True)


# ---- appointments 预约 --------------------------------------------------------------------------------

@router.post("/sessions/{session_id}/slots", tags=["appointments"], operation_id="create_slots", status_code=201,
             response_model=list[SlotView])
async def create_slots(session_id: SessionId, body: SlotsCreate, caller: CurrentStaff, calls: Calls) -> list:
    return await calls.call("scheduling", "create_slots", caller=caller, session_id=session_id,
                            slots=body.model_dump(mode="json"))


@router.get("/public/sessions/{session_id}/slots", tags=["public"], operation_id="public_slots",
            response_model=list[SlotView])
async def public_slots(session_id: SessionId, public: PublicCaller, calls: Calls) -> list:
    """The appointment slots of a market-day post and how many places are left."""
    return await calls.call("scheduling", "list_slots", caller=public, session_id=session_id)


@router.get("/sessions/{session_id}/bookings", tags=["appointments"], operation_id="list_bookings",
            response_model=list[BookingView], openapi_extra=PERSONAL_DATA)
async def list_bookings(session_id: SessionId, caller: CurrentStaff, calls: Calls) -> list:
    """Who booked a place at the post, by slot time, every status: for the township's staff who serve it
    (names and phones in full; the read is in the audit log)."""
    return await calls.call("scheduling", "list_bookings", caller=caller, session_id=session_id)


@router.post("/public/slots/{slot_id}/bookings", tags=["public"], operation_id="book_slot", status_code=201,
             response_model=BookingView)
async def book_slot(slot_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: BookingCreate, public: PublicCaller,
                    calls: Calls) -> dict:
    """A villager books a place (409 `slot_full` when there is none left; `already_booked` when this phone
    number holds a place in the slot already). Keep the booking id to cancel."""
    return await calls.call("scheduling", "book", caller=public, slot_id=slot_id, booking=body.model_dump(mode="json"))


@router.post("/slots/{slot_id}/bookings", tags=["appointments"], operation_id="book_slot_for_villager",
             status_code=201, response_model=BookingView)
async def book_slot_for_villager(slot_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: BookingCreate,
                                 caller: CurrentStaff, calls: Calls) -> dict:
    """A station books on a villager's behalf."""
    return await calls.call("scheduling", "book", caller=caller, slot_id=slot_id, booking=body.model_dump(mode="json"))


@router.post("/public/bookings/{booking_id}/cancel", tags=["public"], operation_id="cancel_booking",
             response_model=BookingView)
async def cancel_booking(booking_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")], public: PublicCaller,
                         calls: Calls) -> dict:
    return await calls.call("scheduling", "change_booking", caller=public, booking_id=booking_id, status="cancelled")


@router.post("/bookings/{booking_id}/{status}", tags=["appointments"], operation_id="mark_booking",
             response_model=BookingView)
async def mark_booking(booking_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
                       status: Literal["served", "no_show", "cancelled"], caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("scheduling", "change_booking", caller=caller, booking_id=booking_id, status=status)
