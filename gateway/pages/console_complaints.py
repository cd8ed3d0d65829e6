"""Complaints in the console. Registering a villager's complaint, dispute, petition or suggestion at the
station, a market-day post or from the hotline (the same `complaints.register` call as `POST /complaints`,
with an Idempotency-Key generated into the form). The console registers named complaints only: the
villager follows it with the receipt number and the phone's last four digits (an anonymous complaint's
look-up code is shown once, by the API).

诉求办理: the inbox (`complaints.list_complaints`, as `GET /complaints`) with each stage's clock in words, and
a complaint's page with its history and a plain POST form for each action the service says this person may
take now (`allowed_actions` of `complaints.get`: 签收, 退单, 办理记录, 调解, 答复, 回访, 重新办理; 分派, 延期
and 核查结论 for supervisors) — the page keeps no copy of the complaint rules. The
staff member complained about never sees the complainant: the service leaves it out and so does the page."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, console_cases, words
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
from shared.contracts import complaints as c
from shared.contracts.caller import Caller, Role
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
    visit = None
    if typed.get("channel") == "visit" and typed.get("visit_id"):  # raised on a visit: linked to it
        visit = await console.optional(calls.call("scheduling", "get_visit", caller=staff, visit_id=typed["visit_id"]))
    return render(request, "console/complaint.html", status_code=status_code, typed=typed, kinds=KINDS, visit=visit,
                  categories=CATEGORIES, channels=CHANNELS, key=uuid.uuid4().hex,
                  villages=await console.optional(console.villages(calls, staff)) or [],
                  sessions=await console.upcoming_sessions(calls, staff, days=0), **context)


@router.get("/complaints/new", operation_id="page_new_complaint", **PAGE)
async def new_complaint(request: Request, staff: StaffPage, calls: Calls,
                        done: Annotated[str | None, Query(pattern=r"^\d{9}-TS\d{8}-\d{4,6}$")] = None,
                        visit: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None) -> Response:
    typed = {"channel": "visit", "visit_id": visit} if visit else {"channel": "station"}
    return await _page(request, staff, calls, typed, done=done)


@router.post("/complaints/new", operation_id="page_register_complaint", **PAGE)
async def register(request: Request, staff: StaffPage, calls: Calls) -> Response:
    typed = typed_fields(await read_form(request))
    channel = typed.get("channel") or "station"

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _page(request, staff, calls, typed, status, errors=errors, message=message)

    async def send(complaint: c.ComplaintRegister) -> Response:
        key = typed.get("idempotency_key", "")
        registered = await calls.call("complaints", "register", caller=staff, complaint=complaint.model_dump(
            mode="json"), idempotency_key=key if console.KEY_SHAPE.match(key) else None)
        return see_other(f"/console/complaints/new?done={registered['complaint']['receipt_no']}")

    return await submit(again, lambda: c.ComplaintRegister.model_validate({
        "kind": typed.get("kind"), "network": NETWORK_OF_KIND.get(typed.get("kind", ""), "services"),
        "category": typed.get("category"), "channel": channel, "village_code": typed.get("village_code"),
        "description": typed.get("description"),
        "complainant": {"name": typed.get("name"), "phone": typed.get("phone")},
        "session_id": (typed.get("session_id") or None) if channel == "market_day" else None,
        "visit_id": (typed.get("visit_id") or None) if channel == "visit" else None}), send,
        fields=FIELDS, typed=typed, across="session_id", refused=lambda exc: {},
        required={name: FIELDS[name] for name in ("kind", "category", "village_code", "description", "name",
                                                  "phone")})


# ---- 诉求办理: the inbox, a complaint with its history, and the actions this person may take now ---------

STAGE_WORDS = words.COMPLAINT_LIMIT_STAGE  # 分派, 签收, 答复, 回访
ACTION_WORDS = {"register": "登记", "assign": "分派", "sign": "签收", "send_back": "退单", "note": "办理记录",
                "mediate": "调解", "reply": "答复", "call_back": "回访", "reopen": "重新办理", "extend": "延期",
                "finding": "核查结论"}
DONE_WORDS = {"assign": "已分派。", "sign": "已签收，开始办理。", "send_back": "已退单，等待重新分派。",
              "note": "已记下办理情况。", "mediate": "已记下调解情况。", "reply": "已答复，等待回访。",
              "call_back": "已回访，这件诉求已办结。", "reopen": "已重新办理，重新计时。", "extend": "已延期。",
              "finding": "已记下核查结论。"}
FINDINGS = {"substantiated": "属实", "partly": "部分属实", "not_substantiated": "不属实"}
RATINGS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
MANAGERS = frozenset({Role.SUPERVISOR, Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN})
HANDLER_ROLES = frozenset({Role.TOWNSHIP_CADRE, Role.DEPARTMENT_STAFF, Role.SUPERVISOR})
ACTION_FIELDS = {"staff_id": "请选择办理人。", "parties": "请填写调解的当事人，每行一个，每人不超过50字。",
                 "agreement": "请选择是否达成协议。", "rating": "请选择群众的满意程度。",
                 "resolved": "请选择问题是否解决。", "days": "延期的工作日数请填1到30。", "finding": "请选择核查结论。"}
TEXT_LABELS = {  # what the note and the reason are called on each action's form (请填写调解经过。)
    "note": {"note": "办理情况", "mediate": "调解经过", "reply": "答复内容"},
    "reason": {"send_back": "退单理由", "reopen": "重新办理的原因", "extend": "延期理由", "finding": "核查情况"},
    "parties": {"mediate": "当事人"},
}
REQUIRED = {"assign": ("staff_id",), "send_back": ("reason",), "note": ("note",), "reply": ("note",),
            "mediate": ("parties", "agreement", "note"), "call_back": ("resolved", "rating"), "reopen": ("reason",),
            "extend": ("days", "reason"), "finding": ("finding", "reason")}  # as the contract's rule
NEEDS = {"assign": "staff_id", "send_back": "reason", "note": "note", "reply": "note", "reopen": "reason",
         "extend": "reason", "finding": "reason"}  # an error across fields lands next to this one
PAGE_SIZE = 20

Ref = Annotated[str, Path(pattern=r"^([0-9a-f]{32}|\d{9}-TS\d{8}-\d{4,6})$")]
StatusFilter = Annotated[str | None, Query(pattern="^(" + "|".join(s.value for s in c.ComplaintStatus) + ")?$")]
KindFilter = Annotated[str | None, Query(pattern="^(" + "|".join(k.value for k in c.ComplaintKind) + ")?$")]
CategoryFilter = Annotated[str | None, Query(pattern="^(" + "|".join(k.value for k in c.Category) + ")?$")]
YesNo = Annotated[str | None, Query(pattern=r"^(true|false)?$")]
SCOPES = {"true": "分派给我的", "waiting": "等我办理的", "false": "本乡镇的"}
ScopeFilter = Annotated[str | None, Query(pattern="^(" + "|".join(SCOPES) + ")?$")]


def clock(complaint: dict) -> tuple[str, str]:
    """The running stage's clock in working days (as the service counts them) with its last day, and its level
    (bad: overdue, warn: due today or the next working day)."""
    stage, due, left = complaint.get("stage"), complaint.get("stage_due"), complaint.get("working_days_left")
    if not stage or not due or left is None:
        return "", ""
    due_day = date.fromisoformat(due)
    what, when = STAGE_WORDS.get(stage, ""), f"{due_day.month}月{due_day.day}日"
    if left < 0:
        return f"{what}{console_cases.in_working_days(left)}（应在{when}前）", "bad"
    if left == 0:
        return f"{what}今天到期（{when}）", "warn"
    return f"{what}{console_cases.in_working_days(left)}（{when}前）", "warn" if left == 1 else ""


async def _staff_names(calls: Calls, staff: Caller, township_code: str | None) -> dict[int, dict]:
    people = await console.optional(calls.call("directory", "list_staff", caller=staff,
                                               township_code=township_code or staff.township_code,
                                               page={"limit": 500, "offset": 0})) or []
    return {p["id"]: p for p in people}


@router.get("/complaints", operation_id="page_complaints", openapi_extra=PERSONAL_DATA, **PAGE)
async def complaints_inbox(request: Request, staff: StaffPage, calls: Calls, status: StatusFilter = None,
                           kind: KindFilter = None, category: CategoryFilter = None, village: VillageFilter = None,
                           overdue: YesNo = None, mine: ScopeFilter = None, township: TownshipQuery = None,
                           after: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None) -> Response:
    """The inbox: mine (分派给我的), what waits for me (等我办理的, as 待办 counts it) or the township's; a county
    admin chooses the township (the first one until they do), as on the other county pages."""
    status, kind, category, village, overdue = (v or None for v in (status, kind, category, village, overdue))
    mine = mine or ("false" if staff.role in MANAGERS else "true")  # a supervisor sees the township's first
    chosen, townships = await console.township_choice(calls, staff, township or None)
    chosen = chosen or (townships[0]["code"] if townships else None)
    query = {"status": status, "kind": kind, "network": None, "category": category, "village_code": village,
             "overdue": None if overdue is None else overdue == "true", "mine": mine == "true",
             "waiting": mine == "waiting", "township_code": chosen if townships else None,
             "limit": PAGE_SIZE + 1, "offset": 0, "after": after}
    found = await calls.call("complaints", "list_complaints", caller=staff, query=query)
    more, found = len(found) > PAGE_SIZE, found[:PAGE_SIZE]
    rows = [(complaint, *clock(complaint)) for complaint in found]
    filters = {"status": status, "kind": kind, "category": category, "village": village, "overdue": overdue,
               "mine": mine, "township": chosen if townships else None}
    kept = {k: v for k, v in filters.items() if v is not None}
    next_url = f"/console/complaints?{urlencode({**kept, 'after': found[-1]['id']})}" if more else None
    places = await console.optional(console.villages(calls, staff, chosen)) or []
    people = await _staff_names(calls, staff, chosen)
    return render(request, "console/complaints.html", rows=rows, filters=filters, next_url=next_url,
                  first_page=after is not None, villages=places, village_names={v["code"]: v["name"] for v in places},
                  statuses=words.COMPLAINT_STATUS, kinds=COMPLAINT_KINDS, categories=words.COMPLAINT_CATEGORY,
                  people=people, counts=_counts(rows), townships=townships, scopes=SCOPES)


COMPLAINT_KINDS = {"staff_conduct": "干部作风投诉", "dispute": "矛盾纠纷", "petition": "信访诉求",
                   "suggestion": "意见建议"}


def _counts(rows: list[tuple[dict, str, str]]) -> dict[str, int]:
    return {"bad": sum(1 for _, _, level in rows if level == "bad"),
            "warn": sum(1 for _, _, level in rows if level == "warn"), "all": len(rows)}


async def _complaint_page(request: Request, staff: Caller, calls: Calls, ref: str, status_code: int = 200,
                          **context: Any) -> Response:
    try:
        complaint = await calls.call("complaints", "get", caller=staff, ref=ref)
    except CunbanError as exc:  # said to staff as staff: not the villagers' "check your look-up code"
        if exc.code not in words.COMPLAINT_STAFF_ERRORS:
            raise
        return render(request, "error.html", status_code=exc.http_status, code=exc.code,
                      message=words.COMPLAINT_STAFF_ERRORS[exc.code])
    people = await _staff_names(calls, staff, complaint["township_code"])
    village = await console.optional(calls.call("directory", "get_village", caller=staff,
                                                code=complaint["village_code"]))
    handlers = [p for p in people.values() if p["active"] and p["role"] in {r.value for r in HANDLER_ROLES}
                and p["id"] != complaint.get("accused_staff_id")]
    words_, level = clock(complaint)
    return render(request, "console/complaint_case.html", status_code=status_code, complaint=complaint,
                  people=people, village=village, handlers=handlers, clock=words_, level=level,
                  actions=complaint["allowed_actions"], action_words=ACTION_WORDS, stage_words=STAGE_WORDS,
                  kinds=COMPLAINT_KINDS, findings=FINDINGS, ratings=RATINGS, categories=words.COMPLAINT_CATEGORY,
                  channels=words.COMPLAINT_CHANNEL,
                  accused=staff.staff_id is not None and staff.staff_id == complaint.get("accused_staff_id"),
                  typed=context.pop("typed", {}), **context)


@router.get("/complaints/{ref}", operation_id="page_complaint", openapi_extra=PERSONAL_DATA, **PAGE)
async def complaint_page(request: Request, staff: StaffPage, calls: Calls, ref: Ref,
                         done: Annotated[str | None, Query(pattern="^(" + "|".join(ACTION_WORDS) + ")$")] = None
                         ) -> Response:
    refused = refused_once(answer_once(request))  # an action refused: what to fix beside its fields, once
    response = await _complaint_page(request, staff, calls, ref, done=DONE_WORDS.get(done or ""), **refused)
    return forget_answer(request, response) if refused else response


def action_of(typed: dict[str, str]) -> c.ComplaintAction:
    """The action as the contract has it, from one of the complaint page's forms."""
    action = typed.get("action", "")

    def yes_no(name: str) -> bool | None:
        return {"yes": True, "no": False}.get(typed.get(name, ""))

    parties = [p.strip() for p in typed.get("parties", "").replace("、", "\n").replace("，", "\n").splitlines()
               if p.strip()]
    return c.ComplaintAction.model_validate({
        "action": action, "staff_id": typed.get("staff_id") or None, "reason": typed.get("reason") or None,
        "note": typed.get("note") or None, "parties": parties if action == "mediate" else [],
        "agreement": yes_no("agreement"), "rating": typed.get("rating") or None, "resolved": yes_no("resolved"),
        "days": typed.get("days") or None, "finding": typed.get("finding") or None})


