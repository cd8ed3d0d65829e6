"""Registering a villager's complaint, dispute, petition or suggestion at the station or a market-day post
(the same `complaints.register` call as `POST /complaints`, with an Idempotency-Key generated into the
form). The console registers named complaints only: the villager follows it with the receipt number and
the phone's last four digits (an anonymous complaint's look-up code is shown once, by the API)."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from gateway.pages import console, words
from gateway.pages.session import StaffPage
from gateway.pages.web import PAGE, PageRoute, field_errors, read_form, render, see_other, typed_fields
from gateway.routes import Calls
from shared.contracts import complaints as c
from shared.contracts.caller import Caller
from shared.errors import CunbanError

router = APIRouter(prefix="/console", route_class=PageRoute)

KINDS = {"dispute": "矛盾纠纷（需要调解）", "petition": "信访诉求", "suggestion": "意见建议"}
NETWORK_OF_KIND = {"dispute": "mediation", "petition": "petitions", "suggestion": "services"}
# a complaint about a cadre's conduct names the accused, which this form does not ask: the supervision phone
CATEGORIES = {code: word for code, word in words.COMPLAINT_CATEGORY.items() if code != "staff_conduct"}
CHANNELS = {"station": "村便民服务站", "market_day": "赶集日便民服务岗", "hotline": "投诉电话"}
FIELDS = {"kind": "请选择类别。", "category": "请选择涉及的方面。", "village_code": "请选择村。",
          "description": "请写清楚反映的事情。", "name": "请填写反映人姓名。", "phone": "请填写11位手机号。",
          "session_id": "在赶集日便民服务岗登记时，请选择场次。", "channel": "请选择登记方式。"}


async def _page(request: Request, staff: Caller, calls: Calls, typed: dict[str, Any], status_code: int = 200,
                **context: Any) -> Response:
    return render(request, "console/complaint.html", status_code=status_code, typed=typed, kinds=KINDS,
                  categories=CATEGORIES, channels=CHANNELS, key=uuid.uuid4().hex,
                  villages=await console.optional(console.villages(calls, staff)) or [],
                  sessions=await console.upcoming_sessions(calls, staff, days=0), **context)


@router.get("/complaints/new", operation_id="page_new_complaint", **PAGE)
async def new_complaint(request: Request, staff: StaffPage, calls: Calls,
                        done: Annotated[str | None, Query(pattern=r"^\d{9}-TS\d{8}-\d{4,6}$")] = None) -> Response:
    return await _page(request, staff, calls, {"channel": "station"}, done=done)


@router.post("/complaints/new", operation_id="page_register_complaint", **PAGE)
async def register(request: Request, staff: StaffPage, calls: Calls) -> Response:
    form = await read_form(request)
    typed = typed_fields(form)
    channel = typed.get("channel") or "station"
    try:
        complaint = c.ComplaintRegister.model_validate({
            "kind": typed.get("kind"), "network": NETWORK_OF_KIND.get(typed.get("kind", ""), "services"),
            "category": typed.get("category"), "channel": channel, "village_code": typed.get("village_code"),
            "description": typed.get("description"),
            "complainant": {"name": typed.get("name"), "phone": typed.get("phone")},
            "session_id": (typed.get("session_id") or None) if channel == "market_day" else None})
    except ValidationError as exc:
        errors = field_errors(exc, FIELDS, across="session_id", default=words.BY_STATUS[422])
        return await _page(request, staff, calls, typed, 422, errors=errors, message=words.BY_STATUS[422])
    key = typed.get("idempotency_key", "")
    try:
        registered = await calls.call("complaints", "register", caller=staff, complaint=complaint.model_dump(
            mode="json"), idempotency_key=key if console.KEY_SHAPE.match(key) else None)
    except CunbanError as exc:
        return await _page(request, staff, calls, typed, exc.http_status, message=words.error_message(exc))
    return see_other(f"/console/complaints/new?done={registered['complaint']['receipt_no']}")
