"""The handler's day on applications (办理人员): 待办, the inbox by time left in working days with its counts
and filters (and how many complaints wait for this person, `complaints.waiting_counts`, linking to them),
and a case — the application page (console_records.application) with every stage and action by name,
the promised and the step deadlines, the pauses for 补正, and the actions the workflow allows this person
now as forms. Everything goes through approvals.inbox / get_case / act, as the API."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, words
from gateway.pages.session import StaffPage
from gateway.pages.web import (
    PAGE,
    ItemFilter,
    PageRoute,
    VillageFilter,
    answer_once,
    forget_answer,
    read_form,
    refused_once,
    render,
    see_once,
    see_refused,
    submit,
    text,
)
from gateway.routes import Calls
from shared.clock import today_in_china
from shared.contracts import approvals
from shared.contracts.base import CleanStr
from shared.contracts.caller import Caller
from shared.errors import CunbanError

router = APIRouter(prefix="/console", route_class=PageRoute)

StageFilter = Annotated[str | None, Query(pattern="^(" + "|".join(words.CASE_STATUS_FILTER) + ")?$")]


def in_working_days(left: int) -> str:
    """Working days left as a handler says them (the service counts them on the county's calendar): the one
    way the console says time left, on cases and complaints alike."""
    if left < 0:
        return f"已超期 {-left} 个工作日"
    return "今天到期" if left == 0 else f"还剩 {left} 个工作日"


def time_left(case: dict) -> tuple[str, str]:
    """How long is left, in working days, as a handler says it, and its colour ("bad", "warn" or plain)."""
    left = case.get("working_days_left")
    if case.get("paused"):
        return "暂停计时（等群众补正材料）", ""
    if left is None:
        return ("等待送达结果" if case["status"] == "completed" else ""), ""
    if left < 0:
        return in_working_days(left), "bad"
    words_left = in_working_days(left)
    return (f"{words_left}（已预警）", "warn") if case.get("warned") else (words_left, "")


async def _people(calls: Calls, staff: Caller, ids: set[int | None]) -> dict[int, dict]:
    """Staff by name: each one the directory lets this person see (the others stay unnamed)."""
    people = {}
    for staff_id in sorted(i for i in ids if i is not None):
        found = await console.optional(calls.call("directory", "get_staff", caller=staff, staff_id=staff_id))
        if found:
            people[staff_id] = found
    return people


# ---- 待办 ------------------------------------------------------------------------------------------------

@router.get("/inbox", operation_id="page_inbox", **PAGE)
async def inbox(request: Request, staff: StaffPage, calls: Calls, item: ItemFilter = None, stage: StageFilter = None,
                village: VillageFilter = None, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                cursor: Annotated[CleanStr | None, Query(max_length=200)] = None) -> Response:
    item, stage, village = (v or None for v in (item, stage, village))  # 全部 comes as an empty value
    query = {"item_code": item, "status": stage, "village_code": village, "limit": limit, "cursor": cursor}
    page = await calls.call("approvals", "inbox", caller=staff, query=query)
    township = await console.optional(calls.call("approvals", "counts", caller=staff, township_code=None)) or {}
    complaints = await console.optional(calls.call("complaints", "waiting_counts", caller=staff))
    filters = {"item": item, "stage": stage, "village": village, "limit": limit}
    kept = {k: v for k, v in filters.items() if v is not None}
    next_url = f"/console/inbox?{urlencode({**kept, 'cursor': page['next_cursor']})}" if page["next_cursor"] else None
    items = await console.optional(console.catalogue(calls, staff)) or []
    places = await console.optional(console.villages(calls, staff)) or []
    rows = [(case, *time_left(case)) for case in page["items"]]
    return render(request, "console/inbox.html", rows=rows, counts=page.get("counts", {}), township=township,
                  complaints=complaints,
                  filters=filters, next_url=next_url, first_page=cursor is not None, items=items, villages=places,
                  item_names={i["code"]: i["name"] for i in items},
                  village_names={v["code"]: v["name"] for v in places}, stages=words.CASE_STATUS_FILTER,
                  case_status=words.CASE_STATUS)


# ---- a case ------------------------------------------------------------------------------------------------

ACTION_FIELDS = {  # what a form's field is called in an error, per field of the action
    "reason": "请填写理由（不超过2000字）。",
    "materials": "请勾选或写明需要补正的材料（每样不超过200字）。",
    "days": "延期天数请填1到60之间的工作日数。",
}
NEEDS_REASON = {"refuse", "return", "deny", "extend"}
CASE_REASON_NEEDED = words.CASE_REASON_NEEDED
CASE_ACTIONS = frozenset(get_args(approvals.CaseAction.model_fields["action"].annotation))


def action_of(form: Any) -> tuple[str, dict[str, Any]]:
    """The action a case form posts, with its fields as typed (to show again beside the form)."""
    action = text(form, "action", 32)
    materials = [m.strip()[:200] for m in form.getlist("materials") if isinstance(m, str) and m.strip()][:50]
    materials += [line.strip()[:200] for line in text(form, "other_materials", 2000).splitlines() if line.strip()]
    return action, {"reason": text(form, "reason", 2000), "materials": materials[:50], "days": text(form, "days", 4),
                    "other_materials": text(form, "other_materials", 2000)}


async def show_case(request: Request, staff: Caller, calls: Calls, receipt_no: str, *, status_code: int = 200,
                    **context: Any) -> Response:
    """The application page: what was filed, the case and its history by name, and the forms of what this
    person may do now."""
    found = await calls.call("intake", "get_application", caller=staff, ref=receipt_no)
    village = await console.optional(calls.call("directory", "get_village", caller=staff, code=found["village_code"]))
    case = await console.optional(calls.call("approvals", "get_case", caller=staff, ref=receipt_no))
    item = await console.optional(calls.call("directory", "get_catalogue_item", caller=staff,
                                             township_code=found["township_code"], code=found["item_code"]))
    ids = {found["accountable_staff_id"], *(s.get("actor_staff_id") for s in found["stages"])}
    if case:
        ids |= {case["assignee_staff_id"], *(e["actor_staff_id"] for e in case["audit"])}
    people = await _people(calls, staff, ids)
    steps = {s["name"]: s["title"] for s in (item or {}).get("workflow", {}).get("steps", [])}
    pauses = []
    for entry in (case or {}).get("audit", []):
        if entry["action"] == "request_supplement":
            pauses.append({"from": entry["at"], "materials": entry["details"].get("materials", []), "to": None})
        elif entry["action"] == "supplement_received" and pauses:
            pauses[-1]["to"] = entry["at"]
    done = answer_once(request)
    refused = refused_once(done)  # an action refused: what to fix beside its fields, once
    response = render(
        request, "console/application.html", status_code=status_code, application=found, village=village,
        case=case, item=item, people=people, steps=steps, pauses=pauses,
        left="" if case else console.time_left(found, today_in_china())[2],  # the case says it in working days
        case_left=time_left(case) if case else ("", ""),
        stage_words=words.STAGE, actions=words.APPROVAL_ACTION, case_status=words.CASE_STATUS,
        action_hints=words.CASE_ACTION_HINT,
        done=words.CASE_DONE.get(str((done or {}).get("done"))), key=uuid.uuid4().hex,
        needs_reason=NEEDS_REASON, **{"errors": {}, "typed": {}, "open": None, **refused, **context})
    return forget_answer(request, response) if done else response


def _required(action: str) -> dict[str, str]:
    """What an action cannot go without, each said beside its own field."""
    required = {"reason": CASE_REASON_NEEDED[action]} if action in NEEDS_REASON else {}
    if action == "request_supplement":
        required["materials"] = words.CASE_ERRORS["materials_required"]
    if action == "extend":
        required["days"] = ACTION_FIELDS["days"]
    return required


def _refused(action: str) -> Callable[[CunbanError], dict[str, str]]:
    def errors(exc: CunbanError) -> dict[str, str]:
        fields = {d.get("field") for d in exc.details or [] if isinstance(d, dict)} & set(ACTION_FIELDS)
        found = {name: ACTION_FIELDS[name] for name in fields}
        if exc.code == "reason_required":
            found["reason"] = CASE_REASON_NEEDED.get(action, ACTION_FIELDS["reason"])
        if exc.code == "materials_required":
            found["materials"] = words.CASE_ERRORS["materials_required"]
        return found
    return errors


@router.post("/applications/{receipt_no}/actions", operation_id="page_act_on_application",
             openapi_extra=PERSONAL_DATA, **PAGE)
async def act(request: Request, staff: StaffPage, calls: Calls, receipt_no: console.ReceiptPath) -> Response:
    """One action on the case, as `POST /applications/{ref}/actions`. Done or refused, the browser goes back
    to the case's own address (a reload posts nothing again): the effect shown at once, or what to fix beside
    the action's fields, with what was typed."""
    form = await read_form(request)
    action, typed = action_of(form)
    here = f"/console/applications/{receipt_no}"

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return see_refused(request, here, errors, message, typed, open=action)

    if action not in CASE_ACTIONS:  # a form from an old page, or made up
        return await again(422, {}, words.CASE_ERRORS["illegal_action"])

    async def send(cmd: approvals.CaseAction) -> Response:
        key = text(form, "idempotency_key", 128)
        after = await calls.call("approvals", "act", caller=staff, ref=receipt_no, action=cmd.model_dump(mode="json"),
                                 idempotency_key=key if console.KEY_SHAPE.match(key) else None)
        done = "approve_last" if action == "approve" and after["status"] == "ready_to_complete" else action
        return see_once(request, here, {"done": done})

    days = int(typed["days"]) if action == "extend" and typed["days"].isdigit() else 0
    return await submit(again, lambda: approvals.CaseAction.model_validate({
        "action": action, "reason": typed["reason"] or None, "materials": typed["materials"], "days": days}), send,
        fields=ACTION_FIELDS, typed=typed, required=_required(action), refused=_refused(action),
        say=lambda exc: words.CASE_ERRORS.get(exc.code) or words.error_message(exc))
