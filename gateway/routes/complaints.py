"""Complaints 投诉, disputes 纠纷调处, petitions 信访 and suggestions: registration from any channel,
the lifecycle actions, lists and the inbox, the public look-up, early warning 苗头性问题, and the
county's stage limits and warning rule."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request

from gateway.audit import PERSONAL_DATA, client_of
from gateway.auth import CurrentStaff, PublicCaller
from gateway.routes import Calls, IdempotencyHeader, Offset, TownshipChoice
from shared.contracts import complaints as c
from shared.contracts.base import CleanStr

router = APIRouter(tags=["complaints"])
Ref = Annotated[str, Path(pattern=r"^([0-9a-f]{32}|\d{9}-TS\d{8}-\d{4,6})$", description="id or receipt number")]
ACTION_EXAMPLES = {
    "assign": {"value": {"action": "assign", "staff_id": 3}},
    "sign": {"value": {"action": "sign"}},
    "send_back": {"value": {"action": "send_back", "reason": "不属本单位职责，请改派司法所"}},
    "note": {"value": {"action": "note", "note": "已到现场查看"}},
    "mediate": {"value": {"action": "mediate", "note": "村委会调解", "parties": ["甲", "乙"], "agreement": True}},
    "reply": {"value": {"action": "reply", "note": "已协调修复，书面答复当事人"}},
    "call_back": {"value": {"action": "call_back", "rating": 4, "resolved": True}},
    "reopen": {"value": {"action": "reopen", "reason": "回访不满意：路灯仍未修复"}},
    "extend": {"value": {"action": "extend", "days": 5, "reason": "需上级部门会商"}},
    "finding": {"value": {"action": "finding", "finding": "partly", "reason": "态度生硬属实，推诿不属实"}},
}


@router.post("/complaints", operation_id="register_complaint", status_code=201, response_model=c.Registered)
async def register_complaint(body: c.ComplaintRegister, caller: CurrentStaff, calls: Calls,
                             idempotency_key: IdempotencyHeader = None) -> dict:
    """登记 from the hotline, a station, a market-day post, a visit or a reception day. Without a
    complainant the complaint is anonymous: keep the `lookup_code` (a retry with the same
    `Idempotency-Key` gets the same complaint and code, never a second complaint)."""
    return await calls.call("complaints", "register", caller=caller, complaint=body.model_dump(mode="json"),
                            idempotency_key=idempotency_key)


@router.post("/public/complaints", tags=["public"], operation_id="register_complaint_online", status_code=201,
             response_model=c.Registered)
async def register_complaint_online(body: c.PublicComplaint, public: PublicCaller, calls: Calls) -> dict:
    """网上信访: a villager registers a complaint, named or anonymous."""
    return await calls.call("complaints", "register_online", caller=public, complaint=body.model_dump(mode="json"))


@router.get("/complaints", operation_id="list_complaints", response_model=list[c.ComplaintView],
            openapi_extra=PERSONAL_DATA)
async def list_complaints(caller: CurrentStaff, calls: Calls,
                          status: c.ComplaintStatus | None = None, kind: c.ComplaintKind | None = None,
                          network: c.Network | None = None, category: c.Category | None = None,
                          village_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                          township_code: TownshipChoice = None,
                          overdue: bool | None = None,
                          mine: Annotated[bool, Query(description="only those assigned to me (my inbox)")] = False,
                          waiting: Annotated[bool, Query(description=(
                              "only those waiting for an action of mine: my 签收 or 答复; a supervisor's "
                              "also the township's waiting to be assigned or called back"))] = False,
                          limit: Annotated[int, Query(ge=1, le=200)] = 50,
                          offset: Offset = 0,
                          after: Annotated[str | None, Query(
                              pattern=r"^[0-9a-f]{32}$",
                              description="the id of the last complaint of the previous page (keyset paging; "
                                          "not with offset)")] = None) -> list:
    """Open complaints by time left on their stage (overdue first), then closed ones, newest first. Page by
    passing the last complaint's `id` as `after` (422 `bad_cursor` if it is none of yours)."""
    return await calls.call("complaints", "list_complaints", caller=caller, query={
        "status": status, "kind": kind, "network": network, "category": category, "village_code": village_code,
        "township_code": township_code, "overdue": overdue, "mine": mine, "waiting": waiting, "limit": limit,
        "offset": offset, "after": after})


