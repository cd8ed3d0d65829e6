"""The clerk's records (我的记录: applications with filters and keyset
paging, one application with its stages) and the light records (consultations, service activities,
practical deeds), installed next to console.py's router (the workbench is in console_workbench.py)."""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import ValidationError

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, console_cases, words
from gateway.pages.session import StaffPage
from gateway.pages.web import (
    PAGE,
    ItemFilter,
    PageRoute,
    VillageFilter,
    field_errors,
    read_form,
    render,
    see_other,
    typed_fields,
)
from gateway.routes import Calls
from shared.clock import today_in_china
from shared.contracts import intake
from shared.contracts.base import CleanStr
from shared.contracts.caller import Caller
from shared.errors import CunbanError, ValidationFailed

router = APIRouter(prefix="/console", route_class=PageRoute)

StatusFilter = Annotated[str | None, Query(pattern="^(" + "|".join(s.value for s in intake.ApplicationStatus) + ")?$")]
DayFilter = Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
Kind = Annotated[str, Path(pattern=r"^(consultation|service_activity|practical_deed)$")]


# ---- 我的记录 ----------------------------------------------------------------------------------------------

@router.get("/records", operation_id="page_records", openapi_extra=PERSONAL_DATA, **PAGE)
async def records(request: Request, staff: StaffPage, calls: Calls, status: StatusFilter = None,
                  item: ItemFilter = None, village: VillageFilter = None, filed_from: DayFilter = None,
                  filed_to: DayFilter = None, mine: bool = True,
                  limit: Annotated[int, Query(ge=1, le=100)] = 20,
                  cursor: Annotated[CleanStr | None, Query(max_length=200)] = None) -> Response:
    # a filter left at 全部 comes as an empty value from the GET form: no filter
    status, item, village, filed_from, filed_to = (v or None for v in (status, item, village, filed_from, filed_to))
    try:
        query = intake.ApplicationQuery(status=status, item_code=item, village_code=village, filed_from=filed_from,
                                        filed_to=filed_to, mine=mine, limit=limit, cursor=cursor)
    except ValidationError as exc:
        raise ValidationFailed("a filter is not valid", code="bad_filter") from exc
    page = await calls.call("intake", "list_applications", caller=staff, query=query.model_dump(mode="json"))
    filters = {"status": status, "item": item, "village": village, "filed_from": filed_from, "filed_to": filed_to,
               "mine": "true" if mine else "false", "limit": limit}
    kept = {k: v for k, v in filters.items() if v is not None}
    next_url = f"/console/records?{urlencode({**kept, 'cursor': page['next_cursor']})}" if page["next_cursor"] else None
    items = await console.optional(console.catalogue(calls, staff)) or []
    places = await console.optional(console.villages(calls, staff)) or []
    recent = {}
    for kind in intake.RecordKind:
        query_kind = intake.RecordQuery(kind=kind, limit=10).model_dump(mode="json")
        recent[kind.value] = await console.optional(calls.call("intake", "list_activities", caller=staff,
                                                               query=query_kind)) or []
    return render(request, "console/records.html", page=page, filters=filters, next_url=next_url,
                  items=items, item_names={i["code"]: i["name"] for i in items}, villages=places,
                  village_names={v["code"]: v["name"] for v in places}, statuses=words.APPLICATION_STATUS,
                  first_page=cursor is not None, recent=recent,
                  categories=words.SERVICE, today=today_in_china())


@router.get("/applications/{receipt_no}", operation_id="page_application", openapi_extra=PERSONAL_DATA, **PAGE)
async def application(request: Request, staff: StaffPage, calls: Calls, receipt_no: console.ReceiptPath) -> Response:
    """One application: what was filed, its case and history, and what this person may do now
    (console_cases.show_case, whose forms post to console_cases.act)."""
    return await console_cases.show_case(request, staff, calls, receipt_no)


# ---- consultations, service activities, practical deeds -------------------------------------------------

KIND_WORDS = {"consultation": "接待来访咨询", "service_activity": "服务活动", "practical_deed": "办实事"}
RECORD_FIELDS = {
    "topic": "请填写咨询的事情。", "people_count": "人数请填1到10000之间的数字。", "occurred_on": "请填写日期。",
    "held_on": "请填写日期。", "done_on": "请填写日期。", "title": "请填写活动名称。", "place": "请填写活动地点。",
    "attendance": "参加人数请填0到100000之间的数字。", "category": "请选择服务类别。",
    "description": "请填写做了什么实事。", "beneficiaries": "受益人数请填0到100000之间的数字。",
    "village_code": "请从列表中选择村。", "session_id": "在赶集日便民服务岗登记时，请选择场次。",
}


def _record_of(kind: str, form: dict[str, str], staff: Caller) -> intake.Contract:
    village = form.get("village_code") or None
    if kind == "consultation":
        channel = form.get("channel") or "station"
        return intake.ConsultationRecord.model_validate({
            "topic": form.get("topic"), "channel": channel, "village_code": village,
            "session_id": (form.get("session_id") or None) if channel == "market_day" else None,
            "occurred_on": form.get("occurred_on"), "people_count": form.get("people_count") or 1,
            "note": form.get("note") or None})
    if kind == "service_activity":
        return intake.ServiceActivityRecord.model_validate({
            "category": form.get("category"), "title": form.get("title"), "place": form.get("place"),
            "village_code": village, "held_on": form.get("held_on"), "attendance": form.get("attendance") or 0,
            "staff_ids": [staff.staff_id]})
    return intake.PracticalDeedRecord.model_validate({
        "description": form.get("description"), "village_code": village, "done_on": form.get("done_on"),
        "beneficiaries": form.get("beneficiaries") or 1})


async def _record_page(request: Request, staff: Caller, calls: Calls, kind: str, typed: dict[str, Any],
                       status_code: int = 200, **context: Any) -> Response:
    return render(request, "console/record.html", status_code=status_code, kind=kind, title=KIND_WORDS[kind],
                  typed=typed, villages=await console.optional(console.villages(calls, staff)) or [],
                  sessions=await console.upcoming_sessions(calls, staff, days=0), categories=words.SERVICE, **context)


@router.get("/records/{kind}/new", operation_id="page_new_record", **PAGE)
async def new_record(request: Request, staff: StaffPage, calls: Calls, kind: Kind,
                     done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    today = today_in_china().isoformat()
    typed = {"occurred_on": today, "held_on": today, "done_on": today, "people_count": "1", "channel": "station"}
    return await _record_page(request, staff, calls, kind, typed, done=done)


@router.post("/records/{kind}/new", operation_id="page_record", **PAGE)
async def record(request: Request, staff: StaffPage, calls: Calls, kind: Kind) -> Response:
    form = await read_form(request)
    typed = typed_fields(form)
    try:
        record = _record_of(kind, typed, staff)
    except ValidationError as exc:
        errors = field_errors(exc, RECORD_FIELDS, across="session_id", default=words.BY_STATUS[422])
        return await _record_page(request, staff, calls, kind, typed, 422, errors=errors, message=words.BY_STATUS[422])
    try:
        saved = await calls.call("intake", "record_activity", caller=staff, kind=kind,
                                 record=record.model_dump(mode="json"))
    except CunbanError as exc:
        return await _record_page(request, staff, calls, kind, typed, exc.http_status,
                                  message=words.error_message(exc))
    return see_other(f"/console/records/{kind}/new?done={saved['id']}")