def action_labels(action: str) -> dict[str, str]:
    return {name: labels[action] for name, labels in TEXT_LABELS.items() if action in labels}


def action_required(action: str) -> dict[str, str]:
    """What the action cannot go without, each said by its own name beside its field."""
    labels = action_labels(action)
    return {name: f"请填写{labels[name]}。" if name in labels else ACTION_FIELDS[name]
            for name in REQUIRED.get(action, ())}


@router.post("/complaints/{ref}/act", operation_id="page_complaint_act", openapi_extra=PERSONAL_DATA, **PAGE)
async def complaint_act(request: Request, staff: StaffPage, calls: Calls, ref: Ref) -> Response:
    """One action on the complaint. Done or refused, the browser goes back to the complaint's own address (a
    reload posts nothing again): the effect, or what to fix beside the action's fields with what was typed."""
    typed = typed_fields(await read_form(request))
    action = typed.get("action", "")
    if action not in ACTION_WORDS or action == "register":
        return see_other(f"/console/complaints/{ref}")

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        errors = {f"{action}-{name}": said for name, said in errors.items()}
        return see_refused(request, f"/console/complaints/{ref}", errors, message, typed, acting=action)

    async def send(command: c.ComplaintAction) -> Response:
        done = await calls.call("complaints", "act", caller=staff, ref=ref, action=command.model_dump(mode="json"))
        return see_other(f"/console/complaints/{done['receipt_no']}?done={action}")

    return await submit(again, lambda: action_of(typed), send, fields=ACTION_FIELDS, labels=action_labels(action),
                        typed={**typed, "parties": typed.get("parties", "").strip()},
                        required=action_required(action), across=NEEDS.get(action, "note"))