@router.get("/complaints/waiting-counts", operation_id="complaint_waiting_counts", response_model=c.WaitingCounts)
async def complaint_waiting_counts(caller: CurrentStaff, calls: Calls) -> dict:
    """How many complaints wait for an action of mine (as `GET /complaints?waiting=true`), how many of them
    are overdue and how many are due within a working day."""
    return await calls.call("complaints", "waiting_counts", caller=caller)


@router.get("/complaints/{ref}", operation_id="get_complaint", response_model=c.ComplaintView,
            openapi_extra=PERSONAL_DATA)
async def get_complaint(ref: Ref, caller: CurrentStaff, calls: Calls) -> dict:
    """A complaint with its append-only history, the working days left on its stage and the actions you may
    take now (`allowed_actions`, as `POST /complaints/{ref}/actions` takes them). The complainant is masked
    unless you handle it, and hidden from the staff member complained about."""
    return await calls.call("complaints", "get", caller=caller, ref=ref)


@router.post("/complaints/{ref}/actions", operation_id="complaint_action", response_model=c.ComplaintView)
async def complaint_action(ref: Ref, caller: CurrentStaff, calls: Calls,
                           body: Annotated[c.ComplaintAction, Body(openapi_examples=ACTION_EXAMPLES)]) -> dict:
    """assign → sign (签收) or send_back (退单) → note / mediate → reply (答复) → call_back (回访: closes as
    resolved or unresolved) → reopen (重新办理, the clock starts again); extend (延期) and finding (a
    supervisor outside the accused's unit) by supervisors."""
    return await calls.call("complaints", "act", caller=caller, ref=ref, action=body.model_dump(mode="json"))


@router.get("/public/complaints/{receipt_no}", tags=["public"], operation_id="public_complaint_progress",
            response_model=c.PublicComplaintProgress)
async def public_complaint_progress(
        receipt_no: Annotated[CleanStr, Path(max_length=40)], request: Request, public: PublicCaller, calls: Calls,
        code: Annotated[CleanStr, Query(min_length=4, max_length=16,
                                   description="the phone's last 4 digits, or an anonymous complaint's look-up code")]
) -> dict:
    """Where a complaint stands, and the reply once given; nothing personal. Wrong guesses are limited
    (429 `lookup_locked`)."""
    client = client_of(request)  # behind the ingress: from X-Forwarded-For (CUNBAN_TRUSTED_PROXIES)
    return await calls.call("complaints", "public_progress", caller=public,
                            lookup={"receipt_no": receipt_no, "secret": code, "client": client})


# ---- early warning and the county's settings -------------------------------------------------------------

@router.get("/early-warnings", tags=["early warning"], operation_id="list_early_warnings",
            response_model=list[c.AlertView])
async def list_early_warnings(caller: CurrentStaff, calls: Calls,
                              status: Literal["open", "acknowledged"] | None = None) -> list:
    """苗头性问题: bursts of similar complaints in a village, each with the complaints behind it."""
    return await calls.call("complaints", "alerts", caller=caller, status=status)


@router.post("/early-warnings/{alert_id}/acknowledge", tags=["early warning"], operation_id="acknowledge_warning",
             response_model=c.AlertView)
async def acknowledge_warning(alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: c.AlertAcknowledge,
                              caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("complaints", "acknowledge_alert", caller=caller, alert_id=alert_id,
                            acknowledgement=body.model_dump(mode="json"))


@router.get("/complaint-limits", operation_id="complaint_limits", response_model=dict[str, c.StageLimits])
async def complaint_limits(caller: CurrentStaff, calls: Calls) -> dict:
    """Working days allowed per stage, for each kind of complaint."""
    return await calls.call("complaints", "limits", caller=caller)


@router.put("/complaint-limits/{kind}", operation_id="set_complaint_limits", response_model=dict[str, c.StageLimits])
async def set_complaint_limits(kind: c.ComplaintKind, body: c.StageLimits, caller: CurrentStaff,
                               calls: Calls) -> dict:
    """County admins: new limits apply to stage clocks started from now on."""
    return await calls.call("complaints", "set_limits", caller=caller, kind=kind, limits=body.model_dump())


@router.get("/early-warning-rule", tags=["early warning"], operation_id="early_warning_rule",
            response_model=c.WarningRule)
async def early_warning_rule(caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("complaints", "warning_rule", caller=caller)


@router.put("/early-warning-rule", tags=["early warning"], operation_id="set_early_warning_rule",
            response_model=c.WarningRule)
async def set_early_warning_rule(body: c.WarningRule, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("complaints", "set_warning_rule", caller=caller, rule=body.model_dump())
