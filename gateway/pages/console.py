"""The station clerk's console (服务站工作人员 / 代办员), signed in with a session cookie."""
from __future__ import annotations

import re
import uuid
from collections.abc import Coroutine
from datetime import date, timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Path, Query, Request, Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from gateway.audit import PERSONAL_DATA
from gateway.pages import words
from gateway.pages.session import StaffPage, sign_in, sign_out
from gateway.pages.web import CODE, PAGE, ItemCode, PageRoute, read_form, render, see_other, text
from gateway.routes import Calls
from shared.clock import today_in_china
from shared.contracts import intake
from shared.contracts.base import IDEMPOTENCY_KEY_PATTERN, CleanStr
from shared.contracts.caller import Caller
from shared.errors import CunbanError, Forbidden, NotFound

router = APIRouter(prefix="/console", route_class=PageRoute)


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself: the sign-in page never sends anyone to another site."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


@router.get("/login", operation_id="page_login", **PAGE)
async def login_page(request: Request, next: Annotated[CleanStr | None, Query(max_length=500)] = None) -> Response:
    return render(request, "console/login.html", next=_safe_next(next))


@router.post("/login", operation_id="page_sign_in", **PAGE)
async def login(request: Request) -> Response:
    form = await read_form(request)
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    response = see_other(target)
    try:
        if not username or not password:
            raise CunbanError("username and password are required", code="bad_credentials")
        await sign_in(request, response, username[:64], password[:128])
    except CunbanError as exc:
        request.state.caller = None
        return render(request, "console/login.html", status_code=exc.http_status if exc.http_status != 400 else 401,
                      message=words.error_message(exc), username=username[:64], next=target)
    return response


@router.post("/logout", operation_id="page_sign_out", **PAGE)
async def logout(request: Request) -> Response:
    await read_form(request)
    response = see_other("/console/login")
    await sign_out(request, response)
    return response


# ---- what a page needs to name things (names, not codes) ---------------------------------------------------

FIRST_PAGE = {"limit": 200, "offset": 0}
ReceiptPath = Annotated[str, Path(pattern=r"^\d{9}-\d{8}-\d{4,6}$")]
ItemQuery = Annotated[str | None, Query(pattern=CODE)]
KEY_SHAPE = re.compile(IDEMPOTENCY_KEY_PATTERN)


async def catalogue(calls: Calls, staff: Caller) -> list[dict]:
    return await calls.call("directory", "list_catalogue", caller=staff, township_code=staff.township_code,
                            category=None, include_withdrawn=False, page=FIRST_PAGE)


async def villages(calls: Calls, staff: Caller, township_code: str | None = None) -> list[dict]:
    return await calls.call("directory", "list_villages", caller=staff,
                            township_code=township_code or staff.township_code, page=FIRST_PAGE)


async def optional(call: Coroutine[Any, Any, Any]) -> Any:
    """Something a page shows if the caller may see it (the access matrix decides), and leaves out if not."""
    try:
        return await call
    except CunbanError:
        return None


CLOSED = {"completed", "delivered", "refused"}


def time_left(application: dict, today: date) -> tuple[int, int, str]:
    """Sort key (overdue first, then nearest deadline, then the rest) and the words for it."""
    deadline = application.get("promised_deadline")
    if application["status"] in CLOSED:
        return (3, 0, "")
    if not deadline:
        return (2, 0, "暂停计时（补正材料中）" if application.get("paused") else "")
    days = (date.fromisoformat(deadline) - today).days
    if days < 0 or application.get("overdue"):
        return (0, days, f"已超期 {-days} 天")
    return (1, days, "今天到期" if days == 0 else f"还剩 {days} 天")


class OutOfScope(Forbidden):
    """A page asked for a township that is not the staff member's own (a link or an address edited by hand)."""

    code = "out_of_scope"


class OutOfCounty(Forbidden):
    """A county admin's page asked for a township of another county."""

    code = "out_of_county"


def in_scope(staff: Caller, township: str | None) -> None:
    """Staff of a township ask only for their own: another township named in the address is refused (403
    `out_of_scope`), never answered with their own township nor as if it did not exist. A county admin asks
    only for its county's (403 `out_of_county`)."""
    if township and staff.township_code and township != staff.township_code:
        raise OutOfScope(f"township {township} is not this staff member's ({staff.township_code})")
    if township and staff.township_code is None and not staff.sees_township(township):
        raise OutOfCounty(f"township {township} is not of this county admin's county ({staff.county})")


