"""Applications, the public progress look-up, consultations, service activities and practical deeds."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request

from gateway.audit import PERSONAL_DATA, client_of
from gateway.auth import CurrentStaff, PublicCaller
from gateway.routes import Calls, IdempotencyHeader, Offset, TownshipChoice
from shared.contracts import intake as c
from shared.contracts.base import CleanStr

router = APIRouter()

ApplicationRef = Annotated[str, Path(pattern=r"^(\d{9}-\d{8}-\d{4,6}|[0-9a-f]{32})$",
                                     description="receipt number (e.g. 431099101-20261128-0001) or id")]
VillageFilter = Annotated[str | None, Query(pattern=r"^\d{12}$")]
CodeFilter = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]

FILING_EXAMPLES = {
    "promised item at a station": {"value": {
        "item_code": "SP-008", "channel": "station",
        "applicant": {"name": "张三", "phone": "13812345678", "id_card": "430124198001011231",
                      "village_code": "431099101001"},
        "materials_provided": ["农村宅基地和建房(规划许可)申请表", "身份证", "户口簿", "村民小组会议记录"]}},
    "immediate item completed on the spot at a market-day post": {"value": {
        "item_code": "YB-002", "channel": "market_day", "session_id": "0c2f9a7e4b1d4e6f8a3b5c7d9e1f2a3b",
        "applicant": {"name": "李四", "phone": "13912345678", "id_card": "430124198001011231",
                      "village_code": "431099101002"},
        "materials_provided": ["身份证", "户口簿"], "complete_now": True, "result_note": "当场登记参保"}},
}


@router.post("/applications", tags=["applications"], operation_id="file_application", status_code=201,
             response_model=c.ApplicationView)
async def file_application(application: Annotated[c.ApplicationFile, Body(openapi_examples=FILING_EXAMPLES)],
                           caller: CurrentStaff, calls: Calls, idempotency_key: IdempotencyHeader = None) -> dict:
    """File an application 申请事项 against a catalogue item of your township. You become its accountable
    contact (首问负责制). Every required material must be provided; an immediate item 即办件 may be
    completed on the spot (`complete_now`). Send an `Idempotency-Key` so a retry never files twice."""
    return await calls.call("intake", "file_application", caller=caller,
                            application=application.model_dump(mode="json"), idempotency_key=idempotency_key)


@router.get("/applications", tags=["applications"], operation_id="list_applications",
            response_model=c.ApplicationPage, openapi_extra=PERSONAL_DATA)
async def list_applications(
        caller: CurrentStaff, calls: Calls, township_code: TownshipChoice = None,
        station_code: CodeFilter = None,
        status: c.ApplicationStatus | None = None, item_code: CodeFilter = None, channel: c.Channel | None = None,
        village_code: VillageFilter = None, filed_from: date | None = None, filed_to: date | None = None,
        overdue: bool | None = None, completed_late: bool | None = None, mine: bool = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[CleanStr | None, Query(max_length=200)] = None) -> dict:
    """Applications of your township (county roles: all), newest first. Pass `next_cursor` back as
    `cursor` for the next page. Personal data is masked unless you handle the case. `overdue`: open past
    the promised deadline (counted from filing, accepted or not); `completed_late`: 办结 after it."""
    query = {"township_code": township_code, "station_code": station_code, "status": status,
             "item_code": item_code, "channel": channel,
             "village_code": village_code, "filed_from": filed_from, "filed_to": filed_to, "overdue": overdue,
             "completed_late": completed_late, "mine": mine, "limit": limit, "cursor": cursor}
    return await calls.call("intake", "list_applications", caller=caller,
                            query=c.ApplicationQuery.model_validate(query).model_dump(mode="json"))


@router.get("/applications/{ref}", tags=["applications"], operation_id="get_application",
            response_model=c.ApplicationView, openapi_extra=PERSONAL_DATA)
async def get_application(ref: ApplicationRef, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("intake", "get_application", caller=caller, ref=ref)


@router.get("/public/applications/{receipt_no}", tags=["public"], operation_id="public_progress",
            response_model=c.PublicProgress)
async def public_progress(receipt_no: Annotated[CleanStr, Path(max_length=40)],
                          phone_last4: Annotated[str, Query(pattern=r"^\d{4}$", description="last 4 phone digits")],
                          request: Request, public: PublicCaller, calls: Calls) -> dict:
    """Progress of an application for anyone with its receipt number and the last four digits of the
    applicant's phone: the item, the stage, the promised deadline (from the day of filing; while a 补正
    stops the clock, `paused` with the materials awaited, then the new deadline) and the date of each
    stage — nothing personal. Wrong guesses are limited per receipt number and client, briefly per receipt
    number, and (a flood guard) per client (429 `lookup_locked`)."""
    client = client_of(request)  # behind the ingress: from X-Forwarded-For (CUNBAN_TRUSTED_PROXIES)
    return await calls.call("intake", "public_progress", caller=public,
                            lookup={"receipt_no": receipt_no, "phone_last4": phone_last4, "client": client})


# ---- light records -----------------------------------------------------------------------------------

async def _record(calls: Calls, caller: CurrentStaff, kind: c.RecordKind, record: c.Contract) -> dict:
    return await calls.call("intake", "record_activity", caller=caller, kind=kind.value,
                            record=record.model_dump(mode="json"))


async def _list(calls: Calls, caller: CurrentStaff, kind: c.RecordKind, village_code: str | None,
                occurred_from: date | None, occurred_to: date | None, limit: int, offset: int) -> list:
    query = c.RecordQuery(kind=kind, village_code=village_code, occurred_from=occurred_from,
                          occurred_to=occurred_to, limit=limit, offset=offset)
    return await calls.call("intake", "list_activities", caller=caller, query=query.model_dump(mode="json"))


Limit = Annotated[int, Query(ge=1, le=200)]


@router.post("/consultations", tags=["records"], operation_id="record_consultation", status_code=201,
             response_model=c.ActivityView)
async def record_consultation(record: c.ConsultationRecord, caller: CurrentStaff, calls: Calls) -> dict:
    """接待来访咨询: villagers received or consulted (topic, channel, village, how many people)."""
    return await _record(calls, caller, c.RecordKind.CONSULTATION, record)


@router.get("/consultations", tags=["records"], operation_id="list_consultations", response_model=list[c.ActivityView])
async def list_consultations(caller: CurrentStaff, calls: Calls, village_code: VillageFilter = None,
                             occurred_from: date | None = None, occurred_to: date | None = None,
                             limit: Limit = 50, offset: Offset = 0) -> list:
    return await _list(calls, caller, c.RecordKind.CONSULTATION, village_code, occurred_from, occurred_to, limit,
                       offset)


@router.post("/service-activities", tags=["records"], operation_id="record_service_activity", status_code=201,
             response_model=c.ActivityView)
async def record_service_activity(record: c.ServiceActivityRecord, caller: CurrentStaff, calls: Calls) -> dict:
    """服务活动: a training, clinic or cultural event of one of the six services, with its attendance."""
    return await _record(calls, caller, c.RecordKind.SERVICE_ACTIVITY, record)


@router.get("/service-activities", tags=["records"], operation_id="list_service_activities",
            response_model=list[c.ActivityView])
async def list_service_activities(caller: CurrentStaff, calls: Calls, village_code: VillageFilter = None,
                                  occurred_from: date | None = None, occurred_to: date | None = None,
                                  limit: Limit = 50, offset: Offset = 0) -> list:
    return await _list(calls, caller, c.RecordKind.SERVICE_ACTIVITY, village_code, occurred_from, occurred_to,
                       limit, offset)


@router.post("/practical-deeds", tags=["records"], operation_id="record_practical_deed", status_code=201,
             response_model=c.ActivityView)
async def record_practical_deed(record: c.PracticalDeedRecord, caller: CurrentStaff, calls: Calls) -> dict:
    """办实事: a practical thing done for villagers."""
    return await _record(calls, caller, c.RecordKind.PRACTICAL_DEED, record)


@router.get("/practical-deeds", tags=["records"], operation_id="list_practical_deeds",
            response_model=list[c.ActivityView])
async def list_practical_deeds(caller: CurrentStaff, calls: Calls, village_code: VillageFilter = None,
                               occurred_from: date | None = None, occurred_to: date | None = None,
                               limit: Limit = 50, offset: Offset = 0) -> list:
    return await _list(calls, caller, c.RecordKind.PRACTICAL_DEED, village_code, occurred_from, occurred_to,
                       limit, offset)

