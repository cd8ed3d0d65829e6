"""Approval actions, an application's case with its history and deadlines, the staff inbox, counts for
dashboards, and the 督办 / 责任追究 lists."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from gateway.auth import CurrentStaff
from gateway.routes import Calls, IdempotencyHeader, Offset
from gateway.routes.intake import ApplicationRef, CodeFilter
from shared.contracts import approvals as c
from shared.contracts.base import CleanStr

router = APIRouter(tags=["approvals"])
Limit = Annotated[int, Query(ge=1, le=200)]
Township = Annotated[str | None, Query(pattern=r"^\d{9}$", description="one township's (county roles); "
                                                                      "others see their own anyway")]

ACTION_EXAMPLES = {
    "受理": {"value": {"action": "accept"}},
    "approve and forward": {"value": {"action": "approve"}},
    "补正": {"value": {"action": "request_supplement", "materials": ["户口簿复印件"]}},
    "不予受理": {"value": {"action": "refuse", "reason": "不属于本乡镇受理范围"}},
    "延期": {"value": {"action": "extend", "days": 5, "reason": "需联合踏勘现场"}},
}


@router.post("/applications/{ref}/actions", operation_id="act_on_application", response_model=c.CaseView)
async def act_on_application(ref: ApplicationRef, caller: CurrentStaff, calls: Calls,
                             action: Annotated[c.CaseAction, Body(openapi_examples=ACTION_EXAMPLES)],
                             idempotency_key: IdempotencyHeader = None) -> dict:
    """Act on an application at its current step. Who may do what is set by the item's workflow;
    an action the case does not allow now is 409 `illegal_action`, one that is not yours 403
    `not_your_step`. refuse, return, deny and extend need a reason; extend is a supervisor's, before
    the deadline. Send an `Idempotency-Key`: a retry of an action already taken then gets the case back
    (200) instead of 409 `illegal_action`."""
    return await calls.call("approvals", "act", caller=caller, ref=ref, action=action.model_dump(mode="json"),
                            idempotency_key=idempotency_key)


@router.get("/applications/{ref}/approval", operation_id="get_approval_case", response_model=c.CaseView)
async def get_approval_case(ref: ApplicationRef, caller: CurrentStaff, calls: Calls) -> dict:
    """The case: current step, deadlines in working days, and the audit trail of every action."""
    return await calls.call("approvals", "get_case", caller=caller, ref=ref)


@router.get("/approvals/inbox", operation_id="approval_inbox", response_model=c.InboxPage)
async def approval_inbox(caller: CurrentStaff, calls: Calls,
                         item_code: CodeFilter = None,
                         status: Annotated[c.InboxStage | None, Query()] = None,
                         village_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
                         limit: Limit = 50,
                         cursor: Annotated[CleanStr | None, Query(max_length=200)] = None) -> dict:
    """What waits for your role at your station or township: overdue first, then those past their warning
    day (75 % of the limit used), then the rest by the day each is due; waiting for 补正 or to be handed over
    (no clock running) last. Each says in working days how long is left (`working_days_left`) and what you
    may do now (`allowed_actions`). Filter by item, stage (`status`) and the applicant's village; page with
    `cursor` = the `next_cursor` of the page before (422 `cursor_invalid` for one not issued here)."""
    query = {"item_code": item_code, "status": status, "village_code": village_code, "limit": limit,
             "cursor": cursor}
    return await calls.call("approvals", "inbox", caller=caller, query=query)


@router.get("/approvals/counts", operation_id="approval_counts", response_model=dict[str, int])
async def approval_counts(caller: CurrentStaff, calls: Calls,
                          township_code: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None) -> dict:
    """Cases per state, for dashboards."""
    return await calls.call("approvals", "counts", caller=caller, township_code=township_code)


@router.get("/supervision-notices", operation_id="list_supervision_notices", response_model=list[c.NoticeView])
async def list_supervision_notices(caller: CurrentStaff, calls: Calls, limit: Limit = 50,
                                   offset: Offset = 0, township: Township = None,
                                   open_only: Annotated[bool, Query(alias="open", description=(
                                       "only the notices still open (their late limit still runs); each "
                                       "notice's closed_at says when it closed"))] = False) -> list:
    """督办: limits that passed, for the township's supervisors; closed when the late step is done or the
    case closes (`closed_at`)."""
    return await calls.call("approvals", "notices", caller=caller, kind="supervision", limit=limit, offset=offset,
                            township_code=township, open_only=open_only)


@router.get("/accountability-records", operation_id="list_accountability_records",
            response_model=list[c.NoticeView])
async def list_accountability_records(caller: CurrentStaff, calls: Calls, limit: Limit = 50,
                                      offset: Offset = 0, township: Township = None) -> list:
    """责任追究: who held each late step. Supervisors see their township's; everyone sees their own."""
    return await calls.call("approvals", "notices", caller=caller, kind="accountability", limit=limit,
                            offset=offset, township_code=township)