async def township_choice(calls: Calls, staff: Caller, chosen: str | None) -> tuple[str | None, list[dict]]:
    """The township a page shows: the staff member's own (another one asked for is refused); for a county
    admin, their choice (None until they have chosen one, 404 for a code that is none of the county's) and
    the townships to choose from; the system administrator chooses among every county's."""
    in_scope(staff, chosen)
    if staff.township_code:
        return staff.township_code, []
    townships = await calls.call("directory", "list_townships", caller=staff, page={"limit": 500, "offset": 0})
    if chosen and chosen not in {t["code"] for t in townships}:
        raise NotFound(f"no township {chosen} in the county", code="township_not_found")
    if staff.is_installation:  # every county's townships, in code order: each named with its county
        counties = {c["code"]: c["name"] for c in await calls.call("directory", "list_counties", caller=staff)}
        townships = [{**t, "name": f"{counties.get(t['county_code'], t['county_code'])}{t['name']}"}
                     for t in townships]
    return chosen or None, townships


async def upcoming_sessions(calls: Calls, staff: Caller, days: int = 14) -> list[dict]:
    today = today_in_china()
    found = await optional(calls.call("scheduling", "list_sessions", caller=staff, query={
        "site_code": None, "start": today.isoformat(), "end": (today + timedelta(days=days)).isoformat(),
        "limit": 100}))
    return [s for s in found or [] if s.get("status") == "scheduled"]


