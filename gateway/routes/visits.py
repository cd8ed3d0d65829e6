"""Visits 下访 of the five kinds: campaigns 专题, one-off visits, periodic and fixed-point series, reports,
appointment slots at visits, and the public calendar of upcoming posts and visits."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.audit import PERSONAL_DATA
from gateway.auth import CurrentStaff, PublicCaller
from gateway.routes import Calls, TownshipChoice
from gateway.routes.scheduling import End, Start, period
from shared.contracts.scheduling import (
    BookingView,
    CampaignCreate,
    CampaignView,
    DayOffDecision,
    PublicCalendarEntry,
    SlotsCreate,
    SlotView,
    VisitKind,
    VisitPlan,
    VisitReport,
    VisitSeriesChange,
    VisitSeriesCreate,
    VisitSeriesView,
    VisitView,
)

router = APIRouter(tags=["visits"])
VisitId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.post("/campaigns", operation_id="create_campaign", status_code=201, response_model=CampaignView)
async def create_campaign(body: CampaignCreate, caller: CurrentStaff, calls: Calls) -> dict:
    """专题: a themed campaign with a period; topical visits belong to one."""
    return await calls.call("scheduling", "create_campaign", caller=caller, campaign=body.model_dump(mode="json"))


@router.get("/campaigns", operation_id="list_campaigns", response_model=list[CampaignView])
async def list_campaigns(caller: CurrentStaff, calls: Calls) -> list:
    return await calls.call("scheduling", "list_campaigns", caller=caller)


@router.post("/visits", operation_id="plan_visit", status_code=201, response_model=VisitView)
async def plan_visit(body: VisitPlan, caller: CurrentStaff, calls: Calls) -> dict:
    """An appointment 预约, topical 专题 or joint 联合 visit. Every cadre is checked like a roster
    (409 `double_booked`, `on_leave`)."""
    return await calls.call("scheduling", "plan_visit", caller=caller, plan=body.model_dump(mode="json"))


@router.post("/visit-series", operation_id="create_visit_series", status_code=201, response_model=VisitSeriesView)
async def create_visit_series(body: VisitSeriesCreate, caller: CurrentStaff, calls: Calls) -> dict:
    """Periodic 定期 or fixed-point 定点 visits from a rule (weekly, days of the month, lunar days, dates);
    cadres who cannot go on a day are left off that visit and listed under `unavailable`."""
    return await calls.call("scheduling", "create_visit_series", caller=caller, series=body.model_dump(mode="json"))


@router.patch("/visit-series/{series_id}", operation_id="change_visit_series", response_model=VisitSeriesView)
async def change_visit_series(series_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: VisitSeriesChange,
                              caller: CurrentStaff, calls: Calls) -> dict:
    """A new rule, end or team; only visits that have not begun change."""
    return await calls.call("scheduling", "change_visit_series", caller=caller, series_id=series_id,
                            change=body.model_dump(mode="json", exclude_unset=True))


@router.get("/visits", operation_id="list_visits", response_model=list[VisitView])
async def list_visits(caller: CurrentStaff, calls: Calls, start: Start = None, end: End = None,
                      kind: VisitKind | None = None,
                      village_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                      township_code: TownshipChoice = None,
                      campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                      staff_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list:
    first, last = period(start, end)
    return await calls.call("scheduling", "list_visits", caller=caller, query={
        "start": first, "end": last, "kind": kind, "village_code": village_code, "township_code": township_code,
        "campaign_id": campaign_id,
        "staff_id": staff_id, "limit": limit})


@router.get("/visits/{visit_id}", operation_id="get_visit", response_model=VisitView)
async def get_visit(visit_id: VisitId, caller: CurrentStaff, calls: Calls) -> dict:
    """A visit with its cadres, its report, and the applications and consultations raised on it."""
    return await calls.call("scheduling", "get_visit", caller=caller, visit_id=visit_id)


@router.post("/visits/{visit_id}/cancel", operation_id="cancel_visit", response_model=VisitView)
async def cancel_visit(visit_id: VisitId, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("scheduling", "cancel_visit", caller=caller, visit_id=visit_id)


@router.post("/visits/{visit_id}/restore", operation_id="restore_visit", response_model=VisitView)
async def restore_visit(visit_id: VisitId, caller: CurrentStaff, calls: Calls) -> dict:
    """Put back a visit a day off cancelled, once that day is no longer off (`restorable`)."""
    return await calls.call("scheduling", "restore_visit", caller=caller, visit_id=visit_id)


@router.post("/visits/{visit_id}/day-off-decision", operation_id="decide_visit_day_off", response_model=VisitView)
async def decide_visit_day_off(visit_id: VisitId, body: DayOffDecision, caller: CurrentStaff, calls: Calls) -> dict:
    """A day off fell on a visit villagers had booked (`needs_decision`): `cancel` or `hold` it."""
    return await calls.call("scheduling", "decide_visit_day_off", caller=caller, visit_id=visit_id,
                            decision=body.model_dump(mode="json"))


@router.post("/visits/{visit_id}/report", operation_id="report_visit", response_model=VisitView)
async def report_visit(visit_id: VisitId, body: VisitReport, caller: CurrentStaff, calls: Calls) -> dict:
    """Who went and what was raised. File each issue raised as an application (channel `visit`,
    `visit_id`); it then shows under `linked`."""
    return await calls.call("scheduling", "report_visit", caller=caller, visit_id=visit_id,
                            report=body.model_dump(mode="json"))


@router.post("/visits/{visit_id}/slots", tags=["appointments"], operation_id="create_visit_slots", status_code=201,
             response_model=list[SlotView])
async def create_visit_slots(visit_id: VisitId, body: SlotsCreate, caller: CurrentStaff, calls: Calls) -> list:
    return await calls.call("scheduling", "create_visit_slots", caller=caller, visit_id=visit_id,
                            slots=body.model_dump(mode="json"))


@router.get("/visits/{visit_id}/bookings", tags=["appointments"], operation_id="list_visit_bookings",
            response_model=list[BookingView], openapi_extra=PERSONAL_DATA)
async def list_visit_bookings(visit_id: VisitId, caller: CurrentStaff, calls: Calls) -> list:
    """Who booked a place at an appointment visit, by slot time (the township's staff; audited)."""
    return await calls.call("scheduling", "list_visit_bookings", caller=caller, visit_id=visit_id)


@router.get("/public/visits/{visit_id}/slots", tags=["public"], operation_id="public_visit_slots",
            response_model=list[SlotView])
async def public_visit_slots(visit_id: VisitId, public: PublicCaller, calls: Calls) -> list:
    """The appointment slots of an appointment visit; book one with `POST /public/slots/{id}/bookings`."""
    return await calls.call("scheduling", "list_visit_slots", caller=public, visit_id=visit_id)


@router.get("/public/townships/{code}/calendar", tags=["public"], operation_id="public_calendar",
            response_model=list[PublicCalendarEntry])
async def public_calendar(code: Annotated[str, Path(pattern=r"^\d{9}$")], public: PublicCaller, calls: Calls,
                          start: Start = None, end: End = None) -> list:
    """公开: the township's upcoming market-day posts and visits: where, when, which services, and the
    appointment places left. Nothing about who staffs them."""
    first, last = period(start, end)
    return await calls.call("scheduling", "public_calendar", caller=public, township_code=code, start=first, end=last)
