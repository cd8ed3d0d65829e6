"""下访 in the console: plan joint, appointment and topical visits (`scheduling.plan_visit`, as `POST /visits`;
a topical visit belongs to a campaign 专题, created and listed here too) and periodic or fixed-point series
(`scheduling.create_visit_series`); my visits and, for supervisors, the township's (`scheduling.list_visits`,
paged by day); a visit's page with its cadres by name, its appointment slots and who booked them, the
records raised on it, and the report after it (`scheduling.report_visit`: who went, what was raised,
how many people were met). Cadres are chosen by name from `directory.list_staff`, villages by name."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.datastructures import FormData

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, words
from gateway.pages.nav import FRONT_LINE
from gateway.pages.session import StaffPage
from gateway.pages.web import (
    PAGE,
    PageRoute,
    TownshipQuery,
    VillageFilter,
    answer_once,
    forget_answer,
    read_form,
    refused_once,
    render,
    see_other,
    see_refused,
    submit,
    typed_fields,
)
from gateway.routes import Calls
from shared.clock import today_in_china, utcnow
from shared.contracts import scheduling as s
from shared.contracts.caller import Caller, Role
from shared.errors import CunbanError

router = APIRouter(prefix="/console", route_class=PageRoute)

VisitPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
DayFilter = Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
KindFilter = Annotated[str | None, Query(pattern="^(" + "|".join(k.value for k in s.VisitKind) + ")?$")]
PlanKind = Annotated[str, Query(pattern=r"^(appointment|topical|joint)$")]

PLANNERS = frozenset({Role.SUPERVISOR, Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN})
GOERS = frozenset({"township_cadre", "department_staff", "supervisor"})  # who can be sent on a visit
PAGE_SIZE = 50
TEAMS = 3  # department rows on a joint visit's form
VISIT_STATUS = {"planned": "计划中", "cancelled": "已取消", "reported": "已报告", "needs_decision": "遇节假日，待定"}
WEEKDAYS = {0: "周一", 1: "周二", 2: "周三", 3: "周四", 4: "周五", 5: "周六", 6: "周日"}
PATTERNS = ("逢一四七", "逢二五八", "逢三六九", "逢单", "逢双")
LINKED = {"application": "申请", "consultation": "咨询", "complaint": "诉求"}
PLAN_FIELDS = {
    "title": "请填写下访的名称。", "village_code": "请选择村。", "place": "请填写地点。", "day": "请选择下访日期。",
    "starts": "请填写开始时间，例如 09:00。", "ends": "结束时间要晚于开始时间。", "purpose": "说明太长，请删减。",
    "staff_ids": "请勾选下访的人员，每人一次。", "departments": "联合下访请填写至少两个不同的部门，每人只在一个部门。",
    "department": "请填写部门名称。", "campaign_id": "专题下访请选择专题活动。", "kind": "请选择下访方式。",
    "rule": "请选择下访的日子（每周几、每月几号或逢几）。", "first_day": "请选择开始日期。",
    "last_day": "结束日期要在开始日期之后，最多400天。", "weekdays": "请勾选每周哪几天。",
    "days": "请填写每月几号，例如 1,15。",
    "theme": "请填写专题名称。", "description": "说明太长，请删减。", "township_code": "请选择乡镇。",
}
# what each form cannot go without, said beside the field in the same pass as everything else
PLAN_REQUIRED = {"title": "请填写下访的名称。", "village_code": "请选择村。", "place": "请填写地点。",
                 "day": "请选择下访日期。"}
KIND_REQUIRED = {
    "joint": {"departments": "联合下访请填写至少两个不同的部门，并勾选每个部门去的人。"},
    "topical": {"campaign_id": "专题下访请选择专题活动。", "staff_ids": "请勾选下访的人员，每人一次。"},
    "appointment": {"staff_ids": "请勾选下访的人员，每人一次。"},
}
SERIES_REQUIRED = {"kind": "请选择下访方式。", "title": "请填写下访的名称。", "village_code": "请选择村。",
                   "first_day": "请选择开始日期。", "last_day": "请选择结束日期。",
                   "staff_ids": "请勾选下访的人员，每人一次。"}
CAMPAIGN_REQUIRED = {"theme": "请填写专题名称。", "first_day": "请选择开始日期。", "last_day": "请选择结束日期。"}
REPORT_FIELDS = {"went_staff_ids": "请勾选实际去了的人员。", "summary": "请写下这次下访的情况。",
                 "raised": "群众反映的问题每行一条，每条不超过2000字。",
                 "people_met": "接待人数请填0到100000之间的数字。"}
SLOT_SIZE = "每个时段10到240分钟，每个时段可约1到500人。"
CODE_WORDS = {"double_booked": "有人在这个时间已经安排了别的服务岗或下访，请换人或换时间。"}


def _message(exc: CunbanError) -> str:
    return CODE_WORDS.get(exc.code) or words.error_message(exc)


# ---- what the pages name things by -------------------------------------------------------------------------

async def _township(calls: Calls, staff: Caller, chosen: str | None) -> tuple[str | None, list[dict]]:
    """The township the page works in: the staff member's own; a county admin's choice, the first by default."""
    township, townships = await console.township_choice(calls, staff, chosen)
    return (township or (townships[0]["code"] if townships else None)), townships


async def _people(calls: Calls, staff: Caller, township: str | None) -> dict[int, dict]:
    found = await console.optional(calls.call("directory", "list_staff", caller=staff, township_code=township,
                                              page={"limit": 500, "offset": 0})) or []
    return {p["id"]: p for p in found}


def _goers(people: dict[int, dict]) -> list[dict]:
    return [p for p in people.values() if p["active"] and p["role"] in GOERS]


async def _villages(calls: Calls, staff: Caller, township: str | None) -> list[dict]:
    return await console.optional(console.villages(calls, staff, township)) or []


async def _campaigns(calls: Calls, staff: Caller, township: str | None) -> list[dict]:
    found = await console.optional(calls.call("scheduling", "list_campaigns", caller=staff)) or []
    return [c for c in found if township is None or c["township_code"] == township]


def _ids(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v.isdigit()][:40]


# ---- my visits, the township's visits --------------------------------------------------------------------

def page_of(found: list[dict], size: int) -> tuple[list[dict], str | None]:
    """A page of visits by day (oldest first) and the day the next page starts: a day is never split across
    two pages, unless one day alone has more visits than a page holds."""
    if len(found) <= size:
        return found, None
    cut = found[size]["day"]
    shown = [v for v in found[:size] if v["day"] < cut]
    if shown:
        return shown, cut
    return found[:size], (date.fromisoformat(cut) + timedelta(days=1)).isoformat()


@router.get("/visits", operation_id="page_visits", **PAGE)
async def visits(request: Request, staff: StaffPage, calls: Calls, start: DayFilter = None, end: DayFilter = None,
                 kind: KindFilter = None, village: VillageFilter = None,
                 scope: Annotated[str | None, Query(pattern=r"^(mine|township)?$")] = None,
                 township: TownshipQuery = None,
                 done: Annotated[int | None, Query(ge=0, le=1000)] = None) -> Response:
    today = today_in_china()
    first = date.fromisoformat(start) if start else today - timedelta(days=7)
    last = date.fromisoformat(end) if end else first + timedelta(days=90)
    if last < first or (last - first).days > 800:
        last = first + timedelta(days=90)
    planner = staff.role in PLANNERS
    scope = scope or ("township" if planner else "mine")
    chosen, townships = await _township(calls, staff, township)
    found = await calls.call("scheduling", "list_visits", caller=staff, query={
        "start": first.isoformat(), "end": last.isoformat(), "kind": kind or None, "village_code": village or None,
        "township_code": chosen, "campaign_id": None, "staff_id": staff.staff_id if scope == "mine" else None,
        "limit": PAGE_SIZE + 1})
    shown, next_start = page_of(found, PAGE_SIZE)
    filters = {"scope": scope, "kind": kind or None, "village": village or None, "start": first.isoformat(),
               "end": last.isoformat(), "township": chosen if townships else None}
    kept = {k: v for k, v in filters.items() if v is not None}
    next_url = f"/console/visits?{urlencode({**kept, 'start': next_start})}" if next_start else None
    places = await _villages(calls, staff, chosen)
    people = await _people(calls, staff, chosen)
    return render(request, "console/visits.html", visits=shown, filters=filters, next_url=next_url,
                  villages=places, village_names={v["code"]: v["name"] for v in places}, people=people,
                  planner=planner, townships=townships, statuses=VISIT_STATUS, kinds=words.VISIT_KIND, done=done,
                  first_page=start is not None)


# ---- planning one visit ---------------------------------------------------------------------------------

def plan_typed(kind: str, form: FormData) -> dict[str, Any]:
    """The plan form as typed (to check and to show again): its departments are those named, with their
    cadres; `departments` is empty until at least two different ones are named."""
    typed: dict[str, Any] = {**typed_fields(form), "kind": kind, "staff_ids": _ids(form, "staff_ids")}
    teams = []
    for n in range(1, TEAMS + 1):
        typed[f"team{n}"] = _ids(form, f"team{n}")
        name = typed.get(f"department{n}", "")
        if name or typed[f"team{n}"]:
            teams.append({"department": name, "staff_ids": typed[f"team{n}"]})
    typed["teams"] = teams
    typed["departments"] = teams if len({t["department"] for t in teams if t["department"]}) >= 2 else []
    return typed


def visit_plan(kind: str, typed: dict[str, Any]) -> s.VisitPlan:
    return s.VisitPlan.model_validate({
        "kind": kind, "title": typed.get("title"), "village_code": typed.get("village_code"),
        "place": typed.get("place"), "day": typed.get("day") or None, "starts": typed.get("starts") or "09:00",
        "ends": typed.get("ends") or "12:00", "purpose": typed.get("purpose") or None,
        "staff_ids": typed["staff_ids"] if kind != "joint" else [],
        "departments": typed["teams"] if kind == "joint" else [],
        "campaign_id": (typed.get("campaign_id") or None) if kind == "topical" else None})


def plan_of(kind: str, form: FormData) -> tuple[dict[str, Any], s.VisitPlan]:
    typed = plan_typed(kind, form)
    return typed, visit_plan(kind, typed)


async def _plan_page(request: Request, staff: Caller, calls: Calls, kind: str, typed: dict[str, Any],
                     township: str | None, status_code: int = 200, **context: Any) -> Response:
    chosen, townships = await _township(calls, staff, township)
    return render(request, "console/visit_plan.html", status_code=status_code, kind=kind, typed=typed,
                  villages=await _villages(calls, staff, chosen), goers=_goers(await _people(calls, staff, chosen)),
                  campaigns=await _campaigns(calls, staff, chosen), townships=townships, township=chosen,
                  kinds=words.VISIT_KIND, teams=range(1, TEAMS + 1), **context)


@router.get("/visits/new", operation_id="page_new_visit", **PAGE)
async def new_visit(request: Request, staff: StaffPage, calls: Calls, kind: PlanKind = "appointment",
                    township: TownshipQuery = None) -> Response:
    typed = {"day": "", "starts": "09:00", "ends": "12:00", "staff_ids": []}  # the day is the planner's choice
    return await _plan_page(request, staff, calls, kind, typed, township)


@router.post("/visits/new", operation_id="page_plan_visit", **PAGE)
async def plan_visit(request: Request, staff: StaffPage, calls: Calls, kind: PlanKind = "appointment",
                     township: TownshipQuery = None) -> Response:
    typed = plan_typed(kind, await read_form(request))

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        if kind == "joint":  # a department's name or cadres: said under the departments
            for name in ("department", "staff_ids"):
                if name in errors:
                    errors.setdefault("departments", PLAN_FIELDS["departments"])
                    del errors[name]
        return await _plan_page(request, staff, calls, kind, typed, township, status, errors=errors,
                                message=message)

    async def send(plan: s.VisitPlan) -> Response:
        visit = await calls.call("scheduling", "plan_visit", caller=staff, plan=plan.model_dump(mode="json"))
        return see_other(f"/console/visits/{visit['id']}?planned=1")

    return await submit(again, lambda: visit_plan(kind, typed), send, fields=PLAN_FIELDS, typed=typed,
                        required={**PLAN_REQUIRED, **KIND_REQUIRED[kind]},
                        across={"joint": "departments", "topical": "campaign_id"}.get(kind, "staff_ids"),
                        say=_message)


# ---- series: periodic 定期 and fixed-point 定点 ------------------------------------------------------------

def rule_of(typed: dict[str, Any], weekdays: list[str]) -> dict[str, Any]:
    how = typed.get("rule_kind", "weekly")
    if how == "weekly":
        return {"kind": "weekly", "weekdays": [int(d) for d in weekdays if d in "0123456"]}
    if how == "solar_days":
        days = [d.strip() for d in typed.get("days", "").replace("，", ",").replace("、", ",").split(",") if d.strip()]
        return {"kind": "solar_days", "days": days}
    return {"kind": "lunar_days", "pattern": typed.get("pattern") or None}


def series_typed(form: FormData) -> dict[str, Any]:
    weekdays = [v for v in form.getlist("weekdays") if isinstance(v, str)][:7]
    return {**typed_fields(form), "staff_ids": _ids(form, "staff_ids"), "weekdays": weekdays}


def visit_series(typed: dict[str, Any]) -> s.VisitSeriesCreate:
    return s.VisitSeriesCreate.model_validate({
        "kind": typed.get("kind") or None, "title": typed.get("title"), "village_code": typed.get("village_code"),
        "place": typed.get("place") or None, "rule": rule_of(typed, typed["weekdays"]),
        "first_day": typed.get("first_day") or None, "last_day": typed.get("last_day") or None,
        "starts": typed.get("starts") or "09:00", "ends": typed.get("ends") or "12:00",
        "staff_ids": typed["staff_ids"]})


def series_of(form: FormData) -> tuple[dict[str, Any], s.VisitSeriesCreate]:
    typed = series_typed(form)
    return typed, visit_series(typed)


def series_required(typed: dict[str, Any]) -> dict[str, str]:
    """What a series cannot go without: its days by the rule chosen, and a fixed-point series its place."""
    required = dict(SERIES_REQUIRED)
    if typed.get("kind") == "fixed_point":
        required["place"] = "定点接访请填写地点。"
    how = typed.get("rule_kind") or "weekly"
    if how == "weekly" and not typed["weekdays"] or how == "solar_days" and not typed.get("days") \
            or how == "lunar_days" and not typed.get("pattern"):
        required["rule"] = PLAN_FIELDS["rule"]  # `rule` is no field of the form: always missing here
    return required


async def _series_page(request: Request, staff: Caller, calls: Calls, typed: dict[str, Any], township: str | None,
                       status_code: int = 200, **context: Any) -> Response:
    chosen, townships = await _township(calls, staff, township)
    return render(request, "console/visit_series.html", status_code=status_code, typed=typed,
                  villages=await _villages(calls, staff, chosen), goers=_goers(await _people(calls, staff, chosen)),
                  townships=townships, township=chosen, weekdays=WEEKDAYS, patterns=PATTERNS, **context)


@router.get("/visits/series/new", operation_id="page_new_visit_series", **PAGE)
async def new_series(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None) -> Response:
    typed = {"kind": "periodic", "rule_kind": "weekly", "first_day": "", "last_day": "",  # the planner's choice
             "starts": "09:00", "ends": "12:00", "staff_ids": [], "weekdays": []}
    return await _series_page(request, staff, calls, typed, township)


@router.post("/visits/series/new", operation_id="page_create_visit_series", **PAGE)
async def create_series(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None) -> Response:
    typed = series_typed(await read_form(request))

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        for name in ("weekdays", "days", "pattern", "dates", "exceptions"):  # the rule's parts: said at the rule
            if errors.pop(name, None):
                errors.setdefault("rule", PLAN_FIELDS["rule"])
        return await _series_page(request, staff, calls, typed, township, status, errors=errors, message=message)

    async def send(series: s.VisitSeriesCreate) -> Response:
        made = await calls.call("scheduling", "create_visit_series", caller=staff,
                                series=series.model_dump(mode="json"))
        query = {"start": series.first_day.isoformat(), "end": series.last_day.isoformat(), "scope": "township",
                 "done": len(made["visits"])}
        if township:
            query["township"] = township
        return see_other(f"/console/visits?{urlencode(query)}")

    return await submit(again, lambda: visit_series(typed), send, fields=PLAN_FIELDS, typed=typed,
                        required=series_required(typed), across="rule", say=_message)


# ---- campaigns 专题 ------------------------------------------------------------------------------------

async def _campaigns_page(request: Request, staff: Caller, calls: Calls, typed: dict[str, Any],
                          township: str | None, status_code: int = 200, **context: Any) -> Response:
    chosen, townships = await _township(calls, staff, township)
    return render(request, "console/campaigns.html", status_code=status_code, typed=typed,
                  campaigns=await _campaigns(calls, staff, chosen), townships=townships, township=chosen,
                  planner=staff.role in PLANNERS, **context)


@router.get("/visits/campaigns", operation_id="page_campaigns", **PAGE)
async def campaigns(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None,
                    done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    typed = {"first_day": "", "last_day": ""}  # the campaign's span is the planner's choice
    return await _campaigns_page(request, staff, calls, typed, township, done=done)


@router.post("/visits/campaigns", operation_id="page_create_campaign", **PAGE)
async def create_campaign(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None) -> Response:
    typed = typed_fields(await read_form(request))
    chosen, _ = await _township(calls, staff, township)

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _campaigns_page(request, staff, calls, typed, township, status, errors=errors, message=message)

    async def send(campaign: s.CampaignCreate) -> Response:
        made = await calls.call("scheduling", "create_campaign", caller=staff,
                                campaign=campaign.model_dump(mode="json"))
        query = {"done": made["id"], **({"township": township} if township else {})}
        return see_other(f"/console/visits/campaigns?{urlencode(query)}")

    return await submit(again, lambda: s.CampaignCreate.model_validate({
        "township_code": chosen, "theme": typed.get("theme"), "description": typed.get("description") or None,
        "first_day": typed.get("first_day") or None, "last_day": typed.get("last_day") or None}), send,
        fields=PLAN_FIELDS, typed=typed, required=CAMPAIGN_REQUIRED, across="last_day", say=_message)


# ---- a visit: its cadres, slots and bookings, what was raised, the report ---------------------------------

async def _visit_page(request: Request, staff: Caller, calls: Calls, visit_id: str, status_code: int = 200,
                      **context: Any) -> Response:
    visit = await calls.call("scheduling", "get_visit", caller=staff, visit_id=visit_id)
    people = await _people(calls, staff, visit["township_code"])
    village = await console.optional(calls.call("directory", "get_village", caller=staff, code=visit["village_code"]))
    campaign = None
    if visit.get("campaign_id"):
        campaign = next((c for c in await _campaigns(calls, staff, visit["township_code"])
                         if c["id"] == visit["campaign_id"]), None)
    slots = await console.optional(calls.call("scheduling", "list_visit_slots", caller=staff, visit_id=visit_id)) or []
    bookings = (await console.optional(calls.call("scheduling", "list_visit_bookings", caller=staff,
                                                  visit_id=visit_id)) or []) if slots else []
    member = any(m["staff_id"] == staff.staff_id for m in visit["members"])
    planner = staff.role in PLANNERS
    begun = datetime.fromisoformat(visit["starts_at"]) <= utcnow()
    typed = context.pop("typed", None) or {"went": [str(m["staff_id"]) for m in visit["members"]]}
    return render(request, "console/visit.html", status_code=status_code, visit=visit, people=people,
                  village=village, campaign=campaign, slots=slots, bookings=bookings, planner=planner,
                  can_report=visit["status"] == "planned" and (member or planner), begun=begun,
                  can_cancel=planner and visit["status"] == "planned" and not begun,
                  can_offer_slots=planner and visit["kind"] == "appointment" and visit["status"] == "planned",
                  can_register=staff.role in FRONT_LINE, statuses=VISIT_STATUS, kinds=words.VISIT_KIND,
                  linked_words=LINKED, typed=typed, **context)


@router.get("/visits/{visit_id}", operation_id="page_visit", openapi_extra=PERSONAL_DATA, **PAGE)
async def visit_page(request: Request, staff: StaffPage, calls: Calls, visit_id: VisitPath,
                     planned: Annotated[int | None, Query(ge=1, le=1)] = None,
                     done: Annotated[str | None, Query(pattern=r"^(reported|cancelled|slots)$")] = None) -> Response:
    notices = {"reported": "下访报告已保存。", "cancelled": "这次下访已取消。",
               "slots": "已开放预约时段，群众可以预约。"}
    notice = "已安排这次下访，参加人员会收到提醒。" if planned else notices.get(done or "")
    refused = refused_once(answer_once(request))  # a form refused here: what to fix, shown once
    response = await _visit_page(request, staff, calls, visit_id, done=notice, **refused)
    return forget_answer(request, response) if refused else response


def _refused_here(request: Request, visit_id: str, typed: dict[str, Any] | None = None) -> Any:
    """A refused form on the visit's page goes back to the visit's own address (a reload posts nothing)."""
    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return see_refused(request, f"/console/visits/{visit_id}", errors, message, typed)
    return again


@router.post("/visits/{visit_id}/report", operation_id="page_report_visit", openapi_extra=PERSONAL_DATA, **PAGE)
async def report_visit(request: Request, staff: StaffPage, calls: Calls, visit_id: VisitPath) -> Response:
    form = await read_form(request)
    typed: dict[str, Any] = {**typed_fields(form, 10_000), "went": _ids(form, "went")}
    raised = [line.strip() for line in typed.get("raised", "").splitlines() if line.strip()]

    async def send(report: s.VisitReport) -> Response:
        await calls.call("scheduling", "report_visit", caller=staff, visit_id=visit_id,
                         report=report.model_dump(mode="json"))
        return see_other(f"/console/visits/{visit_id}?done=reported")

    return await submit(_refused_here(request, visit_id, typed), lambda: s.VisitReport.model_validate({
        "went_staff_ids": typed["went"], "summary": typed.get("summary"), "raised": raised,
        "people_met": typed.get("people_met") or 0}), send, fields=REPORT_FIELDS,
        typed={**typed, "went_staff_ids": typed["went"]}, across="summary", say=_message,
        required={"went_staff_ids": REPORT_FIELDS["went_staff_ids"], "summary": REPORT_FIELDS["summary"]})


@router.post("/visits/{visit_id}/cancel", operation_id="page_cancel_visit", **PAGE)
async def cancel_visit(request: Request, staff: StaffPage, calls: Calls, visit_id: VisitPath) -> Response:
    await read_form(request)

    async def send(_: None) -> Response:
        await calls.call("scheduling", "cancel_visit", caller=staff, visit_id=visit_id)
        return see_other(f"/console/visits/{visit_id}?done=cancelled")

    return await submit(_refused_here(request, visit_id), lambda: None, send, fields={}, say=_message)


@router.post("/visits/{visit_id}/slots", operation_id="page_visit_slots", **PAGE)
async def offer_slots(request: Request, staff: StaffPage, calls: Calls, visit_id: VisitPath) -> Response:
    typed = typed_fields(await read_form(request))

    async def send(slots: s.SlotsCreate) -> Response:
        await calls.call("scheduling", "create_visit_slots", caller=staff, visit_id=visit_id,
                         slots=slots.model_dump(mode="json"))
        return see_other(f"/console/visits/{visit_id}?done=slots")

    return await submit(_refused_here(request, visit_id, typed), lambda: s.SlotsCreate.model_validate({
        "minutes": typed.get("minutes") or 30, "capacity": typed.get("capacity") or 5}), send,
        fields={"minutes": SLOT_SIZE, "capacity": SLOT_SIZE}, typed=typed, say=_message)