def public_base(request: Request) -> str:
    return (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")


def qr_svg(url: str) -> Markup:
    """The look-up address as an inline SVG QR code (no style attributes: the page CSP forbids them)."""
    svg = segno.make(url, error="m").svg_inline(scale=4, border=4, omitsize=True, svgclass="qr",
                                                 title="扫码查询办理进度")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="扫码查询办理进度" ', 1))


# ---- 受理/代办: filing an application for a villager ---------------------------------------------------------

FIELD_WORDS = {
    "name": "请填写申请人姓名（不超过50个字）。",
    "phone": "请填写11位手机号，例如 13812345678。",
    "id_card": "身份证号不对：请核对18位号码，最后一位可能是X。",
    "village_code": "请选择申请人所在的村。",
    "address": "地址太长，请删减。",
    "session_id": "在赶集日便民服务岗受理时，请选择当天的场次。",
    "channel": "请选择受理方式。",
    "description": "说明太长，请删减。",
    "result_note": "办理结果太长，请删减。",
    "materials": "材料名称有误，请重新勾选。",
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        name = loc[-1] if loc else ""
        if name == "materials_provided" or (len(loc) > 1 and loc[0] == "materials_provided"):
            name = "materials"
        if not loc:  # across fields: the channel and its session
            name = "session_id"
        errors.setdefault(name if name in FIELD_WORDS else "channel", FIELD_WORDS.get(name, FIELD_WORDS["channel"]))
    return errors


def filing_from(form: FormData) -> dict[str, Any]:
    """What the clerk typed, kept as typed (to show again) and shaped as the contract's fields."""
    return {
        "item_code": text(form, "item_code", 32), "channel": text(form, "channel", 20) or "station",
        "session_id": text(form, "session_id", 64), "visit_id": text(form, "visit_id", 32),
        "name": text(form, "name", 60), "phone": text(form, "phone", 20),
        "id_card": text(form, "id_card", 20), "village_code": text(form, "village_code", 12),
        "address": text(form, "address", 500), "description": text(form, "description", 2000),
        "materials": [m.strip()[:200] for m in form.getlist("materials") if isinstance(m, str)][:50],
        "complete_now": form.get("complete_now") == "1", "result_note": text(form, "result_note", 2000),
        "idempotency_key": text(form, "idempotency_key", 128),
    }


def application_of(typed: dict[str, Any]) -> intake.ApplicationFile:
    return intake.ApplicationFile.model_validate({
        "item_code": typed["item_code"], "channel": typed["channel"],
        "session_id": typed["session_id"] or None if typed["channel"] == "market_day" else None,
        "visit_id": typed["visit_id"] or None if typed["channel"] == "visit" else None,
        "applicant": {"name": typed["name"], "phone": typed["phone"], "id_card": typed["id_card"],
                      "village_code": typed["village_code"], "address": typed["address"] or None},
        "materials_provided": typed["materials"], "description": typed["description"] or None,
        "complete_now": typed["complete_now"], "result_note": typed["result_note"] or None})


async def _filing_page(request: Request, staff: Caller, calls: Calls, item: dict, typed: dict[str, Any],
                       status_code: int = 200, **context: Any) -> Response:
    return render(request, "console/file.html", status_code=status_code, item=item, typed=typed,
                  villages=await villages(calls, staff), sessions=await upcoming_sessions(calls, staff),
                  key=uuid.uuid4().hex, **context)


@router.get("/applications/new", operation_id="page_new_application", **PAGE)
async def new_application(request: Request, staff: StaffPage, calls: Calls, item: ItemQuery = None,
                          visit: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None) -> Response:
    """`visit`: filed for a villager met on a visit 下访 (channel visit), listed on the visit's page."""
    if not item:
        items = await catalogue(calls, staff)
        return render(request, "console/pick_item.html", items=items, visit=visit)
    found = await calls.call("directory", "get_catalogue_item", caller=staff, township_code=staff.township_code,
                             code=item)
    typed = {"item_code": item, "channel": "visit" if visit else "station", "visit_id": visit or "",
             "materials": [], "complete_now": False}
    return await _filing_page(request, staff, calls, found, typed)


@router.post("/applications/new", operation_id="page_file_application", **PAGE)
async def file_application(request: Request, staff: StaffPage, calls: Calls) -> Response:
    form = await read_form(request)
    typed = filing_from(form)
    if not re.fullmatch(CODE, typed["item_code"]):
        return see_other("/console/applications/new")
    item = await calls.call("directory", "get_catalogue_item", caller=staff, township_code=staff.township_code,
                            code=typed["item_code"])
    try:
        application = application_of(typed)
    except ValidationError as exc:
        return await _filing_page(request, staff, calls, item, typed, 422, errors=field_errors(exc),
                                  message=words.BY_STATUS[422])
    key = typed["idempotency_key"] if KEY_SHAPE.match(typed["idempotency_key"]) else None
    try:
        filed = await calls.call("intake", "file_application", caller=staff,
                                 application=application.model_dump(mode="json"), idempotency_key=key)
    except CunbanError as exc:
        missing = [str(d.get("message", "")).removeprefix("missing ") for d in exc.details or []
                   if isinstance(d, dict) and d.get("field") == "materials_provided"] \
            if exc.code == "materials_missing" else []
        return await _filing_page(request, staff, calls, item, typed, exc.http_status,
                                  message=words.error_message(exc), missing=missing)
    return see_other(f"/console/applications/{filed['receipt_no']}/receipt")


# ---- 回执 and 一次性告知单 -----------------------------------------------------------------------------------

PrintWidth = Annotated[str | None, Query(pattern=r"^(a4|80mm)$")]


@router.get("/applications/{receipt_no}/receipt", operation_id="page_receipt", openapi_extra=PERSONAL_DATA, **PAGE)
async def receipt(request: Request, staff: StaffPage, calls: Calls, receipt_no: ReceiptPath,
                  width: PrintWidth = None) -> Response:
    application = await calls.call("intake", "get_application", caller=staff, ref=receipt_no)
    item = await optional(calls.call("directory", "get_catalogue_item", caller=staff,
                                     township_code=application["township_code"], code=application["item_code"]))
    township = await optional(calls.call("directory", "get_township", caller=staff,
                                         code=application["township_code"]))
    contact = await optional(calls.call("directory", "get_staff", caller=staff,
                                        staff_id=application["accountable_staff_id"]))
    station = await optional(calls.call("directory", "get_station", caller=staff,
                                        code=application["station_code"])) if application["station_code"] else None
    village = await optional(calls.call("directory", "get_village", caller=staff,
                                        code=application["village_code"]))
    lookup = f"{public_base(request)}/q/{application['receipt_no']}"
    return render(request, "console/receipt.html", application=application, item=item, township=township,
                  contact=contact, station=station, village=village, lookup=lookup, qr=qr_svg(lookup),
                  narrow=width == "80mm")


@router.get("/catalogue/{item_code}/notice", operation_id="page_notice", **PAGE)
async def notice(request: Request, staff: StaffPage, calls: Calls, item_code: ItemCode,
                 width: PrintWidth = None) -> Response:
    item = await calls.call("directory", "get_catalogue_item", caller=staff, township_code=staff.township_code,
                            code=item_code)
    township = await optional(calls.call("directory", "get_township", caller=staff, code=staff.township_code))
    return render(request, "console/notice.html", item=item, township=township, narrow=width == "80mm")

